"""The state database on real SQLite files: durability settings, transactions, node identity, indexes.

The crash tests ``kill -9`` a child process that writes, then open the same file
again: what was acknowledged is there, a transaction is all or nothing.
"""

from __future__ import annotations

import random
import sqlite3
import stat
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from outrider.state.db import StateDB
from outrider.state.schema import MIGRATIONS
from tests.state.conftest import Writer, open_error

pytestmark = pytest.mark.usefixtures("no_fd_leak")


def pragma(db: StateDB, name: str) -> object:
    return db.query(f"PRAGMA {name}")[0][0]


def test_a_new_database_is_created_private_and_durable(db: StateDB, db_path: Path) -> None:
    assert db_path.is_file()
    assert stat.S_IMODE(db_path.parent.stat().st_mode) == 0o700
    assert pragma(db, "journal_mode") == "wal"
    assert pragma(db, "synchronous") == 2  # FULL: a returned commit is on disk
    assert pragma(db, "foreign_keys") == 1
    assert pragma(db, "busy_timeout") == 5000


def test_a_transaction_commits_together(db: StateDB, db_path: Path) -> None:
    with db.transaction() as conn:
        conn.execute("INSERT INTO node (key, value) VALUES ('a', '1')")
        conn.execute("INSERT INTO node (key, value) VALUES ('b', '1')")
    # Another connection sees both rows: the transaction is committed, not just visible here.
    other = sqlite3.connect(db_path)
    try:
        assert other.execute("SELECT key, value FROM node ORDER BY key").fetchall() == [
            ("a", "1"),
            ("b", "1"),
        ]
    finally:
        other.close()


def test_a_failing_transaction_leaves_nothing_behind(db: StateDB) -> None:
    db.set_node_value("kept", "old")
    with pytest.raises(ValueError, match="half way"), db.transaction() as conn:
        conn.execute("UPDATE node SET value = 'new' WHERE key = 'kept'")
        conn.execute("INSERT INTO node (key, value) VALUES ('added', 'x')")
        raise ValueError("half way")
    assert db.query("SELECT key, value FROM node") == [("kept", "old")]
    # The connection is usable again: the failed transaction was rolled back, not left open.
    db.set_node_value("after", "y")
    assert db.node_value("after") == "y"


def test_a_statement_error_rolls_back_the_whole_transaction(db: StateDB) -> None:
    with pytest.raises(sqlite3.IntegrityError), db.transaction() as conn:
        conn.execute("INSERT INTO node (key, value) VALUES ('a', '1')")
        conn.execute("INSERT INTO node (key, value) VALUES ('b', NULL)")  # value is NOT NULL
    assert db.node_value("a") is None


def test_node_values_are_set_replaced_and_kept(db_path: Path) -> None:
    db = StateDB(str(db_path))
    try:
        assert db.node_value("name") is None
        db.set_node_value("name", "one")
        db.set_node_value("name", "two")
        node_id = db.node_id()
        assert db.node_id() == node_id
    finally:
        db.close()
    again = StateDB(str(db_path))
    try:
        assert again.node_value("name") == "two"
        assert again.node_id() == node_id  # the node keeps its identity for the life of the data dir
        assert again.query("SELECT count(*) FROM node") == [(2,)]
    finally:
        again.close()


def test_indexes_increase_per_name_and_are_reported_once_committed(db: StateDB, db_path: Path) -> None:
    seen: list[tuple[str, int, int]] = []

    def reported(name: str, value: int) -> None:
        # Read through another connection: the reported value is already on disk.
        other = sqlite3.connect(db_path)
        try:
            (stored,) = other.execute("SELECT value FROM counters WHERE name = ?", (name,)).fetchone()
        finally:
            other.close()
        seen.append((name, value, stored))

    db.on_index = reported
    assert db.current_index() == 0
    assert [db.next_index() for _ in range(3)] == [1, 2, 3]
    assert db.next_index("other") == 1
    assert db.current_index() == 3 and db.current_index("other") == 1
    assert seen == [("raft", 1, 1), ("raft", 2, 2), ("raft", 3, 3), ("other", 1, 1)]


def test_threads_sharing_the_connection_get_distinct_indexes(db: StateDB) -> None:
    got: list[int] = []
    lock = threading.Lock()

    def take() -> None:
        for _ in range(50):
            value = db.next_index()
            with lock:
                got.append(value)

    threads = [threading.Thread(target=take) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(got) == list(range(1, 201))
    assert db.current_index() == 200


def test_a_newer_schema_is_refused_with_what_to_do(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    conn = sqlite3.connect(db_path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    assert open_error(db_path) == (
        f"state database {db_path} has schema version 99, newer than this agent understands "
        f"({len(MIGRATIONS)}); upgrade Outrider or use another data dir"
    )


@pytest.mark.parametrize("kind", ["directory", "not a database"])
def test_an_unusable_file_is_a_state_error_naming_it(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "client" / "state.db"
    if kind == "directory":
        path.mkdir(parents=True)
    else:
        path.parent.mkdir(parents=True)
        path.write_bytes(b"not a database" * 100)
    message = open_error(path)
    assert message.startswith(f"cannot open state database {path}: ")
    assert message.endswith("; check the data dir's permissions")


# -- kill -9 ------------------------------------------------------------------------------------------

PAIRS = """
i = 0
while True:
    i += 1
    with db.transaction() as conn:
        for key in ("pair.a", "pair.b"):
            conn.execute(
                "INSERT INTO node (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, str(i)),
            )
        conn.execute("INSERT INTO node (key, value) VALUES (?, 'x')", (f"seq.{i}",))
    print(i)
"""


def test_kill_minus_9_keeps_every_acknowledged_transaction_whole(
    db_path: Path, writer: Callable[[str], Writer]
) -> None:
    rng = random.Random(4646)
    child = writer(PAIRS)
    child.read(20)
    time.sleep(rng.uniform(0.01, 0.1))  # land the kill at some point of a write
    acked = [int(a) for a in child.kill()]
    db = StateDB(str(db_path))
    try:
        a, b = db.node_value("pair.a"), db.node_value("pair.b")
        assert a is not None and a == b, "the pair is written in one transaction"
        last = int(a)
        # Everything acknowledged survived; at most the one transaction in flight landed too.
        assert max(acked) <= last <= max(acked) + 1
        assert db.query("SELECT count(*) FROM node WHERE key LIKE 'seq.%'") == [(last,)]
    finally:
        db.close()


def test_kill_minus_9_never_hands_out_an_acknowledged_index_again(
    db_path: Path, writer: Callable[[str], Writer]
) -> None:
    child = writer("while True:\n    print(db.next_index())\n")
    child.read(30)
    acked = [int(a) for a in child.kill()]
    assert acked == list(range(1, len(acked) + 1))
    db = StateDB(str(db_path))
    try:
        assert db.current_index() >= max(acked)
        assert db.next_index() > max(acked)
    finally:
        db.close()


def test_kill_minus_9_inside_a_transaction_loses_it_and_leaves_no_lock(
    db_path: Path, writer: Callable[[str], Writer]
) -> None:
    child = writer(
        """
        import time
        db.set_node_value("before", "1")
        with db.transaction() as conn:
            conn.execute("INSERT INTO node (key, value) VALUES ('inside', '1')")
            print("inside")
            time.sleep(60)
        """
    )
    assert child.read(1) == ["inside"]
    child.kill()
    db = StateDB(str(db_path))
    try:
        assert db.node_value("before") == "1"
        assert db.node_value("inside") is None
        db.set_node_value("after", "1")  # the dead writer's lock went with it
        assert db.node_value("after") == "1"
    finally:
        db.close()
