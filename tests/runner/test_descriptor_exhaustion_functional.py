"""A job placed while the agent is out of descriptors waits its turn: it is retried, not failed for good.

The agent's soft ``RLIMIT_NOFILE`` is lowered (``prlimit``) to the descriptors it
already holds, so every new one fails with ``EMFILE``; the job is submitted on a
connection opened before, and the limit is given back while the task retries.
"""

from __future__ import annotations

import resource
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from outrider.runner.handle import SPEC_FILE, AttemptStatus, write_json_atomic
from outrider.runner.spec import LaunchSpec, LogConfig
from tests.conftest import AgentProcess, start_agent
from tests.runner import jobspecs as J
from tests.runner.support import kill_leftovers, wait_for

pytestmark = pytest.mark.functional

FAILING_STEP = {0: "failed to prepare the task's start", 1: "failed to start the task's supervisor"}
PATIENT = {"Attempts": 100, "Interval": 300 * J.S, "Delay": 100 * J.MS, "Mode": "fail"}


@pytest.fixture
def agent(tmp_path: Path) -> Iterator[AgentProcess]:
    proc = start_agent(tmp_path / "data")
    try:
        yield proc
    finally:
        proc.stop()
        kill_leftovers(proc.data_dir)


def events(http: httpx.Client, job_id: str) -> tuple[str, list[dict[str, Any]]]:
    allocs = http.get(f"/v1/job/{job_id}/allocations").json()
    if not allocs:
        return "", []
    alloc = http.get(f"/v1/allocation/{allocs[0]['ID']}").json()
    state = (alloc.get("TaskStates") or {}).get("t")
    return alloc["ClientStatus"], (state or {}).get("Events", [])


@pytest.mark.parametrize("spare", [0, 1], ids=["none-spare", "one-spare"])
def test_a_task_placed_out_of_descriptors_is_retried_until_it_runs(agent: AgentProcess, spare: int) -> None:
    with httpx.Client(base_url=agent.url, timeout=10.0) as http:
        assert http.get("/v1/agent/health").status_code == 200
        soft, hard = resource.prlimit(agent.proc.pid, resource.RLIMIT_NOFILE)
        resource.prlimit(agent.proc.pid, resource.RLIMIT_NOFILE, (agent.open_fds() + spare, hard))
        try:
            job = J.job("starved", J.sh("t", "echo ran"), RestartPolicy=PATIENT)
            assert http.post("/v1/jobs", json={"Job": job}).status_code == 200

            def retried() -> list[str] | None:
                types = [e["Type"] for e in events(http, "starved")[1]]
                return types if types.count("Restarting") >= 2 else None

            types = wait_for(retried, 20, what="the starved task to be retried")
        finally:
            resource.prlimit(agent.proc.pid, resource.RLIMIT_NOFILE, (soft, hard))
        assert "Not Restarting" not in types
        failures = [e for e in events(http, "starved")[1] if e["Type"] == "Driver Failure"]
        assert failures
        assert all(e["DriverError"].endswith(": Too many open files") for e in failures)
        assert all(str(agent.data_dir) not in e["DriverError"] for e in failures)
        # No spare descriptor fails the attempt's preparation; one spare gets as far as the supervisor.
        step = FAILING_STEP[spare]
        assert any(e["DriverError"] == f"{step}: Too many open files" for e in failures)

        def finished() -> list[str] | None:
            status, evs = events(http, "starved")
            return [e["Type"] for e in evs] if status == "complete" else None

        types = wait_for(finished, 30, what="the task to run once descriptors are back")
    assert types[-2:] == ["Started", "Terminated"]
    assert "Not Restarting" not in types


def test_a_supervisor_out_of_descriptors_reports_a_transient_start_error(tmp_path: Path) -> None:
    # How many descriptors Python needs to get as far as the log capture varies; every limit
    # that fails there must say the failure is worth another attempt.
    seen = []
    for limit in range(6, 16):
        run = tmp_path / str(limit)
        state, logs, task = run / "state", run / "logs", run / "task"
        for d in (state, logs, task):
            d.mkdir(parents=True)
        spec = LaunchSpec(
            attempt=1,
            task="web",
            argv=["/bin/true"],
            cwd=str(task),
            env={},
            log_dir=str(logs),
            logs=LogConfig(10, 1024 * 1024, False),
            kill_signal=int(signal.SIGINT),
            kill_timeout=J.S,
        )
        write_json_atomic(str(state / SPEC_FILE), spec.to_json())
        proc = subprocess.run(
            [sys.executable, "-m", "outrider.runner.executor", str(state)],
            preexec_fn=lambda n=limit: resource.setrlimit(resource.RLIMIT_NOFILE, (n, n)),
            capture_output=True,
            timeout=30,
        )
        status = AttemptStatus.load(str(state))
        if status is not None and status.start_error and "Too many open files" in status.start_error:
            assert proc.returncode == 1
            assert status.start_error_transient, status.start_error
            seen.append(limit)
    assert seen, "no limit made the supervisor fail for want of descriptors"
