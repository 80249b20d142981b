"""Clients that leave, against a real agent under every installed server: nothing of theirs stays open.

hypercorn kept a connection whose client hung up before an empty answer was
written (an unknown path, ``/v1/client/gc``) until its keep-alive timer ran out,
and a blocking query held its connection until the index moved.
"""

from __future__ import annotations

import time

import httpx
import pytest

from tests.conftest import AgentProcess
from tests.http.floods import (
    FLOOD,
    SLACK,
    agents_under_every_server,
    connect,
    current_index,
    head,
    in_flight,
    read_response,
    settled_baseline,
)

pytestmark = pytest.mark.functional


# No connection cap and no header-read timeout: only the server's own behaviour.
open_agent = agents_under_every_server('http_max_conns_per_client = 0\nhttp_read_header_timeout = "0"')


# -- clients that hang up at once -----------------------------------------------------------------


@pytest.mark.parametrize(
    "request_head",
    [head("GET", "/no/such/path"), head("PUT", "/v1/client/gc"), head("GET", "/v1/agent/health")],
    ids=["unknown-path", "client-gc", "health"],
)
def test_clients_that_hang_up_at_once_leave_no_descriptor(
    open_agent: AgentProcess, request_head: bytes
) -> None:
    baseline = settled_baseline(open_agent)
    for _ in range(FLOOD):
        sock = connect(open_agent)
        sock.sendall(request_head)
        sock.close()
    held = open_agent.settled_fds(baseline + SLACK, timeout=10.0)
    assert held <= baseline + SLACK, f"{held - baseline} descriptors still held after {FLOOD} hang-ups"


def test_idle_keep_alive_connections_closed_by_their_clients_are_released(open_agent: AgentProcess) -> None:
    baseline = settled_baseline(open_agent)
    socks = []
    for _ in range(100):
        sock = connect(open_agent)
        sock.sendall(head("GET", "/v1/agent/health"))
        assert read_response(sock).startswith(b"HTTP/1.1 200")
        socks.append(sock)
    for sock in socks:
        sock.close()
    held = open_agent.settled_fds(baseline + SLACK, timeout=10.0)
    assert held <= baseline + SLACK


# -- blocking queries whose clients leave ---------------------------------------------------------


@pytest.mark.parametrize("path", ["/v1/jobs", "/v1/allocations", "/v1/nodes"])
def test_a_blocking_query_whose_client_left_releases_its_socket_at_once(
    open_agent: AgentProcess, path: str
) -> None:
    baseline = settled_baseline(open_agent)
    index = current_index(open_agent, path)
    waiting = 200
    socks = []
    for _ in range(waiting):
        sock = connect(open_agent)
        sock.sendall(head("GET", f"{path}?index={index}&wait=10m"))
        socks.append(sock)
    deadline = time.monotonic() + 15
    while open_agent.open_fds() < baseline + waiting and time.monotonic() < deadline:
        time.sleep(0.05)
    assert open_agent.open_fds() >= baseline + waiting, "the blocking queries never reached the agent"
    # They wait: none has been answered.
    socks[0].settimeout(0.5)
    with pytest.raises(TimeoutError):
        socks[0].recv(1)
    for sock in socks:
        sock.close()
    held = open_agent.settled_fds(baseline + SLACK, timeout=10.0)
    assert held <= baseline + SLACK, f"{held - baseline} sockets still held by departed watchers"
    # Nor does the agent keep waiting on their behalf.
    deadline = time.monotonic() + 10
    while in_flight(open_agent) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert in_flight(open_agent) == 0
    # The agent still answers a blocking query that stays.
    resp = httpx.get(f"{open_agent.url}{path}", params={"index": index, "wait": "200ms"}, timeout=10.0)
    assert resp.status_code == 200
