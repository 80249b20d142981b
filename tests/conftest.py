"""Shared fixtures: a real agent process on a loopback port, allocation directories, leak checks."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from bench.launcher import LaunchedAgent
from bench.launcher import start_agent as launch_agent

from outrider.config import SERVERS
from outrider.fs.allocdir import build_alloc_dir
from tests.runner.support import kill_leftovers

# ``pytest --server NAME`` (or ``OUTRIDER_TEST_SERVER=NAME pytest``) serves every test agent
# that does not pick its own with NAME.
_server: str | None = None
_SERVERS = SERVERS


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--server",
        choices=_SERVERS,
        default=os.environ.get("OUTRIDER_TEST_SERVER") or None,
        help="HTTP server of the test agents (default: $OUTRIDER_TEST_SERVER, else the agent's own default)",
    )


def pytest_configure(config: pytest.Config) -> None:
    global _server
    _server = config.getoption("--server")
    if _server is not None and _server not in _SERVERS:
        raise pytest.UsageError(f"OUTRIDER_TEST_SERVER={_server!r}: choose one of {', '.join(_SERVERS)}")


@dataclass
class AgentProcess(LaunchedAgent):
    """A running ``outrider agent`` subprocess, with an HTTP client of its API."""

    def client(self, **kwargs: object) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=10.0, **kwargs)  # type: ignore[arg-type]


def start_agent(
    data_dir: Path, *extra: str, env: dict[str, str] | None = None, dev: bool = True
) -> AgentProcess:
    """Start an agent on a free loopback port and wait (bounded) for its ready line.

    Through the launcher the benchmark uses too (:mod:`bench.launcher`).
    """
    if _server is not None and "--server" not in extra:
        extra = (*extra, "--server", _server)
    return launch_agent(data_dir, *extra, env=env, make=AgentProcess, dev=dev)


def start_configured_agent(root: Path, config: str, dev: bool = True) -> AgentProcess:
    """:func:`start_agent` on ``root/data`` with ``config`` (HCL) written to ``root/agent.hcl``."""
    path = root / "agent.hcl"
    path.write_text(config)
    return start_agent(root / "data", "--config", str(path), dev=dev)


@contextlib.contextmanager
def running_agent(data_dir: Path, *extra: str) -> Iterator[AgentProcess]:
    """An agent for the block, which must stop cleanly at its end.

    Tasks outlive the agent by design, so whatever its jobs left running is killed
    once it stopped.
    """
    proc = start_agent(data_dir, *extra)
    try:
        yield proc
    finally:
        code = proc.stop()
        kill_leftovers(proc.data_dir)
        assert code == 0, "agent did not stop cleanly:\n" + "".join(proc.output)


@pytest.fixture(scope="module")
def agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AgentProcess]:
    """One agent per test module; tests make their own allocation directories in it."""
    with running_agent(tmp_path_factory.mktemp("agent")) as proc:
        yield proc


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
def tmp_dir_fd(tmp_path: Path) -> Iterator[int]:
    """A readable descriptor of ``tmp_path``, closed after the test."""
    fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        yield fd
    finally:
        os.close(fd)


@pytest.fixture
def no_fd_leak() -> Iterator[None]:
    """Fail an in-process test that changes the descriptor table: one left open, or one closed it did not open."""
    before = set(os.listdir("/proc/self/fd"))
    yield
    after = set(os.listdir("/proc/self/fd"))
    assert after == before, f"leaked fds: {sorted(after - before)}; closed: {sorted(before - after)}"
