"""A request head over the size limit is refused under hypercorn and uvicorn, limits on or off.

uvicorn's httptools parser bounds no head; the agent's connection guard answers
Go's raw 431 past :data:`outrider.conn_guard.MAX_HEAD_BYTES` and closes the
connection. Bodies do not count, and every request of a kept-alive connection is
measured afresh.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from outrider.conn_guard import MAX_HEAD_BYTES
from tests.conftest import AgentProcess
from tests.http.floods import agent_under, closed_by_server, connect, head, read_response

pytestmark = pytest.mark.functional

LIMITS = {
    "off": 'http_max_conns_per_client = 0\nhttp_read_header_timeout = "0"',
    "on": "",
}


CASES = [(server, limits) for server in ("hypercorn", "uvicorn") for limits in LIMITS]


@pytest.fixture(scope="module", params=CASES, ids=[f"{server}-limits-{limits}" for server, limits in CASES])
def agent(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AgentProcess]:
    server, limits = request.param
    yield from agent_under(tmp_path_factory, server, LIMITS[limits])


def huge_head(size: int) -> bytes:
    return b"GET /v1/agent/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: " + b"x" * size + b"\r\n\r\n"


def test_a_head_over_the_limit_is_answered_4xx_and_closed(agent: AgentProcess) -> None:
    sock = connect(agent)
    try:
        sock.sendall(huge_head(MAX_HEAD_BYTES + 4096))
        response = read_response(sock)
        assert re.match(rb"HTTP/1\.1 4\d\d ", response), response[:200]
        assert closed_by_server(sock, 5.0) is not None
    finally:
        sock.close()


def test_a_head_within_the_limit_is_served(agent: AgentProcess) -> None:
    sock = connect(agent)
    try:
        sock.sendall(huge_head(8 * 1024))
        assert read_response(sock).startswith(b"HTTP/1.1 200 ")
    finally:
        sock.close()


def test_the_next_head_on_a_kept_alive_connection_is_measured_too(agent: AgentProcess) -> None:
    sock = connect(agent)
    try:
        sock.sendall(head("GET", "/v1/agent/health"))
        assert read_response(sock).startswith(b"HTTP/1.1 200 ")
        sock.sendall(huge_head(MAX_HEAD_BYTES + 4096))
        assert re.match(rb"HTTP/1\.1 4\d\d ", read_response(sock))
    finally:
        sock.close()


def test_a_body_larger_than_the_head_limit_is_not_refused_as_a_head(agent: AgentProcess) -> None:
    body = b"{" + b" " * (4 * MAX_HEAD_BYTES) + b"}"
    sock = connect(agent)
    try:
        sock.sendall(
            b"PUT /v1/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n%b" % (len(body), body)
        )
        response = read_response(sock)
        assert response.startswith(b"HTTP/1.1 "), response[:200]
        assert not response.startswith(b"HTTP/1.1 431 "), response[:200]
    finally:
        sock.close()
