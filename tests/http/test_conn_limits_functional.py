"""Nomad's per-client connection cap and Outrider's header-read timeout, under every installed server."""

from __future__ import annotations

import contextlib
import re
import socket
import time
from pathlib import Path

import httpx
import pytest

from outrider.connlimit import ANSWER_BURST, ANSWER_RATE, TOO_MANY_MESSAGE
from tests.conftest import AgentProcess, start_agent
from tests.http.floods import (
    CAP,
    HEADER_TIMEOUT,
    SLACK,
    agent_under,
    agents_under_every_server,
    closed_by_server,
    connect,
    current_index,
    head,
    in_flight,
    read_response,
    settled_baseline,
)

pytestmark = pytest.mark.functional


capped_agent = agents_under_every_server(
    f'http_max_conns_per_client = {CAP}\nhttp_read_header_timeout = "{HEADER_TIMEOUT:g}s"'
)


def _hold(agent: AgentProcess, count: int, source: str = "127.0.0.1") -> list[socket.socket]:
    """``count`` connections from ``source``, each with a blocking query in flight."""
    index = current_index(agent)
    socks = []
    for _ in range(count):
        sock = connect(agent, source)
        sock.sendall(head("GET", f"/v1/jobs?index={index}&wait=30s"))
        socks.append(sock)
    return socks


def _wait_in_flight(agent: AgentProcess, count: int) -> None:
    deadline = time.monotonic() + 10
    while in_flight(agent) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    assert in_flight(agent) >= count, "the held requests never reached the agent"


def _too_many(response: bytes) -> bool:
    return response.startswith(b"HTTP/1.1 429 ") and response.endswith(TOO_MANY_MESSAGE.encode())


def test_a_client_past_the_cap_gets_nomads_429_and_others_are_served(capped_agent: AgentProcess) -> None:
    baseline = settled_baseline(capped_agent)
    held = _hold(capped_agent, CAP)
    try:
        _wait_in_flight(capped_agent, CAP)
        extra = connect(capped_agent)
        extra.sendall(head("GET", "/v1/agent/health"))
        response = read_response(extra)
        extra.close()
        assert _too_many(response), response[:300]
        assert b"\r\ncontent-type: text/plain\r\n" in response.lower()
        # Another address is not affected by this one's connections.
        other = connect(capped_agent, "127.0.0.2")
        other.sendall(head("GET", "/v1/agent/health"))
        assert read_response(other).startswith(b"HTTP/1.1 200")
        other.close()
        # One connection given back makes room for one more.
        held.pop().close()
        deadline = time.monotonic() + 10
        while True:
            again = connect(capped_agent)
            again.sendall(head("GET", "/v1/agent/health"))
            response = read_response(again)
            again.close()
            if response.startswith(b"HTTP/1.1 200") or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert response.startswith(b"HTTP/1.1 200"), response[:300]
    finally:
        for sock in held:
            sock.close()
    assert capped_agent.settled_fds(baseline + SLACK, timeout=10.0) <= baseline + SLACK


def test_idle_connections_from_one_address_are_bounded(capped_agent: AgentProcess) -> None:
    baseline = settled_baseline(capped_agent)
    socks = [connect(capped_agent) for _ in range(3 * CAP)]
    try:
        refused = [sock for sock in socks if _too_many(read_response_nowait(sock))]
        assert len(refused) == 2 * CAP
        assert capped_agent.settled_fds(baseline + SLACK, timeout=HEADER_TIMEOUT + 5) <= baseline + SLACK
    finally:
        for sock in socks:
            sock.close()


def read_response_nowait(sock: socket.socket) -> bytes:
    """What the server sends without being asked anything, until it closes (a refusal does at once)."""
    sock.settimeout(HEADER_TIMEOUT + 5)
    received = b""
    with contextlib.suppress(TimeoutError, ConnectionResetError):
        while chunk := sock.recv(4096):
            received += chunk
    return received


