"""Helpers of the functional HTTP tests: running jobs through the jobs API and reading their logs from disk."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import AgentProcess
from tests.runner.support import log_indexes, wait_for


def register(http: httpx.Client, job: dict[str, Any]) -> dict[str, Any]:
    """Register ``job`` (Nomad's JSON shape); the response body."""
    resp = http.post("/v1/jobs", json={"Job": job})
    assert resp.status_code == 200, resp.text
    return resp.json()  # type: ignore[no-any-return]


def allocs(http: httpx.Client, job_id: str) -> list[dict[str, Any]]:
    """The job's allocation stubs."""
    resp = http.get(f"/v1/job/{job_id}/allocations")
    assert resp.status_code == 200
    return resp.json()  # type: ignore[no-any-return]


def wait_status(http: httpx.Client, alloc_id: str, *wanted: str, timeout: float = 30) -> dict[str, Any]:
    """The allocation once its ``ClientStatus`` is one of ``wanted`` (bounded wait)."""

    def check() -> dict[str, Any] | None:
        got = http.get(f"/v1/allocation/{alloc_id}").json()
        return got if got["ClientStatus"] in wanted else None

    return wait_for(check, timeout, 0.05, f"allocation {alloc_id} to be {wanted}")


def purge(http: httpx.Client, job_id: str) -> None:
    assert http.delete(f"/v1/job/{job_id}", params={"purge": "true"}).status_code == 200


def log_files(agent: AgentProcess, alloc_id: str, task: str = "t", kind: str = "stdout") -> list[bytes]:
    """The rotated files' contents, oldest first, read straight from disk."""
    logs = agent.alloc_dir / alloc_id / "alloc" / "logs"
    return [(logs / f"{task}.{kind}.{i}").read_bytes() for i in log_indexes(logs, task, kind)]


def log_bytes(agent: AgentProcess, alloc_id: str, task: str = "t", kind: str = "stdout") -> bytes:
    """Everything the task wrote to ``kind``, across its rotated files."""
    return b"".join(log_files(agent, alloc_id, task, kind))
