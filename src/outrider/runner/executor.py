"""The supervisor of one task attempt: ``python -m outrider.runner.executor <state_dir> [<ready_fd>]``.

It plays the parts of Nomad's executor and logmon: it starts the task in its own
process group, captures its stdout and stderr into rotated files, stops it on
request (SIGTERM to the supervisor: the task's kill signal, then SIGKILL after
its kill timeout) and records the outcome in ``status.json``. The agent starts
it in a session of its own, so it lives on when the agent dies or restarts.

The final status is written only after both streams are drained and closed, so
"the task is dead" always means "its output is on disk".
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Callable

from outrider.fs.logfiles import LOG_TYPES
from outrider.fs.logtimes import TIMES_DIR
from outrider.runner import cgroup
from outrider.runner.errors import is_transient, os_reason
from outrider.runner.handle import SPEC_FILE, AttemptStatus, ProcessId, read_json
from outrider.runner.logmon import RotatingLog
from outrider.runner.spec import LaunchSpec

PIPE_SIZE = 1024 * 1024
"""Requested pipe capacity: a fast writer fills a bigger buffer before it waits for the capture."""

DRAIN_TIMEOUT = 2.0
"""Seconds to wait for the pipes to close after the task exited (Nomad's logmon waits 2 s too)."""

DROP_REPORT_INTERVAL = 1.0
"""Seconds between two saves of ``status.json`` that report more dropped log bytes."""

_BURST = 8  # reads per stream per wake-up, so one busy stream cannot starve the other


class Supervisor:
    """Runs one attempt of a task to its end; see the module docstring."""

    def __init__(self, spec: LaunchSpec, state_dir: str, ready_fd: int | None = None) -> None:
        self.spec = spec
        self.state_dir = state_dir
        self.ready_fd = ready_fd
        self.status = AttemptStatus(spec.attempt, ProcessId.of(os.getpid()))
        self._kill_requested = False
        self._drop_reported_at = 0.0

    def run(self) -> int:
        wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        signal.set_wakeup_fd(wake_w)
        signal.signal(signal.SIGTERM, self._on_sigterm)
        for sig in (signal.SIGINT, signal.SIGHUP):
            # A handler, not SIG_IGN: ignored signals stay ignored across exec, and the
            # task must receive its kill signal (SIGINT by default).
            signal.signal(sig, _ignore)
        self.status.save(self.state_dir)
        streams: dict[int, RotatingLog] = {}
        try:
            proc = self._start(streams)
            if proc is None:
                return 1
            self._supervise(proc, streams, wake_r)
        finally:
            for fd, log in streams.items():
                os.close(fd)
                log.close()
            signal.set_wakeup_fd(-1)
            os.close(wake_r)
            os.close(wake_w)
        self._note_dropped(streams)
        self.status.save(self.state_dir)
        return 0

    def _note_dropped(self, streams: dict[int, RotatingLog]) -> bool:
        """Copy the logs' dropped-byte counts into the status; True when they grew."""
        dropped = {log.log_type: log.dropped for log in streams.values() if log.dropped}
        if dropped == self.status.log_bytes_dropped:
            return False
        self.status.log_bytes_dropped = dropped
        return True

    def _report_dropped(self, streams: dict[int, RotatingLog]) -> None:
        """Tell the agent, at most once per :data:`DROP_REPORT_INTERVAL`, that log bytes were dropped.

        Best effort: the state dir may be on the full file system too; the next report
        (or the final status) carries the count.
        """
        now = time.monotonic()
        if now - self._drop_reported_at < DROP_REPORT_INTERVAL or not self._note_dropped(streams):
            return
        self._drop_reported_at = now
        with contextlib.suppress(OSError):
            self.status.save(self.state_dir)

    def _on_sigterm(self, signum: int, frame: object) -> None:
        self._kill_requested = True

    def _start(self, streams: dict[int, RotatingLog]) -> subprocess.Popen[bytes] | None:
        spec = self.spec
        writers: list[int] = []
        outputs: list[int | None] = [subprocess.DEVNULL, subprocess.DEVNULL]
        if not spec.logs.disabled:
            try:
                for i, log_type in enumerate(LOG_TYPES):
                    log = RotatingLog(
                        spec.log_dir,
                        spec.task,
                        log_type,
                        spec.logs.max_files,
                        spec.logs.max_file_size,
                        times_dir=os.path.join(self.state_dir, TIMES_DIR),
                    )
                    streams[_capture_pipe(writers)] = log
                    outputs[i] = writers[-1]
            except OSError as exc:
                for w in writers:
                    os.close(w)
                self._fail(f"failed to set up log capture in alloc/logs: {os_reason(exc)}", is_transient(exc))
                return None
        group = spec.cgroup if spec.cgroup and cgroup.create(spec.cgroup) else None
        preexec: Callable[[], None] | None = None
        if group is not None:

            def preexec() -> None:
                # Join before exec so every process the task ever forks is inside.
                with contextlib.suppress(OSError):
                    cgroup.join_self(group)

        try:
            proc = subprocess.Popen(
                spec.argv,
                cwd=spec.cwd,
                env=spec.env,
                stdin=subprocess.DEVNULL,
                stdout=outputs[0],
                stderr=outputs[1],
                process_group=0,
                close_fds=True,
                preexec_fn=preexec,
            )
        except OSError as exc:
            self._fail(_launch_error(spec.argv[0], exc), is_transient(exc))
            if group is not None:
                cgroup.remove(group)
            return None
        finally:
            for w in writers:
                os.close(w)
        self.status.task = ProcessId.of(proc.pid) or ProcessId(proc.pid, 0)
        self.status.started_at = time.time_ns()
        if group is not None and cgroup.member_of(proc.pid, group):
            self.status.cgroup = group
        # The task runs now: a state dir without room must not end its supervision (the
        # final status carries everything again).
        with contextlib.suppress(OSError):
            self.status.save(self.state_dir)
        self._report()
        return proc

    def _fail(self, error: str, transient: bool = False) -> None:
        self.status.start_error = error
        self.status.start_error_transient = transient
        self.status.finished_at = time.time_ns()
        self.status.save(self.state_dir)
        self._report()

    def _report(self) -> None:
        """Tell the agent (when it is listening) that the attempt started or failed to."""
        if self.ready_fd is None:
            return
        with contextlib.suppress(OSError):
            os.write(self.ready_fd, b"ready\n")
        with contextlib.suppress(OSError):
            os.close(self.ready_fd)
        self.ready_fd = None

    def _supervise(self, proc: subprocess.Popen[bytes], streams: dict[int, RotatingLog], wake_r: int) -> None:
        pidfd = os.pidfd_open(proc.pid)
        sel = selectors.DefaultSelector()
        sel.register(wake_r, selectors.EVENT_READ)
        sel.register(pidfd, selectors.EVENT_READ)
        for fd in streams:
            sel.register(fd, selectors.EVENT_READ)
        open_streams = set(streams)
        kill_at: float | None = None
        drain_until: float | None = None
        signalled = False
        try:
            while open_streams or drain_until is None:
                now = time.monotonic()
                if self._kill_requested and not signalled and drain_until is None:
                    signalled = True
                    self._signal_group(proc.pid, self.spec.kill_signal)
                    kill_at = now + self.spec.kill_timeout / 1e9
                if kill_at is not None and now >= kill_at and drain_until is None:
                    self._signal_group(proc.pid, signal.SIGKILL)
                    kill_at = None
                if drain_until is not None and now >= drain_until:
                    break
                deadline = drain_until if drain_until is not None else kill_at
                timeout = None if deadline is None else max(0.0, deadline - now)
                for key, _ in sel.select(timeout):
                    fd = int(key.fd)
                    if fd == wake_r:
                        with contextlib.suppress(BlockingIOError):
                            os.read(wake_r, 4096)
                    elif fd == pidfd:
                        sel.unregister(pidfd)
                        self._reap(proc)
                        drain_until = time.monotonic() + DRAIN_TIMEOUT
                    else:
                        log = streams[fd]
                        if not _pump(log, fd):
                            sel.unregister(fd)
                            open_streams.discard(fd)
                        if log.dropped:
                            self._report_dropped(streams)
        finally:
            sel.close()
            os.close(pidfd)

    def _signal_group(self, pid: int, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, sig)

    def _reap(self, proc: subprocess.Popen[bytes]) -> None:
        # The task's leader exited but is not reaped yet, so its pid (the group id) cannot be
        # reused: kill what is left of the task before letting it go. Nomad does the same
        # when it destroys the task's cgroup.
        self._signal_group(proc.pid, signal.SIGKILL)
        if self.status.cgroup is not None:
            cgroup.kill_all(self.status.cgroup)
        code = proc.wait()
        self.status.exited = True
        self.status.finished_at = time.time_ns()
        if code < 0:
            # A signalled exit is 128 + signal, as the shell and Nomad's executor report it.
            self.status.signal = -code
            self.status.exit_code = 128 - code
        else:
            self.status.exit_code = code
        if self.status.cgroup is not None:
            cgroup.remove(self.status.cgroup)


def _capture_pipe(writers: list[int]) -> int:
    """A pipe for one output stream: append its write end to ``writers``, return its non-blocking read end."""
    r, w = os.pipe2(os.O_CLOEXEC)
    writers.append(w)
    with contextlib.suppress(OSError):
        fcntl.fcntl(w, fcntl.F_SETPIPE_SZ, PIPE_SIZE)
    os.set_blocking(r, False)
    return r


def _ignore(signum: int, frame: object) -> None:
    pass


def _pump(log: RotatingLog, fd: int) -> bool:
    """Drain some of one stream into its log; False once the stream is at its end."""
    for _ in range(_BURST):
        try:
            if not log.pump(fd):
                return False
        except BlockingIOError:
            return True
    return True


def _launch_error(command: str, exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError) and "/" not in command:
        reason = "executable file not found in $PATH"
    else:
        reason = os_reason(exc).lower()
    return f'failed to launch command with executor: exec: "{command}": {reason}'


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args:
        print("usage: python -m outrider.runner.executor <state_dir> [<ready_fd>]", file=sys.stderr)
        return 2
    state_dir = args[0]
    data = read_json(os.path.join(state_dir, SPEC_FILE))
    if data is None:
        print(f"no readable {SPEC_FILE} in {state_dir}", file=sys.stderr)
        return 2
    ready_fd = int(args[1]) if len(args) > 1 else None
    return Supervisor(LaunchSpec.from_json(data), state_dir, ready_fd).run()


if __name__ == "__main__":
    sys.exit(main())
