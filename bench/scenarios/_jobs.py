"""Run a one-task batch job through Nomad's documented jobs API, as the runner scenarios need.

``PUT /v1/jobs`` registers ``{"Job": ...}`` with a ``raw_exec`` task,
``GET /v1/job/<id>/allocations`` finds its allocation and task state, and
``DELETE /v1/job/<id>?purge=true`` removes it.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

TERMINAL = ("complete", "failed", "lost")


class JobError(RuntimeError):
    """The agent refused the job, or it did not run as expected."""


def _call(method: str, url: str, body: object | None = None, timeout: float = 10.0) -> Any:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            raw = resp.read()
    except urllib.error.HTTPError as exc:
        raise JobError(f"{method} {url.split('?')[0]}: {exc.code} {exc.read()[:300]!r}") from None
    return json.loads(raw) if raw.strip() else None


def job_body(
    job_id: str, task: str, command: str, args: list[str], max_files: int, max_file_mb: int
) -> dict[str, Any]:
    """A batch job with one ``raw_exec`` task that runs once (no restarts)."""
    return {
        "Job": {
            "ID": job_id,
            "Name": job_id,
            "Type": "batch",
            "Datacenters": ["dc1"],
            "TaskGroups": [
                {
                    "Name": "bench",
                    "Count": 1,
                    "RestartPolicy": {"Attempts": 0, "Mode": "fail"},
                    # Nomad requires the logs to fit in the ephemeral disk (300 MB by default).
                    "EphemeralDisk": {"SizeMB": max_files * max_file_mb + 100},
                    "Tasks": [
                        {
                            "Name": task,
                            "Driver": "raw_exec",
                            "Config": {"command": command, "args": args},
                            "LogConfig": {"MaxFiles": max_files, "MaxFileSizeMB": max_file_mb},
                        }
                    ],
                }
            ],
        }
    }


def register(url: str, body: dict[str, Any]) -> None:
    _call("PUT", f"{url}/v1/jobs", body)


def allocation(url: str, job_id: str) -> dict[str, Any] | None:
    allocs = _call("GET", f"{url}/v1/job/{job_id}/allocations") or []
    return allocs[0] if allocs else None


def wait_allocation(url: str, job_id: str, timeout: float = 30.0) -> dict[str, Any]:
    """The job's allocation, once the agent has placed it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alloc = allocation(url, job_id)
        if alloc is not None:
            return alloc
        time.sleep(0.02)
    raise JobError(f"job {job_id} has no allocation after {timeout:.0f}s")


def wait_dead(url: str, job_id: str, task: str, timeout: float) -> dict[str, Any]:
    """Poll until ``task`` is dead (or the allocation terminal); return the allocation."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alloc = allocation(url, job_id)
        if alloc is not None:
            state = (alloc.get("TaskStates") or {}).get(task) or {}
            if state.get("State") == "dead" or alloc.get("ClientStatus") in TERMINAL:
                return alloc
        time.sleep(0.05)
    raise JobError(f"task {task} of job {job_id} still running after {timeout:.0f}s")


def deregister(url: str, job_id: str) -> None:
    try:
        _call("DELETE", f"{url}/v1/job/{job_id}?purge=true")
    except (JobError, OSError):
        # Cleanup only: the agent is stopped at the end of the run anyway.
        pass
