"""Shared fixtures: a real agent process on a loopback port, allocation directories, leak checks."""

from __future__ import annotations

import contextlib
import os
import re
import selectors
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from outrider.fs.allocdir import build_alloc_dir

READY = re.compile(r"HTTP API at (http://\S+)")
START_TIMEOUT = 30.0

# ``pytest --server NAME`` serves every test agent that does not pick its own with NAME.
_server: str | None = None


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--server",
        choices=("hypercorn", "uvicorn", "granian"),
        default=None,
        help="HTTP server of the test agents (default: the agent's own, hypercorn)",
    )


def pytest_configure(config: pytest.Config) -> None:
    global _server
    _server = config.getoption("--server")


@dataclass
class AgentProcess:
    """A running ``outrider agent`` subprocess."""

    proc: subprocess.Popen[str]
    url: str
    data_dir: Path
    alloc_dir: Path
    output: list[str] = field(default_factory=list)
    reader: threading.Thread | None = None

    def drain_output(self) -> None:
        """Keep reading the agent's output so a chatty agent never blocks on a full pipe."""
        stream = self.proc.stdout
        assert stream is not None

        def pump() -> None:
            with stream:
                for line in stream:
                    self.output.append(line)

        self.reader = threading.Thread(target=pump, name="agent-output", daemon=True)
        self.reader.start()

    def client(self, **kwargs: object) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=10.0, **kwargs)  # type: ignore[arg-type]

    def open_fds(self) -> int:
        return len(os.listdir(f"/proc/{self.proc.pid}/fd"))

    def settled_fds(self, at_most: int, timeout: float = 3.0) -> int:
        """The agent's fd count once closed connections are reaped (bounded wait)."""
        deadline = time.monotonic() + timeout
        count = self.open_fds()
        while count > at_most and time.monotonic() < deadline:
            time.sleep(0.02)
            count = self.open_fds()
        return count

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.reader is not None:
            self.reader.join(5)
        return self.proc.returncode


def start_agent(data_dir: Path, *extra: str, env: dict[str, str] | None = None) -> AgentProcess:
    """Start an agent on a free loopback port and wait (bounded) for its ready line."""
    cmd = [
        sys.executable,
        "-m",
        "outrider",
        "agent",
        "--dev",
        "--http-port",
        "0",
        "--data-dir",
        str(data_dir),
        *extra,
    ]
    if _server is not None and "--server" not in extra:
        cmd += ["--server", _server]
    full_env = {**os.environ, **(env or {}), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=full_env)
    assert proc.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + START_TIMEOUT
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if not sel.select(timeout=max(0.0, deadline - time.monotonic())):
                continue
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            match = READY.search(line)
            if match:
                alloc_dir = data_dir / "alloc"
                for i, arg in enumerate(extra):
                    if arg == "--alloc-dir":
                        alloc_dir = Path(extra[i + 1])
                agent = AgentProcess(proc, match.group(1), data_dir, alloc_dir, lines)
                agent.drain_output()
                return agent
    proc.kill()
    proc.wait()
    raise RuntimeError("agent did not become ready:\n" + "".join(lines))


@pytest.fixture(scope="module")
def agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AgentProcess]:
    """One agent per test module; tests make their own allocation directories in it.

    Tasks outlive the agent by design, so whatever a module's jobs left running is
    killed when the module ends.
    """
    from tests.runner.support import kill_leftovers

    proc = start_agent(tmp_path_factory.mktemp("agent"))
    try:
        yield proc
    finally:
        code = proc.stop()
        kill_leftovers(proc.data_dir)
        assert code == 0, "agent did not stop cleanly:\n" + "".join(proc.output)


@pytest.fixture(scope="module")
def http(agent: AgentProcess) -> Iterator[httpx.Client]:
    """A keep-alive client of the module's agent."""
    with agent.client() as client:
        yield client


@dataclass
class AllocFixture:
    id: str
    path: Path

    def write(self, rel: str, data: bytes | str) -> Path:
        target = self.path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, str):
            data = data.encode()
        target.write_bytes(data)
        return target


def make_external_alloc(alloc_dir: Path, tasks: tuple[str, ...] = ("web",)) -> AllocFixture:
    """An allocation directory in Nomad's layout that the agent serves as an external allocation."""
    alloc_id = str(uuid.uuid4())
    path = Path(build_alloc_dir(str(alloc_dir), alloc_id, list(tasks)))
    return AllocFixture(alloc_id, path)


@pytest.fixture
def alloc(agent: AgentProcess) -> AllocFixture:
    return make_external_alloc(agent.alloc_dir)


@pytest.fixture
def no_fd_leak() -> Iterator[None]:
    """Fail an in-process test that leaves file descriptors open."""
    before = set(os.listdir("/proc/self/fd"))
    yield
    with contextlib.suppress(FileNotFoundError):
        leaked = set(os.listdir("/proc/self/fd")) - before
        assert not leaked, f"leaked fds: {sorted(leaked)}"
