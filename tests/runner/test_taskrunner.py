"""One task's runner on its own: real supervisors and tasks, its events, its requests, picking a task up again.

Each test builds a :class:`TaskRunner` as the allocation runner does, over a real
state database and a real allocation directory, without an agent around it.
"""

from __future__ import annotations

import asyncio
import os
import selectors
import signal
import sys
import textwrap
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from outrider.allocs import Allocation, AllocRegistry
from outrider.fs.allocdir import build_alloc_dir
from outrider.runner import taskstate as ts
from outrider.runner.errors import TaskNotRunning
from outrider.runner.handle import SPEC_FILE, AttemptStatus, read_json, task_state_dir, write_json_atomic
from outrider.runner.restart import RestartPolicy
from outrider.runner.spec import LaunchSpec, LogConfig, TaskSpec
from outrider.runner.store import RunnerStore
from outrider.runner.taskrunner import RUNNER_FAILED, TaskRunner, spawn_supervisor
from outrider.state.db import StateDB
from tests.runner.conftest import alloc_context
from tests.runner.support import kill_leftovers, until, wait_for

pytestmark = pytest.mark.usefixtures("no_fd_leak")

MS = 1_000_000
S = 1_000_000_000
TIMEOUT = 30.0
NO_RESTARTS = RestartPolicy(0, 10 * S, 10 * MS)

# A task that says when it is up, answers SIGUSR1 and leaves on SIGTERM.
SERVICE = textwrap.dedent(
    """
    import signal, sys, time
    signal.signal(signal.SIGUSR1, lambda *_: print("usr1", flush=True))
    signal.signal(signal.SIGTERM, lambda *_: (print("bye", flush=True), sys.exit(0)))
    print("up", flush=True)
    while True:
        time.sleep(0.05)
    """
)


class Task:
    """One allocation with one task ``t``: its directories, its rows, and runners for it."""

    def __init__(self, root: Path) -> None:
        self.data_dir = root / "data"
        self.db = StateDB(str(self.data_dir / "client" / "state.db"))
        self.store = RunnerStore(self.db)
        self.allocs = AllocRegistry(self.db, str(root / "alloc"))
        self.alloc_id = str(uuid.uuid4())
        self.alloc_path = build_alloc_dir(self.allocs.alloc_dir, self.alloc_id, ["t"])
        self.allocs.add(Allocation(self.alloc_id, "default", self.alloc_path, ["t"], job_id="j"))
        self.store.create(self.alloc_id, {}, {"t": ts.TaskState().to_record()})
        self.state_dir = task_state_dir(str(self.data_dir), self.alloc_id, "t")
        self.changes: list[str] = []
        self.context = alloc_context(self.alloc_id, self.alloc_path)

    def runner(
        self, spec: TaskSpec, job_type: str = "batch", max_kill_timeout: int | None = None
    ) -> TaskRunner:
        """A runner built from the task's stored state and handle, as an agent (re)starting builds it."""
        _, saved = self.store.load(self.alloc_id)
        state, handle = saved["t"]
        return TaskRunner(
            alloc_id=self.alloc_id,
            alloc_path=self.alloc_path,
            state_dir=self.state_dir,
            context=self.context,
            job_type=job_type,
            spec=spec,
            store=self.store,
            state=ts.TaskState.from_record(state),
            handle=handle,
            on_change=lambda r: self.changes.append(r.state.state),
            max_kill_timeout=max_kill_timeout,
        )

    def output(self, kind: str = "stdout") -> bytes:
        return Path(self.alloc_path, "alloc", "logs", f"t.{kind}.0").read_bytes()

    def close(self) -> None:
        self.allocs.close()
        self.db.close()


@pytest.fixture
def task(tmp_path: Path) -> Iterator[Task]:
    made = Task(tmp_path)
    try:
        yield made
    finally:
        leftovers = kill_leftovers(made.data_dir)
        made.close()
        assert not leftovers, f"processes left running: {leftovers}"


def run(body: Callable[[], Awaitable[None]]) -> None:
    async def bounded() -> None:
        await asyncio.wait_for(body(), TIMEOUT)

    asyncio.run(bounded())


