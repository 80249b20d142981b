"""Helpers of the flood tests: an agent per server with a ``limits`` block, raw sockets, bounded reads.

Every flood is a few hundred connections to 127.0.0.1 at most and every wait is
bounded; the agent's descriptors are counted from ``/proc``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import socket
import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from outrider.config import SERVERS as AGENT_SERVERS
from tests.conftest import AgentProcess, start_agent

SERVERS = list(AGENT_SERVERS)
FLOOD = 300
# Descriptors an idle agent may open and close on its own at any moment (state DB, /proc reads).
SLACK = 4
CAP = 8
HEADER_TIMEOUT = 1.0


def agent_under(tmp_path_factory: pytest.TempPathFactory, server: str, limits: str) -> Iterator[AgentProcess]:
    """An agent served by ``server`` with ``limits`` (the body of a ``limits`` block); skips a missing server."""
    if importlib.util.find_spec(server) is None:
        pytest.skip(f"{server} is not installed")
    home = tmp_path_factory.mktemp(f"floods-{server}")
    config = home / "agent.hcl"
    config.write_text(f"limits {{\n{limits}\n}}\n")
    agent = start_agent(home / "data", "--server", server, "--config", str(config))
    try:
        yield agent
    finally:
        assert agent.stop() == 0, "".join(agent.output)


def agents_under_every_server(limits: str) -> Callable[..., Iterator[AgentProcess]]:
    """A module-scoped fixture: one agent per server in :data:`SERVERS`, each with ``limits``."""

    @pytest.fixture(scope="module", params=SERVERS)
    def fixture(
        request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
    ) -> Iterator[AgentProcess]:
        yield from agent_under(tmp_path_factory, request.param, limits)

    return fixture


def server_of(agent: AgentProcess) -> str:
    """The ``--server`` an agent was started with."""
    return next(agent.proc.args[i + 1] for i, arg in enumerate(agent.proc.args) if arg == "--server")  # type: ignore[union-attr]


def address(agent: AgentProcess) -> tuple[str, int]:
    host, port = agent.url.removeprefix("http://").rsplit(":", 1)
    return host, int(port)


def connect(agent: AgentProcess, source: str = "127.0.0.1") -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(5.0)
    sock.bind((source, 0))
    sock.connect(address(agent))
    return sock


def head(method: str, target: str) -> bytes:
    return f"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n".encode()


def read_response(sock: socket.socket) -> bytes:
    """One response: its head, then ``Content-Length`` bytes of body (or all until the server closes)."""
    received = b""
    with contextlib.suppress(TimeoutError, ConnectionResetError):
        while b"\r\n\r\n" not in received:
            chunk = sock.recv(65536)
            if not chunk:
                return received
            received += chunk
        head_end = received.index(b"\r\n\r\n") + 4
        length = None
        for line in received[:head_end].split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while length is None or len(received) < head_end + length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
    return received


def closed_by_server(sock: socket.socket, within: float) -> float | None:
    """Seconds until the server closed ``sock`` (EOF or reset), None when it was still open after ``within``."""
    start = time.monotonic()
    sock.settimeout(within)
    try:
        while sock.recv(65536):
            pass
    except TimeoutError:
        return None
    except ConnectionResetError:
        pass
    return time.monotonic() - start


# The tests' own questions come from an address of their own, so they never count
# towards (or against) the per-client cap of the connections under test (127.0.0.1).
SIDE_ADDRESS = "127.0.0.3"


def side_get(agent: AgentProcess, path: str) -> httpx.Response:
    """``GET path`` from :data:`SIDE_ADDRESS`, on a connection of its own."""
    transport = httpx.HTTPTransport(local_address=SIDE_ADDRESS)
    with httpx.Client(base_url=agent.url, timeout=10.0, transport=transport) as client:
        return client.get(path)


def settled_baseline(agent: AgentProcess) -> int:
    """The agent's descriptor count once it is idle (bounded wait)."""
    assert side_get(agent, "/v1/agent/health").status_code == 200
    time.sleep(0.3)
    return agent.open_fds()


def current_index(agent: AgentProcess, path: str = "/v1/jobs") -> int:
    return int(side_get(agent, path).headers["X-Nomad-Index"])


def gauge(agent: AgentProcess, name: str) -> int:
    """A gauge of ``/v1/metrics``."""
    gauges = side_get(agent, "/v1/metrics").json()["Gauges"]
    return next(int(g["Value"]) for g in gauges if g["Name"] == name)


def in_flight(agent: AgentProcess) -> int:
    """Requests the agent is serving, the one asking not counted."""
    return gauge(agent, "outrider.http.requests_in_flight") - 1
