"""Versioned schema of ``<data_dir>/client/state.db``.

``MIGRATIONS[i]`` moves a database from ``user_version == i`` to ``i + 1``. Append
new steps; never edit a step that has shipped.
"""

from __future__ import annotations

MIGRATIONS: list[str] = [
    # 0 -> 1: node identity, allocations, jobs, task states, dynamic metadata, ACL tokens.
    """
    CREATE TABLE node (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    CREATE TABLE jobs (
        namespace   TEXT NOT NULL,
        id          TEXT NOT NULL,
        spec        TEXT NOT NULL,          -- the job as registered, Nomad's JSON shape
        status      TEXT NOT NULL,
        stop        INTEGER NOT NULL DEFAULT 0,
        version     INTEGER NOT NULL DEFAULT 0,
        create_index INTEGER NOT NULL,
        modify_index INTEGER NOT NULL,
        submit_time INTEGER NOT NULL,       -- Unix ns
        PRIMARY KEY (namespace, id)
    );
    CREATE TABLE allocations (
        id             TEXT PRIMARY KEY,
        namespace      TEXT NOT NULL,
        job_id         TEXT NOT NULL,
        task_group     TEXT NOT NULL,
        name           TEXT NOT NULL,
        alloc_index    INTEGER NOT NULL DEFAULT 0,
        tasks          TEXT NOT NULL,       -- JSON list of task names
        client_status  TEXT NOT NULL,
        desired_status TEXT NOT NULL DEFAULT 'run',
        create_index   INTEGER NOT NULL DEFAULT 0,
        modify_index   INTEGER NOT NULL DEFAULT 0,
        create_time    INTEGER NOT NULL,    -- Unix ns
        modify_time    INTEGER NOT NULL     -- Unix ns
    );
    CREATE INDEX allocations_by_job ON allocations (namespace, job_id);
    CREATE TABLE task_states (
        alloc_id TEXT NOT NULL REFERENCES allocations (id) ON DELETE CASCADE,
        task     TEXT NOT NULL,
        state    TEXT NOT NULL,             -- JSON TaskState in Nomad's shape
        handle   TEXT,                      -- JSON re-attach handle of the running task
        PRIMARY KEY (alloc_id, task)
    );
    CREATE TABLE dynamic_meta (
        key   TEXT PRIMARY KEY,
        value TEXT                          -- NULL is a tombstone for a static key
    );
    CREATE TABLE acl_tokens (
        accessor_id TEXT PRIMARY KEY,
        secret_id   TEXT NOT NULL UNIQUE,
        token       TEXT NOT NULL           -- JSON ACLToken
    );
    CREATE TABLE counters (
        name  TEXT PRIMARY KEY,
        value INTEGER NOT NULL
    );
    """,
    # 1 -> 2: a client GC keeps the allocation's row (listed, with its task states) until its
    # job is purged; every registered version of a job is kept (the newest ones).
    """
    ALTER TABLE allocations ADD COLUMN collected INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE job_versions (
        namespace TEXT NOT NULL,
        id        TEXT NOT NULL,
        version   INTEGER NOT NULL,
        spec      TEXT NOT NULL,            -- the job as registered at that version
        PRIMARY KEY (namespace, id, version)
    );
    INSERT INTO job_versions (namespace, id, version, spec) SELECT namespace, id, version, spec FROM jobs;
    """,
    # 2 -> 3: ACL policies and tokens. The first step's acl_tokens table kept SecretIDs in
    # plain text and was never written; tokens now keep only a digest of theirs.
    """
    DROP TABLE acl_tokens;
    CREATE TABLE acl_policies (
        name   TEXT PRIMARY KEY,
        policy TEXT NOT NULL                -- JSON of the policy: name, description, rules, job ACL, hash, indexes
    );
    CREATE TABLE acl_tokens (
        accessor_key TEXT PRIMARY KEY,      -- the AccessorID as 32 lowercase hex digits
        secret_hash  BLOB NOT NULL UNIQUE,  -- SHA-256 of the lower-cased SecretID; the secret is never stored
        create_index INTEGER NOT NULL,
        token        TEXT NOT NULL          -- JSON of the token's fields; the SecretID is not one of them
    );
    CREATE INDEX acl_tokens_by_create_index ON acl_tokens (create_index, accessor_key);
    """,
]
