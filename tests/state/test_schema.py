"""The versioned schema of ``client/state.db``: what the migrations build and how they are applied."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from outrider.state.db import StateDB
from outrider.state.schema import MIGRATIONS
from tests.state.conftest import open_error

pytestmark = pytest.mark.usefixtures("no_fd_leak")

TABLES = {
    "node": ["key", "value"],
    "jobs": [
        "namespace",
        "id",
        "spec",
        "status",
        "stop",
        "version",
        "create_index",
        "modify_index",
        "submit_time",
    ],
    "allocations": [
        "id",
        "namespace",
        "job_id",
        "task_group",
        "name",
        "alloc_index",
        "tasks",
        "client_status",
        "desired_status",
        "create_index",
        "modify_index",
        "create_time",
        "modify_time",
        "collected",
    ],
    "job_versions": ["namespace", "id", "version", "spec"],
    "task_states": ["alloc_id", "task", "state", "handle"],
    "dynamic_meta": ["key", "value"],
    "acl_policies": ["name", "policy"],
    "acl_tokens": ["accessor_key", "secret_hash", "create_index", "token"],
    "counters": ["name", "value"],
}


def columns(db: StateDB, table: str) -> list[str]:
    return [str(row[1]) for row in db.query(f"PRAGMA table_info({table})")]


def add_allocation(db: StateDB, alloc_id: str) -> None:
    with db.transaction() as conn:
        conn.execute(
            "INSERT INTO allocations (id, namespace, job_id, task_group, name, tasks, client_status,"
            " create_time, modify_time) VALUES (?, 'default', 'j', 'g', 'j.g[0]', '[\"t\"]', 'running', 1, 1)",
            (alloc_id,),
        )
        conn.execute("INSERT INTO task_states (alloc_id, task, state) VALUES (?, 't', '{}')", (alloc_id,))


def test_a_new_database_has_every_table_at_the_latest_version(db: StateDB) -> None:
    assert db.query("PRAGMA user_version") == [(len(MIGRATIONS),)]
    tables = {str(r[0]) for r in db.query("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables == set(TABLES)
    for table, expected in TABLES.items():
        assert columns(db, table) == expected, table
    assert db.query("PRAGMA index_list(allocations)")[0][1] == "allocations_by_job"


def test_defaults_and_tombstones(db: StateDB) -> None:
    add_allocation(db, "a1")
    assert db.query("SELECT desired_status, alloc_index, create_index FROM allocations") == [("run", 0, 0)]
    with db.transaction() as conn:
        conn.execute("INSERT INTO dynamic_meta (key, value) VALUES ('gone', NULL)")  # a tombstone
    assert db.query("SELECT key, value FROM dynamic_meta") == [("gone", None)]


def test_deleting_an_allocation_removes_its_task_states(db: StateDB) -> None:
    add_allocation(db, "a1")
    add_allocation(db, "a2")
    with db.transaction() as conn:
        conn.execute("DELETE FROM allocations WHERE id = 'a1'")
    assert db.query("SELECT alloc_id FROM task_states") == [("a2",)]


def test_task_states_need_their_allocation(db: StateDB) -> None:
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"), db.transaction() as conn:
        conn.execute("INSERT INTO task_states (alloc_id, task, state) VALUES ('nope', 't', '{}')")
    assert db.query("SELECT count(*) FROM task_states") == [(0,)]


def test_migrations_run_once(db_path: Path) -> None:
    db = StateDB(str(db_path))
    db.set_node_value("kept", "1")
    db.close()
    again = StateDB(str(db_path))  # a second run of a step would fail on its CREATE TABLE
    try:
        assert again.node_value("kept") == "1"
        assert again.query("PRAGMA user_version") == [(len(MIGRATIONS),)]
    finally:
        again.close()


def test_a_failing_step_leaves_the_database_as_it_was(db_path: Path) -> None:
    # A file at version 0 that already has one of the first step's tables: the step fails
    # half way, and nothing of it (and no version bump) stays.
    db_path.parent.mkdir(parents=True)
    conn = sqlite3.connect(db_path)
    conn.execute("CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)")
    conn.execute("INSERT INTO counters VALUES ('raft', 7)")
    conn.commit()
    conn.close()
    assert open_error(db_path, sqlite3.OperationalError) == "table counters already exists"
    conn = sqlite3.connect(db_path)
    try:
        assert conn.execute("PRAGMA user_version").fetchone() == (0,)
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        assert tables == ["counters"]
        assert conn.execute("SELECT * FROM counters").fetchall() == [("raft", 7)]
    finally:
        conn.close()
