"""One task of an allocation, seen from the agent: its attempts, its state, its restarts.

The task itself runs under a supervisor process (:mod:`outrider.runner.executor`),
one per attempt. This side starts supervisors, waits for them, applies the restart
policy and records every step as a Nomad task event. It persists its state and a
*handle* after every step; an agent that starts on the same data dir builds the
runner again from those and carries on, whether the attempt it finds is still
running, ended while no agent was looking, or never got going.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import time
from collections.abc import Callable
from typing import Any

from outrider.fs.logfiles import LOG_DIR, LOG_TYPES
from outrider.metrics import REGISTRY
from outrider.runner import cgroup
from outrider.runner import taskstate as ts
from outrider.runner.env import AllocContext, interpolate, task_env
from outrider.runner.errors import TaskNotRunning, is_transient, os_reason
from outrider.runner.handle import (
    EXECUTOR_LOG,
    SPEC_FILE,
    STATUS_FILE,
    AttemptStatus,
    ProcessId,
    remove_quietly,
    write_json_atomic,
)
from outrider.runner.procwatch import Watched, read_to_eof
from outrider.runner.restart import RestartTracker
from outrider.runner.spec import LaunchSpec, TaskSpec, signal_number
from outrider.runner.store import RunnerStore
from outrider.state.retry import RetryingWriter

log = logging.getLogger("outrider.runner")

SUPERVISOR_MODULE = "outrider.runner.executor"
_READY_FD = 3

DROP_CHECK_INTERVAL = 1.0
"""Seconds between two looks, while a task runs, at the log bytes its supervisor dropped."""

DROP_EVENT_INTERVAL = 30.0
"""Seconds between two ``Logs Dropped`` events of one task (the metric counts every byte at once)."""

LOGS_DROPPED = "Logs Dropped"
"""Outrider's task event: log bytes were dropped because the alloc dir's file system was full."""

RUNNER_FAILED = "the agent's task runner failed; see the agent's log"

_DROPPED_BYTES = {
    log_type: REGISTRY.counter(
        "outrider.client.task_log_bytes_dropped",
        {"type": log_type},
        help="task log bytes dropped because the file system had no room for them",
    )
    for log_type in LOG_TYPES
}


def spawn_supervisor(state_dir: str) -> tuple[int, int]:
    """Start a supervisor for ``<state_dir>/spec.json`` in a new session; return its pid and the ready pipe.

    The supervisor writes a line to the pipe (its fd 3) once the task started or
    failed to, then closes it. Its own output goes to ``executor.log``.
    """
    ready_r, ready_w = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)
    null = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
    log = os.open(
        os.path.join(state_dir, EXECUTOR_LOG), os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600
    )
    try:
        os.set_blocking(ready_w, True)
        pid = os.posix_spawn(
            sys.executable,
            [sys.executable, "-m", SUPERVISOR_MODULE, state_dir, str(_READY_FD)],
            os.environ,
            file_actions=[
                (os.POSIX_SPAWN_DUP2, null, 0),
                (os.POSIX_SPAWN_DUP2, log, 1),
                (os.POSIX_SPAWN_DUP2, log, 2),
                (os.POSIX_SPAWN_DUP2, ready_w, _READY_FD),
            ],
            setsid=True,
        )
    except BaseException:
        os.close(ready_r)
        raise
    finally:
        for fd in (ready_w, null, log):
            os.close(fd)
    return pid, ready_r


class TaskRunner:
    """Drives one task through its attempts until it is dead for good."""

    def __init__(
        self,
        *,
        alloc_id: str,
        alloc_path: str,
        state_dir: str,
        context: AllocContext,
        job_type: str,
        spec: TaskSpec,
        store: RunnerStore,
        state: ts.TaskState,
        handle: dict[str, Any],
        on_change: Callable[[TaskRunner], None],
        cgroup: str | None = None,
        max_kill_timeout: int | None = None,
        writer: RetryingWriter | None = None,
    ) -> None:
        self.alloc_id = alloc_id
        self.alloc_path = alloc_path
        self.state_dir = state_dir
        self.context = context
        self.spec = spec
        # The job asks for a kill timeout; the client caps it (Nomad's max_kill_timeout, ns).
        self.kill_timeout = (
            spec.kill_timeout if max_kill_timeout is None else min(spec.kill_timeout, max_kill_timeout)
        )
        self.name = spec.name
        self.store = store
        self.writer = writer if writer is not None else RetryingWriter("runner")
        self.state = state
        self.cgroup = cgroup
        self._on_change = on_change
        self.attempt = int(handle.get("attempt", 0))
        # Whether the outcome of attempt ``attempt`` is recorded (trivially true before the first).
        self.exit_handled = bool(handle.get("exit_handled", True))
        self.restart_at: int | None = handle.get("restart_at")
        self.restart_requested = bool(handle.get("restart_requested", False))
        self.killing = bool(handle.get("killing", False))
        restart = handle.get("restart") or {}
        self.tracker = RestartTracker(
            spec.restart, job_type, int(restart.get("count", 0)), int(restart.get("window_start", 0))
        )
        self.status: AttemptStatus | None = AttemptStatus.load(state_dir) if self.attempt else None
        self.supervisor: Watched | None = None
        self.finished = asyncio.Event()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        # Dropped log bytes of the current attempt: counted in the metric, and told in an event.
        self._dropped_counted: dict[str, int] = {}
        self._dropped_told = 0
        self._dropped_told_at = 0.0
        if state.state == ts.DEAD:
            self.finished.set()

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        """Run (or resume) the task in the background."""
        if self._task is None and not self.finished.is_set():
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name=f"task {self.alloc_id}/{self.name}"
            )

    async def detach(self) -> None:
        """Stop following the task without touching it (the agent is stopping)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self.supervisor is not None:
            self.supervisor.close()
            self.supervisor = None

    def handle_json(self) -> dict[str, Any]:
        return {
            "attempt": self.attempt,
            "exit_handled": self.exit_handled,
            "restart_at": self.restart_at,
            "restart_requested": self.restart_requested,
            "killing": self.killing,
            "restart": self.tracker.to_record(),
        }

    def _persist(self) -> None:
        """Store the state and handle, now or (the database refusing) as soon as it takes them again."""
        try:
            self.writer.write(("task", self.alloc_id, self.name), self._save)
        finally:
            # The allocation follows the task's state in memory even when the write raised.
            self._on_change(self)

    def _save(self) -> None:
        self.store.save_task(self.alloc_id, self.name, self.state.to_record(), self.handle_json())

    def _event(self, event: dict[str, Any], state: str | None = None) -> None:
        self.state.append(event)
        if state is not None:
            self.state.set_state(state, int(event["Time"]))

    async def _run(self) -> None:
        try:
            await self._drive()
        except asyncio.CancelledError:
            raise
        except Exception:
            # Never end in silence: the task is failed, and what happened is in the log.
            log.exception("task runner failed", extra={"alloc_id": self.alloc_id, "task": self.name})
            self._fail_runner()
        finally:
            if self.state.state == ts.DEAD:
                self.finished.set()

    def _fail_runner(self) -> None:
        """The runner cannot go on: stop the attempt (it would run unobserved) and fail the task."""
        if self.supervisor is not None:
            self.supervisor.send(signal.SIGTERM)
            self.supervisor.close()
            self.supervisor = None
        elif (
            self.status is not None and self.status.supervisor is not None and self.status.supervisor.alive()
        ):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(self.status.supervisor.pid, signal.SIGTERM)
        self.exit_handled = True
        self.restart_at = None
        self._event(ts.new_event(ts.DRIVER_FAILURE, DriverError=RUNNER_FAILED))
        self._event(ts.new_event(ts.NOT_RESTARTING, RestartReason=RUNNER_FAILED, FailsTask=True), ts.DEAD)
        try:
            self._persist()
        except Exception:
            log.exception(
                "recording a failed task runner failed", extra={"alloc_id": self.alloc_id, "task": self.name}
            )

    async def _drive(self) -> None:
        while self.state.state != ts.DEAD:
            if self.attempt and not self.exit_handled:
                await self._follow()
            elif self.killing:
                self._event(ts.new_event(ts.KILLED), ts.DEAD)
                self._persist()
            elif self.restart_at is not None and not await self._sleep_until(self.restart_at):
                continue
            else:
                self.restart_at = None
                await self._launch()

    async def _sleep_until(self, when_ns: int) -> bool:
        """Sleep until ``when_ns``; False when woken early (a kill came)."""
        self._wake.clear()
        delay = (when_ns - time.time_ns()) / 1e9
        if delay > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)
        return not self._wake.is_set()

    # -- one attempt ----------------------------------------------------------------------------

    def _launch_spec(self) -> LaunchSpec:
        env, variables = task_env(self.context, self.name, self.spec.env)
        argv = [interpolate(a, variables) for a in (self.spec.command, *self.spec.args)]
        return LaunchSpec(
            attempt=self.attempt,
            task=self.name,
            argv=argv,
            cwd=os.path.join(self.alloc_path, self.name),
            env=env,
            log_dir=os.path.join(self.alloc_path, LOG_DIR),
            logs=self.spec.logs,
            kill_signal=signal_number(self.spec.kill_signal) or signal.SIGINT,
            kill_timeout=self.kill_timeout,
            cgroup=self.cgroup,
        )

    async def _launch(self) -> None:
        if self.attempt == 0:
            self._event(ts.new_event(ts.TASK_SETUP, Message=ts.BUILDING_TASK_DIR))
        self.attempt += 1
        self.exit_handled = False
        self.status = None
        self._dropped_counted, self._dropped_told, self._dropped_told_at = {}, 0, 0.0
        # Failures name the error, not the exception: its file names are host paths.
        try:
            os.makedirs(self.state_dir, mode=0o700, exist_ok=True)
            remove_quietly(os.path.join(self.state_dir, STATUS_FILE))
            write_json_atomic(os.path.join(self.state_dir, SPEC_FILE), self._launch_spec().to_json())
        except OSError as exc:
            self._start_failed(f"failed to prepare the task's start: {os_reason(exc)}", is_transient(exc))
            return
        # The handle names the attempt before its supervisor exists, so a restarted agent
        # never mistakes the previous attempt's status for this one's.
        self._persist()
        try:
            pid, ready = spawn_supervisor(self.state_dir)
        except OSError as exc:
            self._start_failed(f"failed to start the task's supervisor: {os_reason(exc)}", is_transient(exc))
            return
        self.supervisor = Watched(ProcessId.of(pid) or ProcessId(pid, 0))
        if self.killing:
            self.supervisor.send(signal.SIGTERM)
        try:
            await read_to_eof(ready)
        finally:
            os.close(ready)
        self._note_started()

    def _note_started(self) -> None:
        """Record ``Started`` once the supervisor reports a running task (at most once per attempt)."""
        status = AttemptStatus.load(self.state_dir)
        if status is None or status.attempt != self.attempt:
            return
        self.status = status
        if status.task is not None and self.state.state != ts.RUNNING:
            self._event(ts.new_event(ts.STARTED, now_ns=status.started_at), ts.RUNNING)
            self._persist()

    async def _follow(self) -> None:
        """Wait for the current attempt to end and record how it ended."""
        if self.supervisor is None:
            status = AttemptStatus.load(self.state_dir)
            if status is not None and status.attempt == self.attempt and status.supervisor is not None:
                self.supervisor = Watched(status.supervisor)
                if self.killing or self.restart_requested:
                    self.supervisor.send(signal.SIGTERM)
        if self.supervisor is not None:
            self._note_started()
            await self._wait_for_exit(self.supervisor)
            self.supervisor.close()
            self.supervisor = None
        status = AttemptStatus.load(self.state_dir)
        if status is not None and status.attempt == self.attempt:
            self._note_dropped(status, final=True)
        if status is None or status.attempt != self.attempt:
            self._ended(None, "the task's supervisor exited before it started the task")
        elif status.start_error:
            self.status = status
            self._start_failed(status.start_error, status.start_error_transient)
        elif not status.exited:
            self.status = status
            self._kill_orphan(status)
            self._ended(status, "the task's supervisor exited without recording the task's exit")
        else:
            self.status = status
            if self.state.state != ts.RUNNING and status.task is not None:
                self._event(ts.new_event(ts.STARTED, now_ns=status.started_at), ts.RUNNING)
            self._ended(status, None)

    async def _wait_for_exit(self, supervisor: Watched) -> None:
        """Wait for the attempt's supervisor to exit, passing on the log bytes it drops meanwhile."""
        waiter = asyncio.ensure_future(supervisor.wait())
        try:
            while not waiter.done():
                await asyncio.wait({waiter}, timeout=DROP_CHECK_INTERVAL)
                status = AttemptStatus.load(self.state_dir)
                if status is not None and status.attempt == self.attempt:
                    self._note_dropped(status, final=False)
            waiter.result()
        finally:
            if not waiter.done():
                waiter.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await waiter

    def _note_dropped(self, status: AttemptStatus, final: bool) -> None:
        """Count newly dropped log bytes in the metric; tell them in a ``Logs Dropped`` event, rate-limited.

        The event comes at once for the first drop, then at most every :data:`DROP_EVENT_INTERVAL`
        while bytes keep being dropped, and once more at the attempt's end for any not yet told.
        """
        for log_type, total in status.log_bytes_dropped.items():
            counter = _DROPPED_BYTES.get(log_type)
            new = total - self._dropped_counted.get(log_type, 0)
            if counter is not None and new > 0:
                counter.inc(new)
                self._dropped_counted[log_type] = total
        total = sum(status.log_bytes_dropped.values())
        untold = total - self._dropped_told
        now = time.monotonic()
        if untold <= 0 or (
            not final and self._dropped_told and now - self._dropped_told_at < DROP_EVENT_INTERVAL
        ):
            return
        self._dropped_told, self._dropped_told_at = total, now
        message = (
            f"{untold} bytes of log output dropped: no room left on the allocation's file system "
            f"({total} bytes in this attempt)"
        )
        event = ts.new_event(LOGS_DROPPED, Message=message)
        event["Details"]["bytes_dropped"] = str(untold)
        self._event(event)
        self._persist()

    def _kill_orphan(self, status: AttemptStatus) -> None:
        """A supervisor died hard; its task must not outlive it unobserved."""
        if status.task is not None and status.task.alive():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(status.task.pid, signal.SIGKILL)
        if status.cgroup:
            cgroup.kill_all(status.cgroup)
            cgroup.remove(status.cgroup)

    def _start_failed(self, error: str, transient: bool = False) -> None:
        self.exit_handled = True
        self._event(ts.new_event(ts.DRIVER_FAILURE, DriverError=error))
        decision = self.tracker.after_start_error(recoverable=transient)
        self._decide(decision.action, decision.delay, decision.reason)

    def _ended(self, status: AttemptStatus | None, error: str | None) -> None:
        self.exit_handled = True
        now = time.time_ns()
        if status is not None and status.exited:
            code, sig, when = status.exit_code, status.signal, status.finished_at or now
        else:
            code, sig, when = -1, 0, now
        event = ts.new_event(ts.TERMINATED, now_ns=when, ExitCode=code, Signal=sig, Message=error or "")
        self._event(event)
        if self.killing:
            self._event(ts.new_event(ts.KILLED), ts.DEAD)
            self._persist()
            return
        if self.restart_requested:
            # A user-requested restart neither counts against the policy nor waits (Nomad's restartTriggered).
            self.restart_requested = False
            self._decide(ts.RESTARTING, 0, "")
            return
        decision = self.tracker.after_exit(successful=(code == 0 and sig == 0 and error is None))
        self._decide(decision.action, decision.delay, decision.reason)

    def _decide(self, action: str, delay: int, reason: str) -> None:
        if action == ts.RESTARTING:
            self._event(ts.new_event(ts.RESTARTING, RestartReason=reason, StartDelay=delay), ts.PENDING)
            self.restart_at = time.time_ns() + delay
        elif action == ts.NOT_RESTARTING:
            self._event(ts.new_event(ts.NOT_RESTARTING, RestartReason=reason, FailsTask=True), ts.DEAD)
        else:
            self.state.set_state(ts.DEAD)
        self._persist()

    # -- requests ---------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.attempt > 0 and not self.exit_handled and self.state.state == ts.RUNNING

    def kill(self, event: dict[str, Any] | None = None) -> None:
        """Stop the task for good: its kill signal, then SIGKILL after its kill timeout."""
        if self.state.state == ts.DEAD or self.killing:
            return
        self.killing = True
        self._event(event or ts.new_event(ts.KILLING, KillTimeout=self.kill_timeout))
        self._persist()
        if self.supervisor is not None:
            self.supervisor.send(signal.SIGTERM)
        self._wake.set()
        self.start()

    def restart(self, event: dict[str, Any]) -> None:
        """Stop the running attempt and start the next one at once (``Restart Signaled``)."""
        if not self.running or self.killing:
            raise TaskNotRunning()
        self.restart_requested = True
        self._event(event)
        self._persist()
        if self.supervisor is not None:
            self.supervisor.send(signal.SIGTERM)

    def signal(self, name: str, number: int) -> None:
        """Send a signal to the task's main process (``Signaling``)."""
        task = self.status.task if self.status is not None else None
        if not self.running or task is None:
            raise TaskNotRunning()
        self._event(ts.new_event(ts.SIGNALING, TaskSignal=name))
        self._persist()
        target = Watched(task)
        try:
            if not target.send(number):
                raise TaskNotRunning()
        finally:
            target.close()

    # -- what others read -----------------------------------------------------------------------

    def root_pid(self) -> int | None:
        """The task's main process, while it runs."""
        if not self.running or self.status is None or self.status.task is None:
            return None
        return self.status.task.pid if self.status.task.alive() else None

    def cgroup_dir(self) -> str | None:
        """The task's cgroup v2 directory, while the task runs in one."""
        if self.root_pid() is None or self.status is None:
            return None
        return self.status.cgroup
