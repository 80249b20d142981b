"""Small Nomad JSON jobs for the tests (tasks are shell or Python one-liners)."""

from __future__ import annotations

import sys
from typing import Any

MS = 1_000_000
S = 1_000_000_000

FAST_RESTARTS = {"Attempts": 2, "Interval": 10 * S, "Delay": 10 * MS, "Mode": "fail"}


def task(name: str, argv: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "Name": name,
        "Driver": "raw_exec",
        "Config": {"command": argv[0], "args": argv[1:]},
        "KillTimeout": 2 * S,
        **extra,
    }


def sh(name: str, script: str, **extra: Any) -> dict[str, Any]:
    return task(name, ["/bin/sh", "-c", script], **extra)


def python(name: str, code: str, **extra: Any) -> dict[str, Any]:
    return task(name, [sys.executable, "-c", code], **extra)


def job(
    job_id: str, *tasks: dict[str, Any], type_: str = "batch", count: int = 1, **group: Any
) -> dict[str, Any]:
    """A one-group job; ``group`` fields override the group's (``RestartPolicy`` defaults to fast restarts)."""
    return {
        "ID": job_id,
        "Type": type_,
        "Datacenters": ["dc1"],
        "TaskGroups": [
            {"Name": "g", "Count": count, "RestartPolicy": dict(FAST_RESTARTS), "Tasks": list(tasks), **group}
        ],
    }