@pytest.mark.parametrize("server", ["hypercorn", "uvicorn"])
def test_a_flood_past_the_cap_is_answered_at_nomads_rate_then_just_closed(
    tmp_path_factory: pytest.TempPathFactory, server: str
) -> None:
    flood = 150
    for agent in agent_under(tmp_path_factory, server, "http_max_conns_per_client = 1"):
        # The one connection allowed asks for the index, then waits on it.
        held = connect(agent)
        try:
            held.sendall(head("GET", "/v1/jobs"))
            index = re.search(rb"(?i)\r\nx-nomad-index: *(\d+)", read_response(held))
            assert index is not None
            held.sendall(head("GET", f"/v1/jobs?index={int(index[1])}&wait=30s"))
            _wait_in_flight(agent, 1)
            start = time.monotonic()
            answered = 0
            for _ in range(flood):
                sock = connect(agent)
                answered += _too_many(read_response_nowait(sock))
                sock.close()
            elapsed = time.monotonic() - start
        finally:
            held.close()
        # A burst of 100, then 10 a second (Nomad's rate.NewLimiter(10, 100)).
        assert ANSWER_BURST <= answered <= ANSWER_BURST + ANSWER_RATE * elapsed + 1
        assert answered < flood


# -- the header-read timeout ----------------------------------------------------------------------


def test_a_slow_request_head_is_cut_off(capped_agent: AgentProcess) -> None:
    sock = connect(capped_agent)
    try:
        sock.sendall(b"GET /v1/agent/health HTTP/1.1\r\n")
        start = time.monotonic()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            while time.monotonic() - start < HEADER_TIMEOUT + 5:
                sock.sendall(b"X-Slow: a\r\n")
                time.sleep(0.2)
        assert time.monotonic() - start < HEADER_TIMEOUT + 5, "a head sent a line at a time was never cut off"
    finally:
        sock.close()


def test_a_silent_connection_is_closed_after_the_header_timeout(capped_agent: AgentProcess) -> None:
    sock = connect(capped_agent)
    try:
        waited = closed_by_server(sock, HEADER_TIMEOUT + 5)
        assert waited is not None, "a connection that sent nothing was kept"
        assert waited >= HEADER_TIMEOUT * 0.5
    finally:
        sock.close()


def test_the_next_head_on_a_kept_alive_connection_is_timed_too(capped_agent: AgentProcess) -> None:
    sock = connect(capped_agent)
    try:
        sock.sendall(head("GET", "/v1/agent/health"))
        assert read_response(sock).startswith(b"HTTP/1.1 200")
        sock.sendall(b"GET /v1/agent/health HTTP/1.1\r\nHo")
        assert closed_by_server(sock, HEADER_TIMEOUT + 5) is not None
    finally:
        sock.close()


def test_prompt_heads_on_one_connection_are_never_cut(capped_agent: AgentProcess) -> None:
    # Each head arrives whole and at once, again and again past several header timeouts:
    # the deadlines of earlier requests must not close the connection under a later one.
    sock = connect(capped_agent)
    try:
        start = time.monotonic()
        while time.monotonic() - start < 2.5 * HEADER_TIMEOUT:
            sock.sendall(head("GET", "/v1/agent/health"))
            assert read_response(sock).startswith(b"HTTP/1.1 200")
            time.sleep(HEADER_TIMEOUT / 4)
    finally:
        sock.close()


def test_a_request_longer_than_the_header_timeout_is_not_cut(capped_agent: AgentProcess) -> None:
    index = current_index(capped_agent)
    with httpx.Client(base_url=capped_agent.url, timeout=20.0) as client:
        start = time.monotonic()
        wait = 3 * HEADER_TIMEOUT
        resp = client.get("/v1/jobs", params={"index": index, "wait": f"{wait:g}s"})
        assert resp.status_code == 200
        assert time.monotonic() - start >= wait
        # The same connection serves the next request.
        assert client.get("/v1/agent/health").status_code == 200


def test_limits_are_off_with_zero(tmp_path: Path) -> None:
    config = tmp_path / "agent.hcl"
    config.write_text('limits {\n  http_max_conns_per_client = 0\n  http_read_header_timeout = "0"\n}\n')
    agent = start_agent(tmp_path / "data", "--config", str(config))
    try:
        socks = [connect(agent) for _ in range(150)]
        try:
            # Past Nomad's default cap of 100.
            for sock in socks[-5:]:
                sock.sendall(head("GET", "/v1/agent/health"))
                assert read_response(sock).startswith(b"HTTP/1.1 200")
        finally:
            for sock in socks:
                sock.close()
    finally:
        assert agent.stop() == 0