def python(code: str, restart: RestartPolicy = NO_RESTARTS, **kw: Any) -> TaskSpec:
    return TaskSpec(name="t", command=sys.executable, args=["-c", code], restart=restart, **kw)


def types(runner: TaskRunner) -> list[str]:
    return [e["Type"] for e in runner.state.events]


def terminated(runner: TaskRunner) -> list[dict[str, Any]]:
    return [e for e in runner.state.events if e["Type"] == ts.TERMINATED]


# -- the supervisor process ----------------------------------------------------------------------


def test_a_supervisor_runs_in_its_own_session_and_reports_through_the_ready_pipe(task: Task) -> None:
    os.makedirs(task.state_dir)
    spec = LaunchSpec(
        attempt=1,
        task="t",
        argv=["/bin/sh", "-c", "echo up; exec sleep 30"],
        cwd=os.path.join(task.alloc_path, "t"),
        env={"PATH": os.environ["PATH"]},
        log_dir=os.path.join(task.alloc_path, "alloc", "logs"),
        logs=LogConfig(),
        kill_signal=int(signal.SIGTERM),
        kill_timeout=5 * S,
    )
    write_json_atomic(os.path.join(task.state_dir, SPEC_FILE), spec.to_json())
    pid, ready = spawn_supervisor(task.state_dir)
    try:
        with selectors.DefaultSelector() as sel:
            sel.register(ready, selectors.EVENT_READ)
            while True:  # the supervisor closes the pipe once the task started
                assert sel.select(TIMEOUT), "the ready pipe stayed open"
                if not os.read(ready, 4096):
                    break
        assert os.getsid(pid) == pid, "a supervisor leads a session of its own, to outlive the agent"
        assert os.readlink(f"/proc/{pid}/fd/0") == os.devnull
        log = os.path.join(task.state_dir, "executor.log")
        assert os.readlink(f"/proc/{pid}/fd/1") == os.readlink(f"/proc/{pid}/fd/2") == log
        status = AttemptStatus.load(task.state_dir)
        assert status is not None and status.attempt == 1
        assert status.supervisor is not None and status.supervisor.pid == pid
        assert status.task is not None and status.task.alive()
        wait_for(lambda: task.output() == b"up\n", what="the task's output")
    finally:
        os.close(ready)
        os.kill(pid, signal.SIGTERM)
        os.waitpid(pid, 0)
    status = AttemptStatus.load(task.state_dir)
    assert status is not None and status.exited and status.signal == signal.SIGTERM


# -- attempts and the restart policy ---------------------------------------------------------------


def test_a_batch_task_runs_once_and_every_step_is_stored(task: Task) -> None:
    spec = TaskSpec(
        name="t",
        command="/bin/sh",
        args=["-c", "echo $NOMAD_TASK_NAME ${NOMAD_ALLOC_INDEX} ${meta.rack}; echo err >&2"],
        restart=NO_RESTARTS,
    )

    async def body() -> None:
        runner = task.runner(spec)
        runner.start()
        await runner.finished.wait()
        assert types(runner) == [ts.TASK_SETUP, ts.STARTED, ts.TERMINATED]
        (end,) = terminated(runner)
        assert (end["ExitCode"], end["Signal"]) == (0, 0)
        assert runner.state.state == ts.DEAD and not runner.state.failed
        _, saved = task.store.load(task.alloc_id)
        state, handle = saved["t"]
        assert state == runner.state.to_record()
        assert handle == runner.handle_json() and handle["attempt"] == 1 and handle["exit_handled"]

    run(body)
    # ``${...}`` in the arguments is the runner's, ``$NOMAD_TASK_NAME`` the shell's (from the env).
    assert task.output() == b"t 2 r7\n" and task.output("stderr") == b"err\n"
    assert task.changes[-1] == ts.DEAD and ts.RUNNING in task.changes
    written = read_json(os.path.join(task.state_dir, SPEC_FILE))
    assert written is not None
    launch = LaunchSpec.from_json(written)
    assert launch.cwd == os.path.join(task.alloc_path, "t")
    assert launch.log_dir == os.path.join(task.alloc_path, "alloc", "logs")
    assert launch.kill_signal == signal.SIGINT and launch.env["NOMAD_ALLOC_ID"] == task.alloc_id


