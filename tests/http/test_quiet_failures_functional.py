"""A client that leaves mid-body or a file that shrinks mid-download is one debug line, not a traceback."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import AgentProcess, make_external_alloc, start_agent
from tests.runner.support import wait_for

pytestmark = pytest.mark.functional


@pytest.fixture(scope="module")
def debug_agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AgentProcess]:
    proc = start_agent(tmp_path_factory.mktemp("quiet"), "--log-level", "debug")
    try:
        yield proc
    finally:
        assert proc.stop() == 0


def _output_after(agent: AgentProcess, mark: int) -> str:
    return "".join(agent.output[mark:])


def _connect(agent: AgentProcess) -> socket.socket:
    host, port = httpx.URL(agent.url).host, httpx.URL(agent.url).port
    return socket.create_connection((host, port), timeout=10)


def test_a_client_leaving_mid_request_body_is_one_debug_line(debug_agent: AgentProcess) -> None:
    mark = len(debug_agent.output)
    sock = _connect(debug_agent)
    sock.sendall(b"POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n")
    sock.sendall(b"Content-Length: 100000\r\n\r\n" + b'{"Job": {"ID": "' + b"a" * 1000)
    time.sleep(0.2)
    sock.close()
    assert httpx.get(debug_agent.url + "/v1/agent/health", timeout=10).status_code == 200
    time.sleep(0.5)
    out = _output_after(debug_agent, mark)
    assert "Traceback" not in out, out


def test_a_file_shrinking_mid_download_is_one_debug_line(debug_agent: AgentProcess) -> None:
    alloc = make_external_alloc(debug_agent.alloc_dir)
    target: Path = alloc.write("alloc/data/big.bin", os.urandom(8 * 1024 * 1024))
    mark = len(debug_agent.output)
    with (
        httpx.Client(base_url=debug_agent.url, timeout=10) as client,
        client.stream("GET", f"/v1/client/fs/cat/{alloc.id}", params={"path": "alloc/data/big.bin"}) as resp,
    ):
        assert resp.status_code == 200
        chunks = resp.iter_raw(64 * 1024)
        next(chunks)
        os.truncate(target, 1024)
        with pytest.raises(httpx.HTTPError):
            for _ in chunks:
                pass
    wait_for(lambda: "shrank" in _output_after(debug_agent, mark), 10, what="the shrink to be logged")
    time.sleep(0.3)
    out = _output_after(debug_agent, mark)
    assert "Traceback" not in out, out
    lines = [line for line in out.splitlines() if "shrank" in line]
    assert len(lines) == 1 and "[DEBUG]" in lines[0], out
