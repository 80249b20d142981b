"""The agent's SQLite state database.

Durability: WAL with ``synchronous=FULL``, so a transaction that returned is on
disk; an acknowledged write survives ``kill -9`` and power loss alike. Every
multi-row change goes through :meth:`StateDB.transaction` so a crash leaves the
old or the new state, never a mix.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator

from outrider.state.schema import MIGRATIONS


class StateError(RuntimeError):
    """The state database is unusable; the message names the file and what to do."""


class StateDB:
    """One connection, shared by the event loop and worker threads under a lock."""

    def __init__(self, path: str) -> None:
        self.path = path
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        try:
            self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.execute("PRAGMA foreign_keys=ON")
            self._conn.execute("PRAGMA busy_timeout=5000")
        except sqlite3.Error as exc:
            raise StateError(
                f"cannot open state database {path}: {exc}; check the data dir's permissions"
            ) from exc
        self._lock = threading.RLock()
        self.on_index: Callable[[str, int], None] | None = None
        self._migrate()

    def _migrate(self) -> None:
        (version,) = self._conn.execute("PRAGMA user_version").fetchone()
        if version > len(MIGRATIONS):
            raise StateError(
                f"state database {self.path} has schema version {version}, newer than this agent "
                f"understands ({len(MIGRATIONS)}); upgrade Outrider or use another data dir"
            )
        for step in range(version, len(MIGRATIONS)):
            with self.transaction() as conn:
                for statement in _split_sql(MIGRATIONS[step]):
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {step + 1}")

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Run the body in one ``BEGIN IMMEDIATE`` transaction; roll back on any exception.

        A failed ``COMMIT`` (a full disk, an I/O error) is rolled back too: SQLite may
        leave the transaction open after one, and the connection's next ``BEGIN`` would
        then fail for ever with "cannot start a transaction within a transaction". An
        error SQLite already rolled back itself is not masked by a failing ``ROLLBACK``.
        """
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
                self._conn.execute("COMMIT")
            except BaseException:
                self._rollback()
                raise

    def _rollback(self) -> None:
        if self._conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                self._conn.execute("ROLLBACK")

    def query(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        """Run a read-only statement and return every row."""
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def node_value(self, key: str) -> str | None:
        rows = self.query("SELECT value FROM node WHERE key = ?", (key,))
        return str(rows[0][0]) if rows else None

    def set_node_value(self, key: str, value: str) -> None:
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO node (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = ?",
                (key, value, value),
            )

    def node_id(self) -> str:
        """The node's UUID, created on first start and kept for the life of the data dir."""
        existing = self.node_value("node_id")
        if existing:
            return existing
        node_id = str(uuid.uuid4())
        self.set_node_value("node_id", node_id)
        return node_id

    def next_index(self, name: str = "raft") -> int:
        """A monotonically increasing counter, standing in for Nomad's Raft index.

        Once committed, the new value is reported to :attr:`on_index` (``name, value``).
        """
        with self.indexed_transaction(name) as (_conn, value):
            pass
        return value

    @contextlib.contextmanager
    def indexed_transaction(
        self, name: str = "raft", tables: tuple[str, ...] = ()
    ) -> Iterator[tuple[sqlite3.Connection, int]]:
        """One transaction that takes the next value of counter ``name`` for the writes it holds.

        The value is also recorded as the last index of each of ``tables`` (counters
        of that name), and reported to :attr:`on_index` once committed.
        """
        with self.transaction() as conn:
            row = conn.execute("SELECT value FROM counters WHERE name = ?", (name,)).fetchone()
            value = (int(row[0]) if row else 0) + 1
            for counter in (name, *tables):
                conn.execute(
                    "INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = ?",
                    (counter, value, value),
                )
            yield conn, value
        if self.on_index is not None:
            self.on_index(name, value)

    def current_index(self, name: str = "raft") -> int:
        """The latest value :meth:`next_index` handed out, without taking a new one."""
        rows = self.query("SELECT value FROM counters WHERE name = ?", (name,))
        return int(rows[0][0]) if rows else 0  # type: ignore[call-overload]

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _split_sql(script: str) -> list[str]:
    """Split a migration into statements (``executescript`` would commit our transaction)."""
    statements, current = [], []
    for line in script.splitlines():
        code = line.split("--", 1)[0]
        current.append(code)
        if code.rstrip().endswith(";"):
            stmt = "\n".join(current).strip()
            if stmt:
                statements.append(stmt)
            current = []
    tail = "\n".join(current).strip()
    if tail:
        statements.append(tail)
    return statements
