"""The agent-side runner in-process: lifecycle, restart policy, requests, re-attach, the read API."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from outrider.agent import Agent
from outrider.config import AgentConfig
from outrider.runner import RunnerError, TaskNotRunning
from outrider.runner.errors import InvalidSignal
from tests.runner import jobspecs as J
from tests.runner.support import kill_leftovers, live_processes, statuses, until, wait_for

T = TypeVar("T")
TIMEOUT = 30.0

pytestmark = pytest.mark.usefixtures("no_fd_leak")


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "data"
    yield path
    leftovers = kill_leftovers(path)
    assert not leftovers, f"processes left running: {leftovers}"


def make_agent(data_dir: Path, **config: Any) -> Agent:
    return Agent(AgentConfig(data_dir=str(data_dir), dev=True, raw_exec_enabled=True, **config).finalize())


def run(data_dir: Path, body: Callable[[Agent], Awaitable[T]], **config: Any) -> T:
    """Run ``body`` against a fresh agent whose runner is started, bounded in time."""

    async def main() -> T:
        agent = make_agent(data_dir, **config)
        await agent.runner.start()
        try:
            return await asyncio.wait_for(body(agent), TIMEOUT)
        finally:
            await agent.runner.stop()
            agent.close()

    return asyncio.run(main())


def place(agent: Agent, job: dict[str, Any]) -> list[str]:
    agent.jobs.register(job, None)
    return [a.id for a in agent.jobs.allocs_of("default", job["ID"])]


def task_states_everywhere(agent: Agent) -> list[str]:
    """The ``State`` of every task of every allocation the agent runs."""
    return [s["State"] for a in agent.allocs.owned() for s in agent.runner.task_states(a.id).values()]


def types(agent: Agent, alloc_id: str, task: str) -> list[str]:
    return [e["Type"] for e in agent.runner.task_states(alloc_id)[task]["Events"]]


def test_batch_task_completes(data_dir: Path) -> None:
    async def body(agent: Agent) -> None:
        (alloc_id,) = place(agent, J.job("b", J.sh("t", "echo out; echo err >&2")))
        assert list(agent.runner.task_states(alloc_id)) == ["t"]
        finished = agent.runner.task_finished(alloc_id, "t")
        assert finished is not None
        await finished.wait()
        state = agent.runner.task_states(alloc_id)["t"]
        assert types(agent, alloc_id, "t") == ["Received", "Task Setup", "Started", "Terminated"]
        assert (state["State"], state["Failed"], state["Restarts"]) == ("dead", False, 0)
        assert state["Events"][-1]["Details"]["exit_code"] == "0"
        assert agent.allocs.get(alloc_id).client_status == "complete"  # type: ignore[union-attr]
        assert agent.allocs.get(alloc_id).terminal  # type: ignore[union-attr]
        assert agent.runner.task_root_pid(alloc_id, "t") is None
        assert task_states_everywhere(agent) == ["dead"]
        logs = Path(agent.allocs.get(alloc_id).path) / "alloc" / "logs"  # type: ignore[union-attr]
        assert (logs / "t.stdout.0").read_bytes() == b"out\n"
        assert (logs / "t.stderr.0").read_bytes() == b"err\n"

    run(data_dir, body)


def test_environment(data_dir: Path) -> None:
    script = 'echo "$NOMAD_JOB_ID $NOMAD_GROUP_NAME $NOMAD_TASK_NAME $NOMAD_ALLOC_INDEX $NOMAD_ALLOC_NAME $GREETING"; pwd; echo "$NOMAD_ALLOC_DIR $NOMAD_TASK_DIR $NOMAD_SECRETS_DIR $NOMAD_ALLOC_ID"'

    async def body(agent: Agent) -> None:
        (alloc_id,) = place(agent, J.job("env", J.sh("t", script, Env={"GREETING": "hi ${NOMAD_TASK_NAME}"})))
        await agent.runner.task_finished(alloc_id, "t").wait()  # type: ignore[union-attr]
        root = agent.allocs.get(alloc_id).path  # type: ignore[union-attr]
        out = (Path(root) / "alloc/logs/t.stdout.0").read_text().splitlines()
        assert out == [
            "env g t 0 env.g[0] hi t",
            f"{root}/t",
            f"{root}/alloc {root}/t/local {root}/t/secrets {alloc_id}",
        ]

    run(data_dir, body)


def test_failing_task_follows_the_restart_policy(data_dir: Path) -> None:
    async def body(agent: Agent) -> None:
        (alloc_id,) = place(agent, J.job("f", J.sh("t", "echo try; exit 7"), type_="service"))
        await agent.runner.task_finished(alloc_id, "t").wait()  # type: ignore[union-attr]
        state = agent.runner.task_states(alloc_id)["t"]
        assert (state["State"], state["Failed"], state["Restarts"]) == ("dead", True, 2)
        assert types(agent, alloc_id, "t")[-2:] == ["Terminated", "Not Restarting"]
        assert types(agent, alloc_id, "t").count("Restarting") == 2
        assert (
            state["Events"][-1]["DisplayMessage"]
            == 'Exceeded allowed attempts 2 in interval 10s and mode is "fail"'
        )
        assert agent.allocs.get(alloc_id).client_status == "failed"  # type: ignore[union-attr]
        logs = Path(agent.allocs.get(alloc_id).path) / "alloc/logs/t.stdout.0"  # type: ignore[union-attr]
        assert logs.read_bytes() == b"try\n" * 3

    run(data_dir, body)


def test_start_error_is_not_retried(data_dir: Path) -> None:
    async def body(agent: Agent) -> None:
        (alloc_id,) = place(agent, J.job("e", J.task("t", ["/no/such/binary"])))
        await agent.runner.task_finished(alloc_id, "t").wait()  # type: ignore[union-attr]
        events = agent.runner.task_states(alloc_id)["t"]["Events"]
        assert [e["Type"] for e in events][-2:] == ["Driver Failure", "Not Restarting"]
        assert "no such file or directory" in events[-2]["DisplayMessage"]
        assert events[-1]["DisplayMessage"] == "Error was unrecoverable"

    run(data_dir, body)


def test_restart_signal_and_stop(data_dir: Path, tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    code = (
        "import os, signal, sys, time\n"
        f"open({str(pidfile)!r}, 'w').write(str(os.getpid()))\n"
        "signal.signal(signal.SIGUSR1, lambda *a: print('usr1', flush=True))\n"
        "print('up', flush=True)\n"
        "while True: time.sleep(0.05)\n"
    )

    async def body(agent: Agent) -> None:
        (alloc_id,) = place(agent, J.job("s", J.python("t", code, KillSignal="SIGTERM"), type_="service"))
        runner = agent.runner
        logs = Path(agent.allocs.get(alloc_id).path) / "alloc/logs/t.stdout.0"  # type: ignore[union-attr]
        await until(lambda: logs.exists() and logs.read_bytes() == b"up\n", "first start")
        pid = runner.task_root_pid(alloc_id, "t")
        assert pid is not None and pid == int(pidfile.read_text())
        runner.signal(alloc_id, "SIGUSR1", "t")
        await until(lambda: logs.read_bytes() == b"up\nusr1\n", "the signal")
        with pytest.raises(InvalidSignal, match='invalid signal "SIGNOPE"'):
            runner.signal(alloc_id, "SIGNOPE")
        with pytest.raises(RunnerError, match="Could not find task runner for task: x"):
            runner.restart(alloc_id, "x")
        runner.restart(alloc_id)
        await until(lambda: logs.read_bytes().count(b"up\n") == 2, "the restart")
        await until(lambda: runner.task_root_pid(alloc_id, "t") not in (None, pid), "the new pid")
        state = runner.task_states(alloc_id)["t"]
        assert state["Restarts"] == 1 and state["State"] == "running"
        assert types(agent, alloc_id, "t")[-4:] == ["Restart Signaled", "Terminated", "Restarting", "Started"]
        assert state["Events"][-4]["DisplayMessage"] == "User requested running tasks to restart"
        runner.stop_alloc(alloc_id)
        await runner.task_finished(alloc_id, "t").wait()  # type: ignore[union-attr]
        assert types(agent, alloc_id, "t")[-3:] == ["Killing", "Terminated", "Killed"]
        state = runner.task_states(alloc_id)["t"]
        assert (state["State"], state["Failed"]) == ("dead", False)
        assert agent.allocs.get(alloc_id).client_status == "complete"  # type: ignore[union-attr]
        with pytest.raises(TaskNotRunning):
            runner.restart(alloc_id)

    run(data_dir, body)


def test_the_client_caps_a_kill_timeout(data_dir: Path, tmp_path: Path) -> None:
    # The job asks for a minute of grace; the client allows half a second, as Nomad's max_kill_timeout does.
    code = "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nprint('up', flush=True)\ntime.sleep(300)\n"

    async def body(agent: Agent) -> None:
        (alloc_id,) = place(agent, J.job("k", J.python("t", code, KillTimeout=60 * J.S), type_="service"))
        logs = Path(agent.allocs.get(alloc_id).path) / "alloc/logs/t.stdout.0"  # type: ignore[union-attr]
        await until(lambda: logs.exists() and logs.read_bytes() == b"up\n", "the start")
        started = time.monotonic()
        agent.runner.stop_alloc(alloc_id)
        await agent.runner.task_finished(alloc_id, "t").wait()  # type: ignore[union-attr]
        # Bounded by the test's own timeout rather than judged: only the events are asserted.
        assert time.monotonic() - started < TIMEOUT
        events = agent.runner.task_states(alloc_id)["t"]["Events"]
        killing = next(e for e in events if e["Type"] == "Killing")
        assert killing["DisplayMessage"] == "Sent interrupt. Waiting 500ms before force killing"
        assert events[-2]["Type"] == "Terminated" and events[-2]["Details"]["signal"] == "9"

    run(data_dir, body, max_kill_timeout=0.5)


def test_sibling_failure_stops_the_other_tasks(data_dir: Path) -> None:
    async def body(agent: Agent) -> None:
        job = J.job(
            "sib",
            J.sh("bad", "exit 1"),
            J.sh("good", "sleep 60"),
            RestartPolicy={"Attempts": 0, "Interval": 10 * J.S, "Delay": 0, "Mode": "fail"},
        )
        (alloc_id,) = place(agent, job)
        for task in ("bad", "good"):
            await agent.runner.task_finished(alloc_id, task).wait()  # type: ignore[union-attr]
        states = agent.runner.task_states(alloc_id)
        assert states["bad"]["Failed"] and not states["good"]["Failed"]
        good = [e["Type"] for e in states["good"]["Events"]]
        # The kill may reach "good" before or after it started; either way it ends killed.
        assert "Sibling Task Failed" in good and good[-2:] == ["Terminated", "Killed"]
        assert agent.allocs.get(alloc_id).client_status == "failed"  # type: ignore[union-attr]

    run(data_dir, body)


def test_a_new_agent_reattaches_to_running_tasks(data_dir: Path, tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    script = f"echo start; while [ ! -e {gate} ]; do sleep 0.02; done; echo end; exit 4"
    no_restarts = {"Attempts": 0, "Interval": 10 * J.S, "Delay": 0, "Mode": "fail"}

    async def first(agent: Agent) -> tuple[str, int]:
        (alloc_id,) = place(agent, J.job("r", J.sh("t", script), RestartPolicy=no_restarts))
        pid = await until(lambda: agent.runner.task_root_pid(alloc_id, "t"), "the start")
        return alloc_id, pid

    alloc_id, pid = run(data_dir, first)
    assert pid in live_processes(data_dir), "stopping the agent must leave the task running"

    async def second(agent: Agent) -> None:
        assert agent.runner.task_root_pid(alloc_id, "t") == pid
        assert agent.runner.task_states(alloc_id)["t"]["State"] == "running"
        assert task_states_everywhere(agent) == ["running"]
        gate.touch()
        await agent.runner.task_finished(alloc_id, "t").wait()  # type: ignore[union-attr]
        state = agent.runner.task_states(alloc_id)["t"]
        assert (state["State"], state["Failed"]) == ("dead", True)
        assert [e["Type"] for e in state["Events"]][-3:] == ["Started", "Terminated", "Not Restarting"]
        assert state["Events"][-2]["Details"]["exit_code"] == "4"
        logs = Path(agent.allocs.get(alloc_id).path) / "alloc/logs/t.stdout.0"  # type: ignore[union-attr]
        assert logs.read_bytes() == b"start\nend\n"

    run(data_dir, second)


def test_exit_while_no_agent_runs_is_reconciled(data_dir: Path, tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    script = f"while [ ! -e {gate} ]; do sleep 0.02; done; echo done"

    async def first(agent: Agent) -> str:
        (alloc_id,) = place(agent, J.job("late", J.sh("t", script)))
        await until(lambda: agent.runner.task_root_pid(alloc_id, "t"), "the start")
        return alloc_id

    alloc_id = run(data_dir, first)
    gate.touch()
    wait_for(lambda: all(s.exited for s in statuses(data_dir)), what="the task to end while no agent runs")

    async def second(agent: Agent) -> None:
        await agent.runner.task_finished(alloc_id, "t").wait()  # type: ignore[union-attr]
        state = agent.runner.task_states(alloc_id)["t"]
        assert (state["State"], state["Failed"]) == ("dead", False)
        assert [e["Type"] for e in state["Events"]][-2:] == ["Started", "Terminated"]
        assert agent.allocs.get(alloc_id).client_status == "complete"  # type: ignore[union-attr]

    run(data_dir, second)


def test_signal_of_a_dead_task_is_refused(data_dir: Path) -> None:
    async def body(agent: Agent) -> None:
        (alloc_id,) = place(agent, J.job("d", J.sh("t", "true")))
        await agent.runner.task_finished(alloc_id, "t").wait()  # type: ignore[union-attr]
        with pytest.raises(TaskNotRunning):
            agent.runner.signal(alloc_id, "SIGTERM", "t")

    run(data_dir, body)
