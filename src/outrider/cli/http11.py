"""One HTTP/1.1 exchange over a socket: the request out, the response's status, headers and body in.

The command line needs only this much of HTTP (one request per connection,
``Connection: close``), and the standard library's ``http.client`` would cost a
command about 20 ms of start-up on its own (it imports the ``email`` package and
``ssl``). Bodies are framed as RFC 9112 section 6 says: chunked, else
``Content-Length``, else until the server closes; ``HEAD``, 1xx, 204 and 304
responses have none. The body is read as it arrives, so a followed stream flows.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator, Mapping

MAX_LINE = 64 * 1024  # a status, header or chunk-size line longer than this is not HTTP we accept
MAX_HEADERS = 200


class ProtocolError(Exception):
    """The server's answer is not well-formed HTTP/1.1."""


class Exchange:
    """A sent request and its response, read lazily from the connection."""

    def __init__(self, sock: socket.socket, method: str) -> None:
        self.sock = sock
        self.file = sock.makefile("rb")
        self.method = method
        self.status = 0
        self.reason = ""
        self.headers: list[tuple[str, str]] = []
        self._read_head()

    def header(self, name: str) -> str:
        """The first header called ``name`` (any case), or ``""``."""
        lowered = name.lower()
        return next((value for key, value in self.headers if key.lower() == lowered), "")

    def _line(self) -> bytes:
        line = self.file.readline(MAX_LINE + 1)
        if len(line) > MAX_LINE:
            raise ProtocolError("a line of the response is too long")
        if not line:
            raise ProtocolError("the server closed the connection before answering")
        return line

    def _read_head(self) -> None:
        while True:
            parts = self._line().decode("latin-1").rstrip("\r\n").split(" ", 2)
            if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
                raise ProtocolError(f"not an HTTP response: {' '.join(parts)[:80]!r}")
            self.status, self.reason = int(parts[1]), parts[2] if len(parts) > 2 else ""
            self.headers = []
            while True:
                line = self._line().decode("latin-1").rstrip("\r\n")
                if not line:
                    break
                key, sep, value = line.partition(":")
                if not sep:
                    raise ProtocolError(f"malformed header line {line[:80]!r}")
                self.headers.append((key.strip(), value.strip()))
                if len(self.headers) > MAX_HEADERS:
                    raise ProtocolError("too many response headers")
            if not 100 <= self.status < 200:  # an interim answer is followed by the real one
                return

    def body(self, size: int) -> Iterator[bytes]:
        """The body as it arrives, in pieces of at most ``size`` bytes."""
        if self.method == "HEAD" or self.status in (204, 304):
            return
        if "chunked" in self.header("Transfer-Encoding").lower():
            yield from self._chunked(size)
            return
        length = self.header("Content-Length")
        if length:
            if not length.isdigit():
                raise ProtocolError(f"bad Content-Length {length!r}")
            yield from self._exactly(int(length), size)
            return
        while data := self.file.read1(size):
            yield data

    def _exactly(self, remaining: int, size: int) -> Iterator[bytes]:
        while remaining:
            data = self.file.read1(min(size, remaining))
            if not data:
                raise ProtocolError(f"the body ended {remaining} bytes short")
            remaining -= len(data)
            yield data

    def _chunked(self, size: int) -> Iterator[bytes]:
        while True:
            text = self._line().split(b";", 1)[0].strip()
            try:
                chunk = int(text, 16)
            except ValueError:
                raise ProtocolError(f"bad chunk size {text[:20]!r}") from None
            if chunk == 0:
                while self._line() not in (b"\r\n", b"\n"):  # trailers
                    pass
                return
            yield from self._exactly(chunk, size)
            if self._line() not in (b"\r\n", b"\n"):
                raise ProtocolError("a chunk is not followed by CRLF")

    def close(self) -> None:
        self.file.close()
        self.sock.close()


def exchange(
    sock: socket.socket, method: str, host: str, target: str, headers: Mapping[str, str], body: bytes | None
) -> Exchange:
    """Send one request on a connected socket and read the response's head."""
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}", "Connection: close"]
    for key, value in headers.items():
        if any(c in key + value for c in "\r\n\0") or not key or ":" in key:
            raise ValueError(f"invalid header {key!r}")
        lines.append(f"{key}: {value}")
    if body is not None or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body or b'')}")
    if any(c in target for c in " \r\n\0") or not target.startswith("/"):
        raise ValueError(f"invalid request target {target!r}")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "strict")
    sock.sendall(head + (body or b""))
    return Exchange(sock, method)