def test_a_failing_task_is_restarted_within_its_policy_then_fails(task: Task) -> None:
    policy = RestartPolicy(1, 60 * S, 10 * MS, "fail")

    async def body() -> None:
        runner = task.runner(python("raise SystemExit(3)", restart=policy))
        runner.start()
        await runner.finished.wait()
        assert types(runner) == [
            ts.TASK_SETUP,
            ts.STARTED,
            ts.TERMINATED,
            ts.RESTARTING,
            ts.STARTED,
            ts.TERMINATED,
            ts.NOT_RESTARTING,
        ]
        assert [e["ExitCode"] for e in terminated(runner)] == [3, 3]
        assert runner.state.events[3]["RestartReason"] == ts.REASON_WITHIN_POLICY
        assert runner.state.events[-1]["FailsTask"]
        assert (runner.state.state, runner.state.failed, runner.state.restarts) == (ts.DEAD, True, 1)
        assert runner.attempt == 2

    run(body)


def test_a_command_that_cannot_start_fails_the_task_at_once(task: Task) -> None:
    async def body() -> None:
        runner = task.runner(TaskSpec(name="t", command="/nonexistent/command", restart=NO_RESTARTS))
        runner.start()
        await runner.finished.wait()
        assert types(runner) == [ts.TASK_SETUP, ts.DRIVER_FAILURE, ts.NOT_RESTARTING]
        assert "/nonexistent/command" in runner.state.events[1]["DriverError"]
        assert runner.state.events[2]["RestartReason"] == "Error was unrecoverable"
        assert runner.state.failed and runner.root_pid() is None

    run(body)


# -- requests -------------------------------------------------------------------------------------


def test_kill_sends_the_kill_signal_and_the_timeout_is_capped(task: Task) -> None:
    spec = python(SERVICE, kill_signal="SIGTERM", kill_timeout=60 * S)

    async def body() -> None:
        runner = task.runner(spec, job_type="service", max_kill_timeout=3 * S)
        assert runner.kill_timeout == 3 * S
        runner.start()
        await until(lambda: runner.running and task.output() == b"up\n", "the task to run")
        written = read_json(os.path.join(task.state_dir, SPEC_FILE))
        assert written is not None and written["kill_timeout"] == 3 * S
        assert written["kill_signal"] == signal.SIGTERM
        pid = runner.root_pid()
        assert pid is not None and os.getpgid(pid) == pid
        runner.kill()
        await runner.finished.wait()
        assert types(runner)[-3:] == [ts.KILLING, ts.TERMINATED, ts.KILLED]
        assert runner.state.events[-3]["KillTimeout"] == 3 * S
        assert runner.state.state == ts.DEAD and not runner.state.failed
        assert runner.root_pid() is None
        runner.kill()  # a dead task: nothing more happens
        assert types(runner)[-1] == ts.KILLED

    run(body)
    assert task.output() == b"up\nbye\n"


def test_signal_and_restart_reach_the_running_task(task: Task) -> None:
    async def body() -> None:
        runner = task.runner(python(SERVICE, kill_signal="SIGTERM"), job_type="service")
        with pytest.raises(TaskNotRunning):
            runner.restart(ts.new_event(ts.RESTART_SIGNAL))
        with pytest.raises(TaskNotRunning):
            runner.signal("SIGUSR1", signal.SIGUSR1)
        runner.start()
        await until(lambda: runner.running and task.output() == b"up\n", "the task to run")
        first = runner.root_pid()
        runner.signal("SIGUSR1", signal.SIGUSR1)
        assert runner.state.events[-1]["TaskSignal"] == "SIGUSR1"
        await until(lambda: task.output() == b"up\nusr1\n", "the signal to arrive")
        runner.restart(ts.new_event(ts.RESTART_SIGNAL, RestartReason="by hand"))
        await until(lambda: runner.attempt == 2 and runner.running, "the next attempt")
        assert runner.root_pid() not in (None, first)
        assert types(runner)[-4:] == [ts.RESTART_SIGNAL, ts.TERMINATED, ts.RESTARTING, ts.STARTED]
        assert runner.tracker.count == 0, "a requested restart does not count against the policy"
        await until(lambda: task.output() == b"up\nusr1\nbye\nup\n", "the next attempt to be up")
        runner.kill()
        await runner.finished.wait()

    run(body)
    assert task.output() == b"up\nusr1\nbye\nup\nbye\n"


