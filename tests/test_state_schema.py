"""Schema migrations: a database made by an older agent opens with its rows carried over."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from outrider.state.db import StateDB, _split_sql
from outrider.state.schema import MIGRATIONS


def test_a_version_1_database_keeps_its_jobs_and_allocations(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    conn = sqlite3.connect(path, isolation_level=None)
    for statement in _split_sql(MIGRATIONS[0]):
        conn.execute(statement)
    conn.execute("PRAGMA user_version = 1")
    conn.execute(
        "INSERT INTO jobs VALUES ('default', 'web', '{\"ID\":\"web\",\"Version\":3}', '', 0, 3, 1, 9, 0)"
    )
    conn.execute(
        "INSERT INTO allocations (id, namespace, job_id, task_group, name, tasks, client_status, create_time, "
        "modify_time) VALUES ('a1', 'default', 'web', 'g', 'web.g[0]', '[\"t\"]', 'complete', 0, 0)"
    )
    conn.close()
    db = StateDB(str(path))
    try:
        assert db.query("PRAGMA user_version") == [(len(MIGRATIONS),)]
        assert db.query("SELECT id, collected FROM allocations") == [("a1", 0)]
        assert db.query("SELECT id, version, spec FROM job_versions") == [
            ("web", 3, '{"ID":"web","Version":3}')
        ]
    finally:
        db.close()
