"""Running the ``outrider`` command line as a user does: a subprocess, with the agent's address in NOMAD_ADDR."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import httpx

from tests.conftest import AgentProcess
from tests.runner.support import wait_for

CLI_TIMEOUT = 60


def cli_env(agent: AgentProcess | None = None, **extra: str) -> dict[str, str]:
    """The environment of a CLI run: no colour settings or Nomad variables inherited from the caller."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("NOMAD_") and k not in ("NO_COLOR", "TERM")
    }
    if agent is not None:
        env["NOMAD_ADDR"] = agent.url
    env.update(extra)
    return env


def run(
    *args: str,
    agent: AgentProcess | None = None,
    env: dict[str, str] | None = None,
    stdin: bytes | None = None,
    timeout: float = CLI_TIMEOUT,
) -> subprocess.CompletedProcess[bytes]:
    """``outrider ARGS`` to completion; stdin is /dev/null unless bytes are given."""
    return subprocess.run(
        [sys.executable, "-m", "outrider", *args],
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        timeout=timeout,
        env={**cli_env(agent), **(env or {})},
    )


def out(result: subprocess.CompletedProcess[bytes]) -> str:
    return result.stdout.decode()


def err(result: subprocess.CompletedProcess[bytes]) -> str:
    return result.stderr.decode()


def ok(*args: str, agent: AgentProcess | None = None, **kwargs: Any) -> str:
    """Run a command that must succeed; its stdout."""
    result = run(*args, agent=agent, **kwargs)
    assert result.returncode == 0, f"exit {result.returncode}\nstdout: {out(result)}\nstderr: {err(result)}"
    assert "Traceback" not in err(result)
    return out(result)


def fails(*args: str, agent: AgentProcess | None = None, code: int = 1, **kwargs: Any) -> str:
    """Run a command that must fail with ``code`` and a clean message (no traceback); its stderr."""
    result = run(*args, agent=agent, **kwargs)
    text = err(result)
    assert result.returncode == code, f"exit {result.returncode}\nstdout: {out(result)}\nstderr: {text}"
    assert "Traceback" not in text
    return text


def register(agent: AgentProcess, job: dict[str, Any]) -> list[dict[str, Any]]:
    """Register a job through the HTTP API and return its allocations once every task left ``pending``."""
    with agent.client() as http:
        resp = http.put("/v1/jobs", json={"Job": job})
        assert resp.status_code == 200, resp.text
        return wait_started(http, job["ID"])


def wait_started(http: httpx.Client, job_id: str, timeout: float = 30) -> list[dict[str, Any]]:
    def check() -> list[dict[str, Any]] | None:
        allocs = http.get(f"/v1/job/{job_id}/allocations").json()
        settled = allocs and all(
            a["TaskStates"] and all(s["State"] != "pending" for s in a["TaskStates"].values()) for a in allocs
        )
        return allocs if settled else None

    return wait_for(check, timeout, 0.05, f"the tasks of job {job_id} to start")


def wait_dead(agent: AgentProcess, alloc_id: str, timeout: float = 30) -> dict[str, Any]:
    with agent.client() as http:

        def check() -> dict[str, Any] | None:
            alloc = http.get(f"/v1/allocation/{alloc_id}").json()
            return alloc if alloc["ClientStatus"] in ("complete", "failed") else None

        return wait_for(check, timeout, 0.05, f"allocation {alloc_id} to finish")
