"""State writes on a full disk: refused now, kept, retried with backoff, landed once there is room.

A real SQLite database on a small tmpfs that a filler file fills up.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from pathlib import Path

import pytest

from outrider.state.db import StateDB
from outrider.state.retry import RetryingWriter
from tests.runner.support import fill, tmpfs, until

BIG = "x" * 256 * 1024  # more than the last free pages: the WAL must grow to take it


def test_a_refused_write_waits_and_lands_once_there_is_room(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "outrider.state")
    with tmpfs(tmp_path / "disk", "4m") as disk:
        db = StateDB(str(disk / "client" / "state.db"))
        try:
            db.set_node_value("before", "1")
            filler = fill(disk)
            with pytest.raises(sqlite3.OperationalError, match="database or disk is full"):
                db.set_node_value("direct", BIG)

            async def body() -> None:
                writer = RetryingWriter("test")
                assert not writer.write("k", lambda: db.set_node_value("k", BIG + "1"))
                # A newer write of the same key replaces the waiting one.
                assert not writer.write("k", lambda: db.set_node_value("k", BIG + "2"))
                assert writer.pending == 1
                await asyncio.sleep(0.3)  # a few retries, all refused
                assert writer.pending == 1
                # Reads go on while writes wait.
                assert db.node_value("before") == "1"
                filler.unlink()
                await until(lambda: writer.pending == 0, "the write to land", timeout=15)
                await writer.close()

            asyncio.run(body())
            # The connection is usable again (no transaction left open by the failed COMMITs).
            db.set_node_value("after", "1")
        finally:
            db.close()
        again = StateDB(str(disk / "client" / "state.db"))
        try:
            assert again.node_value("k") == BIG + "2"
            assert again.node_value("after") == "1"
            assert again.node_value("direct") is None
        finally:
            again.close()
    messages = [r.getMessage() for r in caplog.records]
    assert "state write failed; retrying with backoff" in messages
    assert "state writes recovered" in messages
    failed = next(r for r in caplog.records if r.getMessage().startswith("state write failed"))
    assert "database or disk is full" in failed.error  # type: ignore[attr-defined]


def test_a_write_that_is_a_bug_is_raised_not_retried(tmp_path: Path) -> None:
    db = StateDB(str(tmp_path / "state.db"))
    try:
        writer = RetryingWriter("test")

        def broken() -> None:
            with db.transaction() as conn:
                conn.execute("INSERT INTO node (key, value) VALUES (NULL, NULL)")

        with pytest.raises(sqlite3.IntegrityError):
            writer.write("k", broken)
        assert writer.pending == 0
        db.set_node_value("after", "1")  # the failed transaction was rolled back
    finally:
        db.close()
