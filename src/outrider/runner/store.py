"""The runner's rows in the state DB's ``task_states`` table.

Each task has one row: ``state`` is its Nomad-shaped ``TaskState`` (times as Unix
ns) and ``handle`` what a restarted agent needs to pick the task up again. The
allocation itself has one more row, under the task name ``""`` (no task can be
named that): the record it was placed with (the job version, the group's task
specs, the environment context). Deleting the allocation row cascades to all of
them, so a GC'd allocation leaves nothing behind.
"""

from __future__ import annotations

from typing import Any

import orjson

from outrider.state.db import StateDB

ALLOC_ROW = ""


def _dumps(obj: Any) -> str:
    return orjson.dumps(obj).decode()


class RunnerStore:
    """Reads and writes the runner's rows; every write is one transaction."""

    def __init__(self, db: StateDB) -> None:
        self.db = db

    def create(self, alloc_id: str, record: dict[str, Any], tasks: dict[str, dict[str, Any]]) -> None:
        """Store a new allocation's record and its tasks' first states together."""
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO task_states (alloc_id, task, state, handle) VALUES (?, ?, ?, NULL)",
                (alloc_id, ALLOC_ROW, _dumps(record)),
            )
            for task, state in tasks.items():
                conn.execute(
                    "INSERT INTO task_states (alloc_id, task, state, handle) VALUES (?, ?, ?, ?)",
                    (alloc_id, task, _dumps(state), _dumps({})),
                )

    def save_task(self, alloc_id: str, task: str, state: dict[str, Any], handle: dict[str, Any]) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE task_states SET state = ?, handle = ? WHERE alloc_id = ? AND task = ?",
                (_dumps(state), _dumps(handle), alloc_id, task),
            )

    def load(
        self, alloc_id: str
    ) -> tuple[dict[str, Any] | None, dict[str, tuple[dict[str, Any], dict[str, Any]]]]:
        """The allocation's record (None when it has none) and each task's ``(state, handle)``."""
        record: dict[str, Any] | None = None
        tasks: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
        for task, state, handle in self.db.query(
            "SELECT task, state, handle FROM task_states WHERE alloc_id = ?", (alloc_id,)
        ):
            if task == ALLOC_ROW:
                record = orjson.loads(str(state))
            else:
                tasks[str(task)] = (orjson.loads(str(state)), orjson.loads(str(handle or "{}")))
        return record, tasks
