"""Memory that request bodies may hold, against a real agent: metadata bounds and bodies in flight."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import httpx
import pytest

from outrider.http.body import MAX_BODIES_IN_FLIGHT, MAX_BODY
from outrider.meta.limits import MAX_KEY_BYTES, MAX_TOTAL_BYTES, MAX_VALUE_BYTES
from tests.conftest import AgentProcess
from tests.http.floods import connect, gauge
from tests.runner.support import wait_for

pytestmark = pytest.mark.functional

META = "/v1/client/metadata"


@pytest.fixture(scope="module")
def client(agent: AgentProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=agent.url, timeout=30.0) as c:
        yield c


def test_metadata_past_its_bounds_is_refused_and_the_map_kept(client: httpx.Client) -> None:
    resp = client.post(META, json={"Meta": {"k" * (MAX_KEY_BYTES + 1): "v"}})
    assert resp.status_code == 400
    assert resp.text.endswith(f"is {MAX_KEY_BYTES + 1} bytes long; the limit is {MAX_KEY_BYTES} bytes")
    resp = client.post(META, json={"Meta": {"big": "v" * (MAX_VALUE_BYTES + 1)}})
    assert (resp.status_code, resp.text) == (
        400,
        f'metadata value of "big" is {MAX_VALUE_BYTES + 1} bytes long; the limit is {MAX_VALUE_BYTES} bytes',
    )
    value = "v" * (MAX_VALUE_BYTES - 64)
    keys = [f"fill.k{i:02d}" for i in range(MAX_TOTAL_BYTES // MAX_VALUE_BYTES)]
    for key in keys:
        assert client.post(META, json={"Meta": {key: value}}).status_code == 200
    before = client.get(META).json()
    resp = client.post(META, json={"Meta": {"fill.over": value}})
    assert resp.status_code == 400
    assert resp.text.endswith(f"bytes of keys and values; the limit is {MAX_TOTAL_BYTES} bytes")
    after = client.get(META)
    assert after.json() == before
    # What a read carries stays bounded by the map's bound (plus the static meta).
    assert len(after.content) < 2 * MAX_TOTAL_BYTES + 64 * 1024
    # Removing keys always fits.
    assert client.post(META, json={"Meta": dict.fromkeys(keys)}).status_code == 200
    assert not any(k.startswith("fill.") for k in client.get(META).json()["Dynamic"])


def test_bodies_past_the_in_flight_budget_get_503_with_retry_after(
    agent: AgentProcess, client: httpx.Client
) -> None:
    held = MAX_BODIES_IN_FLIGHT // MAX_BODY
    socks: list[socket.socket] = []
    try:
        # Bodies that never finish: each holds all but its last byte in the agent.
        for _ in range(held):
            sock = connect(agent)
            sock.sendall(
                f"PUT /v1/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {MAX_BODY}\r\n\r\n".encode()
            )
            sock.sendall(b" " * (MAX_BODY - 1))
            socks.append(sock)
        wait_for(
            lambda: gauge(agent, "outrider.http.request_body_bytes") >= held * (MAX_BODY - 1),
            timeout=30,
            what="the held bodies to reach the agent",
        )
        resp = client.post(META, json={"Meta": {"rack": "r9"}})
        assert (resp.status_code, resp.text) == (503, "Too many request bodies in flight: try again shortly")
        assert resp.headers["Retry-After"] == "1"
    finally:
        for sock in socks:
            sock.close()
    wait_for(
        lambda: gauge(agent, "outrider.http.request_body_bytes") == 0,
        timeout=10,
        what="the bodies of departed clients to be dropped",
    )
    assert client.post(META, json={"Meta": {"rack": "r9"}}).status_code == 200