# -- picking a task up again -----------------------------------------------------------------------


def test_a_new_runner_follows_the_attempt_still_running(task: Task) -> None:
    spec = python(SERVICE, kill_signal="SIGTERM")

    async def body() -> None:
        first = task.runner(spec, job_type="service")
        first.start()
        await until(lambda: first.running and task.output() == b"up\n", "the task to run")
        pid = first.root_pid()
        await first.detach()  # the agent stops: the task goes on
        assert pid is not None and AttemptStatus.load(task.state_dir).task.alive()  # type: ignore[union-attr]
        second = task.runner(spec, job_type="service")
        second.start()
        await until(lambda: second.running and second.root_pid() == pid, "the runner to pick the task up")
        assert second.attempt == 1 and types(second).count(ts.STARTED) == 1
        second.kill()
        await second.finished.wait()
        assert types(second)[-3:] == [ts.KILLING, ts.TERMINATED, ts.KILLED]

    run(body)


def test_an_attempt_that_ended_while_nobody_followed_it_is_recorded(task: Task, tmp_path: Path) -> None:
    go = tmp_path / "go"
    code = (
        f"import os, time\nwhile not os.path.exists({str(go)!r}):\n    time.sleep(0.02)\nraise SystemExit(5)"
    )

    async def body() -> None:
        first = task.runner(python(code))
        first.start()
        await until(lambda: first.running, "the task to run")
        await first.detach()
        go.touch()
        await until(lambda: (s := AttemptStatus.load(task.state_dir)) and s.exited, "the task to exit")
        second = task.runner(python(code))
        second.start()
        await second.finished.wait()
        assert types(second) == [ts.TASK_SETUP, ts.STARTED, ts.TERMINATED, ts.NOT_RESTARTING]
        assert terminated(second)[0]["ExitCode"] == 5 and second.attempt == 1

    run(body)


def test_a_supervisor_killed_hard_takes_its_task_with_it(task: Task) -> None:
    async def body() -> None:
        runner = task.runner(python(SERVICE), job_type="service")
        runner.start()
        await until(lambda: runner.running and task.output() == b"up\n", "the task to run")
        status = AttemptStatus.load(task.state_dir)
        assert status is not None and status.supervisor is not None and status.task is not None
        os.kill(status.supervisor.pid, signal.SIGKILL)
        await runner.finished.wait()
        (end,) = terminated(runner)
        assert end["ExitCode"] == -1
        assert end["Message"] == "the task's supervisor exited without recording the task's exit"
        task_process = status.task
        # SIGKILL is sent before the exit is recorded; the kernel takes a moment to end the process.
        await until(lambda: not task_process.alive(), "the orphaned task to die", timeout=5)
        assert types(runner)[-1] == ts.NOT_RESTARTING

    run(body)


def test_a_runner_that_raises_fails_its_task_and_says_so(
    task: Task, caplog: pytest.LogCaptureFixture
) -> None:
    # The state database is closed under the runner: its next write raises (not a full disk,
    # which is retried, but a programming error), and the runner must not end in silence.
    runner = task.runner(python("import time; time.sleep(0.3)"))

    async def body() -> None:
        runner.start()
        await until(lambda: runner.state.state == ts.RUNNING, "the task to run")
        task.db.close()
        await asyncio.wait_for(runner.finished.wait(), 10)
        await runner.detach()

    run(body)
    assert runner.state.state == ts.DEAD and runner.state.failed
    assert types(runner)[-2:] == [ts.DRIVER_FAILURE, ts.NOT_RESTARTING]
    assert runner.state.events[-2]["DriverError"] == RUNNER_FAILED
    assert task.changes[-1] == ts.DEAD
    failed = [r for r in caplog.records if r.getMessage() == "task runner failed"]
    assert failed and failed[0].exc_info is not None
    assert failed[0].task == "t"  # type: ignore[attr-defined]
