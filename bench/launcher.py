"""Start and stop real ``outrider agent`` processes: the one launcher of the benchmark and the tests.

The benchmark (``bench/agent.py``) and the test suite's fixtures (``tests/conftest.py``)
both start agents through :func:`start_agent`, so how an agent is launched (its command
line, its environment, the ready line it prints, how it is stopped) is written once.
It lives in ``bench/`` because the benchmark must run without the test suite while the
tests already import the benchmark (they run its smoke pass), and not in ``src/``
because the product ships no harness. It needs the standard library and psutil (a
dependency of the product) only, so each side adds what it needs by subclassing
:class:`LaunchedAgent`.

An agent's output (stdout and stderr) goes to a log file rather than a pipe: nothing
has to keep reading it, the ready line is found by polling the file, and the whole
output is still there after the process exited.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import psutil

READY = re.compile(r"HTTP API at (http://[^\s]+)")
"""The agent's ready line (``cli/main.py``): ``==> Outrider agent started! HTTP API at <url>``."""
START_TIMEOUT = 30.0
STOP_TIMEOUT = 20.0


class StartError(RuntimeError):
    """A server process did not print its ready line in time."""


def wait_ready(proc: subprocess.Popen[bytes], log: Path, pattern: re.Pattern[str], timeout: float) -> str:
    """Poll ``log`` (the process's output file) for ``pattern``; return its first group.

    A process that exits first, or stays silent past ``timeout`` (it is killed then),
    is a :class:`StartError` carrying the end of its output.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace") if log.exists() else ""
        match = pattern.search(text)
        if match:
            return match.group(1)
        if proc.poll() is not None:
            raise StartError(f"exited with {proc.returncode}:\n{text[-2000:]}")
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    raise StartError(f"not ready after {timeout:.0f}s:\n{log.read_text(errors='replace')[-2000:]}")


def stop_process(
    proc: subprocess.Popen[bytes], timeout: float = STOP_TIMEOUT, sig: int = signal.SIGTERM
) -> int:
    """Send ``sig`` (SIGTERM), then SIGKILL after ``timeout``; return the exit code."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


@dataclass
class LaunchedAgent:
    """A running ``outrider agent`` process and what the launcher knows about it."""

    proc: subprocess.Popen[bytes]
    url: str
    data_dir: Path
    alloc_dir: Path
    log: Path
    """The agent's stdout and stderr."""

    @property
    def output(self) -> list[str]:
        """The agent's output so far, one line an item (line ends kept)."""
        return self.log.read_text(errors="replace").splitlines(keepends=True)

    @property
    def host_port(self) -> tuple[str, int]:
        host, port = self.url.removeprefix("http://").rsplit(":", 1)
        return host, int(port)

    def open_fds(self) -> int:
        return len(os.listdir(f"/proc/{self.proc.pid}/fd"))

    def settled_fds(self, at_most: int, timeout: float = 3.0) -> int:
        """The agent's descriptor count once closed connections are reaped (bounded wait)."""
        deadline = time.monotonic() + timeout
        count = self.open_fds()
        while count > at_most and time.monotonic() < deadline:
            time.sleep(0.02)
            count = self.open_fds()
        return count

    def fd_limit(self) -> int:
        """The agent's soft descriptor limit (it raises its own to the hard limit at start)."""
        soft, _ = psutil.Process(self.proc.pid).rlimit(psutil.RLIMIT_NOFILE)
        return int(soft)

    def rss(self) -> int:
        return int(psutil.Process(self.proc.pid).memory_info().rss)

    def cpu_seconds(self) -> float:
        times = psutil.Process(self.proc.pid).cpu_times()
        return float(times.user + times.system)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = STOP_TIMEOUT) -> int:
        """Stop the agent with ``sig`` (SIGKILL after ``timeout``); return its exit code."""
        return stop_process(self.proc, timeout, sig)


A = TypeVar("A", bound=LaunchedAgent)


def agent_command(data_dir: Path, *args: str, dev: bool = True) -> list[str]:
    """``outrider agent`` on a free port, with ``data_dir`` and ``args`` added: in dev mode (loopback), or
    bound to 127.0.0.1 without it."""
    return [
        sys.executable,
        "-m",
        "outrider",
        "agent",
        *(["--dev"] if dev else ["--bind", "127.0.0.1"]),
        "--http-port",
        "0",
        "--data-dir",
        str(data_dir),
        *args,
    ]


def agent_env(overrides: Mapping[str, str | None] | None) -> dict[str, str]:
    """This process's environment with ``overrides`` applied (None removes a variable)."""
    env = dict(os.environ)
    for name, value in (overrides or {}).items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    env["PYTHONUNBUFFERED"] = "1"
    return env


def start_agent(
    data_dir: Path,
    *args: str,
    env: Mapping[str, str | None] | None = None,
    make: Callable[..., A],
    timeout: float = START_TIMEOUT,
    dev: bool = True,
) -> A:
    """Start an agent on ``data_dir`` and wait (bounded) for its ready line.

    ``args`` are further ``outrider agent`` flags; ``env`` changes the inherited
    environment (so ``PYTHONPATH`` and ``OUTRIDER_PURE`` pass through unless changed).
    ``make`` builds the returned object from the launcher's fields (``proc``, ``url``,
    ``data_dir``, ``alloc_dir``, ``log``): the caller's subclass of :class:`LaunchedAgent`.
    The output goes to a new ``<data_dir name>-*.log`` beside ``data_dir``.
    """
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f"{data_dir.name}-", suffix=".log", dir=data_dir.parent)
    log = Path(name)
    with open(fd, "wb") as out:
        proc = subprocess.Popen(
            agent_command(data_dir, *args, dev=dev), stdout=out, stderr=subprocess.STDOUT, env=agent_env(env)
        )
    url = wait_ready(proc, log, READY, timeout)
    alloc_dir = Path(args[args.index("--alloc-dir") + 1]) if "--alloc-dir" in args else data_dir / "alloc"
    return make(proc=proc, url=url, data_dir=data_dir, alloc_dir=alloc_dir, log=log)
