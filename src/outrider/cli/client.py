"""The command line's HTTP client of an agent's API: Nomad's ``api`` package in miniature.

Built on the standard library's ``http.client`` so a command starts without
importing an HTTP framework (``ssl`` is imported only for an ``https://``
address). It sends the token as ``X-Nomad-Token`` and the namespace and region as
query parameters, as Nomad's ``api/api.go`` does, and turns every failure into a
:class:`~outrider.cli.errors.CLIError` that names the address it tried.
"""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from outrider.cli.errors import APIError, CLIError

DEFAULT_ADDRESS = "http://127.0.0.1:4646"
CONNECT_TIMEOUT = 10.0
# A plain request gets this long to answer; blocking queries add their own wait.
READ_TIMEOUT = 60.0
CHUNK = 64 * 1024

Params = Mapping[str, str | int | bool | None]


class Settings:
    """Where and as whom to talk: the global flags resolved against the environment."""

    __slots__ = ("address", "namespace", "region", "token")

    def __init__(
        self, address: str = DEFAULT_ADDRESS, token: str = "", namespace: str = "", region: str = ""
    ) -> None:
        self.address = address
        self.token = token
        self.namespace = namespace
        self.region = region


class Response:
    """A response whose body is read as it arrives (streams) or whole (:meth:`json`)."""

    def __init__(
        self,
        conn: http.client.HTTPConnection,
        raw: http.client.HTTPResponse,
        where: str,
        sock: socket.socket | None = None,
    ) -> None:
        self._conn = conn
        self._sock = sock
        self.raw = raw
        self.status = raw.status
        self.where = where

    def header(self, name: str) -> str:
        return self.raw.getheader(name) or ""

    @property
    def index(self) -> int:
        """``X-Nomad-Index``: where a blocking query continues from."""
        try:
            return int(self.header("X-Nomad-Index") or 0)
        except ValueError:
            return 0

    def chunks(self) -> Iterator[bytes]:
        """The body as it arrives, in pieces of at most 64 KiB."""
        try:
            while True:
                data = self.raw.read1(CHUNK)
                if not data:
                    return
                yield data
        except (http.client.IncompleteRead, ConnectionError) as exc:
            raise CLIError(f"the connection to {self.where} broke mid-answer: {exc}") from None
        except TimeoutError:
            raise CLIError(f"{self.where} stopped answering mid-stream") from None

    def read(self) -> bytes:
        return b"".join(self.chunks())

    def json(self) -> Any:
        body = self.read()
        if not body.strip():
            return None
        try:
            return json.loads(body)
        except ValueError:
            raise CLIError(
                f"{self.where} answered with something that is not JSON",
                "check that NOMAD_ADDR (or -address) points at an agent's HTTP API",
            ) from None

    def close(self) -> None:
        # A thread may be blocked reading this body (both streams of a follow): closing the
        # response needs the buffer that read holds, so shut the socket down first to wake
        # it, or Ctrl-C waits for as long as the task keeps writing.
        if self._sock is not None:
            try:
                self._sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already closed by the agent
        self.raw.close()
        self._conn.close()

    def __enter__(self) -> Response:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Client:
    """One agent, addressed as Nomad's CLI does (``NOMAD_ADDR`` and friends)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        address = settings.address.strip() or DEFAULT_ADDRESS
        if "://" not in address:
            address = "http://" + address
        parts = urlsplit(address)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise CLIError(
                f"invalid agent address {settings.address!r}",
                "set NOMAD_ADDR (or -address) to a URL such as http://127.0.0.1:4646",
            )
        self.address = address.rstrip("/")
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        try:
            self._port = parts.port or (443 if self._https else 4646)
        except ValueError:
            raise CLIError(f"invalid port in agent address {settings.address!r}") from None
        self._base = parts.path.rstrip("/")

    # -- requests -------------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        params: Params | None = None,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = READ_TIMEOUT,
        scoped: bool = True,
    ) -> Response:
        """Send one request and return the response once its headers arrived.

        ``scoped`` adds the configured namespace and region; an error status raises
        :class:`APIError` with the agent's text. ``timeout=None`` waits for ever
        between reads, as a followed stream must.
        """
        target = self._target(path, params, scoped)
        sent = {"User-Agent": "outrider-cli", "Accept-Encoding": "identity"}
        if self.settings.token:
            sent["X-Nomad-Token"] = self.settings.token
        if headers:
            sent.update(headers)
        conn = self._connect()
        sock: socket.socket | None = None
        try:
            conn.request(method, target, body=body, headers=sent)
            sock = conn.sock
            if sock is not None:
                sock.settimeout(timeout)
            raw = conn.getresponse()
        except BaseException as exc:
            conn.close()
            if isinstance(exc, OSError | http.client.HTTPException):
                raise self._unreachable(exc) from None
            if isinstance(exc, ValueError):  # http.client refuses a malformed method, path or header
                raise CLIError(f"cannot send the request: {exc}") from None
            raise
        response = Response(conn, raw, self.address, sock)
        if response.status >= 400:
            try:
                text = response.read().decode("utf-8", "replace")
            finally:
                response.close()
            if response.status == 404 and not text.strip():
                # A bare 404 is an unregistered route (Go's ServeMux), not a missing object.
                raise APIError(
                    404,
                    f"no such endpoint: {path}",
                    f"the agent at {self.address} does not serve this API (an older agent, or not a Nomad API)",
                )
            raise APIError(response.status, text or raw.reason, token_given=bool(self.settings.token))
        return response

    def get(self, path: str, params: Params | None = None, timeout: float | None = READ_TIMEOUT) -> Any:
        """``GET`` a JSON answer."""
        return self.get_indexed(path, params, timeout)[0]

    def get_indexed(
        self, path: str, params: Params | None = None, timeout: float | None = READ_TIMEOUT
    ) -> tuple[Any, int]:
        """``GET`` a JSON answer and its ``X-Nomad-Index``."""
        with self.request("GET", path, params, timeout=timeout) as response:
            return response.json(), response.index

    def write(self, method: str, path: str, payload: Any = None, params: Params | None = None) -> Any:
        """``PUT``/``POST``/``DELETE`` with an optional JSON body; the JSON answer, or ``None`` when empty."""
        body = None if payload is None else json.dumps(payload).encode()
        headers = {"Content-Type": "application/json"} if body is not None else None
        with self.request(method, path, params, body=body, headers=headers) as response:
            return response.json()

    # -- plumbing -------------------------------------------------------------------------------

    def _target(self, path: str, params: Params | None, scoped: bool) -> str:
        query: dict[str, str] = {}
        if scoped and self.settings.namespace:
            query["namespace"] = self.settings.namespace
        if scoped and self.settings.region:
            query["region"] = self.settings.region
        for key, value in (params or {}).items():
            if value is None:
                continue
            query[key] = ("true" if value else "false") if isinstance(value, bool) else str(value)
        target = self._base + path
        return target + ("?" + urlencode(query) if query else "")

    def _connect(self) -> http.client.HTTPConnection:
        if self._https:
            import ssl

            return http.client.HTTPSConnection(
                self._host, self._port, timeout=CONNECT_TIMEOUT, context=ssl.create_default_context()
            )
        return http.client.HTTPConnection(self._host, self._port, timeout=CONNECT_TIMEOUT)

    def _unreachable(self, exc: BaseException) -> CLIError:
        hint = "is the agent running there? Set NOMAD_ADDR (or -address) to its HTTP address"
        if isinstance(exc, ConnectionRefusedError):
            return CLIError(f"cannot connect to {self.address}: connection refused", hint)
        if isinstance(exc, socket.gaierror):
            return CLIError(f"cannot resolve the host of {self.address}: {exc.strerror}", hint)
        if isinstance(exc, TimeoutError):
            return CLIError(f"no answer from {self.address} in time", hint)
        if isinstance(exc, OSError) and exc.strerror:
            return CLIError(f"cannot talk to {self.address}: {exc.strerror}", hint)
        return CLIError(f"cannot talk to {self.address}: {exc}", hint)


def path_of(base: str, *idents: str) -> str:
    """``base`` followed by each ID as one percent-encoded segment (an ID may hold ``/`` or ``?``)."""
    return base + "".join("/" + quote(ident, safe="") for ident in idents)
