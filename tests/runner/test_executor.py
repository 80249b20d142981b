"""The supervisor process on its own: capture, exit reporting, stopping, clean-up."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from outrider.runner import cgroup
from outrider.runner.handle import SPEC_FILE, AttemptStatus, start_ticks, write_json_atomic
from outrider.runner.spec import LaunchSpec, LogConfig
from tests.runner.support import log_indexes, wait_for

TIMEOUT = 30


@dataclass
class Run:
    state_dir: Path
    log_dir: Path
    task_dir: Path

    def spec(self, argv: list[str], attempt: int = 1, **kw: object) -> LaunchSpec:
        fields: dict[str, object] = {
            "attempt": attempt,
            "task": "web",
            "argv": argv,
            "cwd": str(self.task_dir),
            "env": {"PATH": os.environ["PATH"], "MARK": "m1"},
            "log_dir": str(self.log_dir),
            "logs": LogConfig(10, 1024 * 1024, False),
            "kill_signal": int(signal.SIGINT),
            "kill_timeout": 5_000_000_000,
        }
        fields.update(kw)
        return LaunchSpec(**fields)  # type: ignore[arg-type]

    def start(self, spec: LaunchSpec) -> subprocess.Popen[bytes]:
        write_json_atomic(str(self.state_dir / SPEC_FILE), spec.to_json())
        return subprocess.Popen([sys.executable, "-m", "outrider.runner.executor", str(self.state_dir)])

    def run(self, spec: LaunchSpec) -> AttemptStatus:
        proc = self.start(spec)
        assert proc.wait(TIMEOUT) in (0, 1)
        status = AttemptStatus.load(str(self.state_dir))
        assert status is not None
        return status

    def status(self) -> AttemptStatus | None:
        return AttemptStatus.load(str(self.state_dir))

    def output(self, kind: str = "stdout") -> bytes:
        return b"".join(
            (self.log_dir / f"web.{kind}.{i}").read_bytes() for i in log_indexes(self.log_dir, "web", kind)
        )


@pytest.fixture
def run(tmp_path: Path) -> Iterator[Run]:
    r = Run(tmp_path / "state", tmp_path / "logs", tmp_path / "task")
    for d in (r.state_dir, r.log_dir, r.task_dir):
        d.mkdir()
    yield r
    status = r.status()
    if status is not None and status.task is not None and status.task.alive():
        os.killpg(status.task.pid, signal.SIGKILL)


def py(code: str) -> list[str]:
    return [sys.executable, "-c", textwrap.dedent(code)]


def test_fast_writer_tiny_rotation_exact_bytes(run: Run) -> None:
    count = 150_000
    spec = run.spec(
        py(f"""
            import sys
            w = sys.stdout.write
            for i in range({count}):
                w(f"{{i:07d}} " + "z" * (i % 61) + "\\n")
            sys.stderr.write("done\\n")
        """),
        logs=LogConfig(1000, 64 * 1024, False),
    )
    status = run.run(spec)
    expected = b"".join(b"%07d " % i + b"z" * (i % 61) + b"\n" for i in range(count))
    assert (status.exited, status.exit_code, status.signal) == (True, 0, 0)
    assert hashlib.sha256(run.output()).hexdigest() == hashlib.sha256(expected).hexdigest()
    names = [n for n in os.listdir(run.log_dir) if n.startswith("web.stdout.")]
    assert len(names) > 50
    for name in names:
        data = (run.log_dir / name).read_bytes()
        assert len(data) <= 64 * 1024 and data.endswith(b"\n")
    assert run.output("stderr") == b"done\n"


def test_purge_keeps_max_files(run: Run) -> None:
    spec = run.spec(
        py("""
            import sys
            for i in range(20000):
                print(f"{i:06d}")
        """),
        logs=LogConfig(3, 8 * 1024, False),
    )
    run.run(spec)
    indexes = log_indexes(run.log_dir, "web", "stdout")
    assert len(indexes) == 3
    expected = "".join(f"{i:06d}\n" for i in range(20000)).encode()
    assert expected.endswith(run.output())


def test_environment_directory_and_exit_code(run: Run) -> None:
    status = run.run(run.spec(["/bin/sh", "-c", 'echo "$MARK $(pwd)"; exit 3']))
    assert (status.exit_code, status.signal) == (3, 0)
    assert run.output() == f"m1 {run.task_dir}\n".encode()
    assert status.started_at <= status.finished_at


def test_signalled_exit_is_128_plus_signal(run: Run) -> None:
    status = run.run(run.spec(["/bin/sh", "-c", "kill -TERM $$"]))
    assert (status.exit_code, status.signal) == (128 + signal.SIGTERM, signal.SIGTERM)


def test_start_error_is_reported(run: Run) -> None:
    status = run.run(run.spec(["no-such-command-xyz"]))
    assert status.task is None and not status.exited
    assert status.start_error == (
        'failed to launch command with executor: exec: "no-such-command-xyz": executable file not found in $PATH'
    )


def test_missing_log_dir_is_a_start_error(run: Run) -> None:
    run.log_dir.rmdir()
    status = run.run(run.spec(["/bin/true"]))
    assert status.task is None
    # A task event's text is an API answer: it names the alloc-relative directory, never the host path.
    assert status.start_error == "failed to set up log capture in alloc/logs: No such file or directory"
    assert str(run.log_dir) not in status.start_error


def test_stop_sends_kill_signal_first(run: Run) -> None:
    spec = run.spec(
        py("""
            import signal, sys, time
            def bye(*_):
                print("bye", flush=True)
                sys.exit(0)
            signal.signal(signal.SIGINT, bye)
            print("up", flush=True)
            time.sleep(60)
        """)
    )
    proc = run.start(spec)
    wait_for(lambda: run.output() == b"up\n", what="the task to start")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(TIMEOUT) == 0
    status = run.status()
    assert status is not None and (status.exit_code, status.signal) == (0, 0)
    assert run.output() == b"up\nbye\n"


def test_kill_signal_reaches_a_plain_shell(run: Run) -> None:
    proc = run.start(run.spec(["/bin/sh", "-c", "echo up; sleep 60"]))
    wait_for(lambda: run.output() == b"up\n", what="the task to start")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(TIMEOUT) == 0
    status = run.status()
    assert status is not None and status.signal == signal.SIGINT


def test_stop_escalates_to_sigkill_after_kill_timeout(run: Run) -> None:
    spec = run.spec(
        ["/bin/sh", "-c", "trap '' INT; echo up; while :; do sleep 0.05; done"], kill_timeout=200_000_000
    )
    proc = run.start(spec)
    wait_for(lambda: run.output() == b"up\n", what="the task to start")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(TIMEOUT) == 0
    status = run.status()
    assert status is not None and status.signal == signal.SIGKILL


def test_leftover_processes_of_the_task_are_killed(run: Run) -> None:
    pidfile = run.task_dir / "child.pid"
    status = run.run(run.spec(["/bin/sh", "-c", f"sleep 300 & echo $! > {pidfile}; exit 0"]))
    assert status.exit_code == 0
    child = int(pidfile.read_text())
    wait_for(lambda: start_ticks(child) is None, what="the background child to die")


def test_disabled_logs_write_no_files(run: Run) -> None:
    run.run(run.spec(["/bin/sh", "-c", "echo hidden"], logs=LogConfig(10, 1024, True)))
    assert os.listdir(run.log_dir) == []


def test_next_attempt_appends_to_newest_file(run: Run) -> None:
    run.run(run.spec(["/bin/sh", "-c", "echo one"], attempt=1))
    status = run.run(run.spec(["/bin/sh", "-c", "echo two"], attempt=2))
    assert status.attempt == 2
    assert os.listdir(run.log_dir).count("web.stdout.0") == 1
    assert run.output() == b"one\ntwo\n"


@pytest.mark.skipif(os.geteuid() != 0, reason="needs permission to create cgroups")
def test_task_runs_in_its_cgroup(run: Run, tmp_path: Path) -> None:
    path = cgroup.task_cgroup_path(tmp_path.name, "web")
    if path is None:
        pytest.skip("this host has no writable cgroup v2 hierarchy")
    proc = run.start(run.spec(["/bin/sh", "-c", "echo up; sleep 60"], cgroup=path))
    try:
        wait_for(lambda: (s := run.status()) is not None and s.task is not None, what="the task to start")
        status = run.status()
        assert status is not None and status.task is not None
        assert status.cgroup == path
        assert cgroup.member_of(status.task.pid, path)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(TIMEOUT)
    assert not os.path.exists(path)
