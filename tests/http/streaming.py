"""A client that follows a streaming endpoint in a background thread until the server ends it."""

from __future__ import annotations

import threading

import httpx

from tests.conftest import AgentProcess


class Follower(threading.Thread):
    """GET ``url`` with ``params`` and collect the raw body; :meth:`result` waits (bounded) for the end."""

    def __init__(self, agent: AgentProcess, url: str, *, read_timeout: float = 15.0, **params: str) -> None:
        super().__init__(daemon=True)
        self.client = httpx.Client(base_url=agent.url, timeout=httpx.Timeout(10.0, read=read_timeout))
        self.url = url
        self.params = params
        self.connected = threading.Event()
        self.body = bytearray()
        self.status = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with self.client.stream("GET", self.url, params=self.params) as resp:
                self.status = resp.status_code
                self.connected.set()
                for chunk in resp.iter_raw():
                    self.body += chunk
        except BaseException as exc:
            self.error = exc
        finally:
            self.connected.set()
            self.client.close()

    def result(self, timeout: float = 20.0) -> bytes:
        self.join(timeout)
        assert not self.is_alive(), "the stream did not end by itself"
        assert self.error is None, self.error
        assert self.status == 200
        return bytes(self.body)
