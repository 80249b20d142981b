"""Headers added around every response: CORS and operator-configured headers.

CORS follows ``command/agent/http.go`` ``wrapCORS``.
"""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from outrider.http.drain import DrainBodyMiddleware, declared_length
from outrider.http.request_metrics import RequestMetrics
from outrider.metrics import REGISTRY, Registry

# Nomad wraps every endpoint in CORS except the node-wide GC and the ACL API
# (command/agent/http.go registerHandlers: these are registered without wrapCORS).
_NOT_CORS = frozenset({"/v1/client/gc"})
_NOT_CORS_PREFIX = "/v1/acl/"
_SIMPLE_METHODS = frozenset({"GET", "HEAD"})


def with_headers(message: Message, added: list[tuple[bytes, bytes]]) -> Message:
    """A response-start message with ``added`` appended; only ``Vary`` may repeat a header it has."""
    if len(added) == 1 and added[0][0] == b"vary":
        # The usual case (no Origin, no operator headers): nothing to check for repeats.
        return {**message, "headers": [*message.get("headers", ()), added[0]]}
    headers = list(message.get("headers", ()))
    present = {name.lower() for name, _ in headers}
    headers.extend(h for h in added if h[0] == b"vary" or h[0] not in present)
    return {**message, "headers": headers}


class ResponseHeaders:
    """Nomad's ``wrapCORS`` and ``http_api_response_headers``: what each response gets."""

    def __init__(self, extra_headers: dict[str, str] | None = None) -> None:
        self.extra = [
            (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (extra_headers or {}).items()
        ]
        # The three possible sets, built once; shared by every response, so never mutated.
        vary = (b"vary", b"Origin")
        self._cors = [*self.extra, vary]
        self._cors_origin = [
            *self._cors,
            (b"access-control-allow-origin", b"*"),
            (b"access-control-allow-credentials", b"true"),
        ]

    def plan(self, scope: Scope) -> tuple[tuple[bytes | None, bytes] | None, list[tuple[bytes, bytes]]]:
        """What an HTTP request gets: ``(origin, method)`` when it is a CORS preflight, else the headers to add.

        The returned list is shared between requests: read it, never change it.
        """
        path = scope["path"]
        cors = path not in _NOT_CORS and not path.startswith(_NOT_CORS_PREFIX)
        origin = None
        acrm = None
        for name, value in scope["headers"]:
            if name == b"origin":
                origin = value
            elif name == b"access-control-request-method":
                acrm = value
        method = scope["method"]
        if not cors:
            return None, self.extra
        if method == "OPTIONS" and acrm is not None:
            return (origin, acrm), []
        if origin is not None and method in _SIMPLE_METHODS:
            return None, self._cors_origin
        return None, self._cors

    async def preflight(self, scope: Scope, send: Send, origin: bytes | None, acrm: bytes) -> None:
        headers = [
            (b"vary", b"Origin, Access-Control-Request-Method, Access-Control-Request-Headers"),
            *self.extra,
        ]
        if origin is not None and acrm.decode("latin-1").upper() in _SIMPLE_METHODS:
            headers.append((b"access-control-allow-origin", b"*"))
            headers.append((b"access-control-allow-methods", acrm.upper()))
            req_headers = next(
                (v for n, v in scope["headers"] if n == b"access-control-request-headers"), None
            )
            if req_headers:
                headers.append((b"access-control-allow-headers", req_headers))
            headers.append((b"access-control-allow-credentials", b"true"))
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b""})


class EdgeMiddleware:
    """The one ASGI hop around the app: response headers, request metrics, body drain.

    Every request needs the first two, so one send wrapper does both: each
    response start gets its headers (:class:`ResponseHeaders`), then is counted
    and timed (:class:`RequestMetrics`). Requests that carry a body also pass
    :class:`DrainBodyMiddleware`; those without one skip that hop.
    """

    def __init__(
        self, app: ASGIApp, extra_headers: dict[str, str] | None = None, registry: Registry = REGISTRY
    ) -> None:
        self.app = app
        self.headers = ResponseHeaders(extra_headers)
        self.metrics = RequestMetrics(registry)
        # Innermost, as it was stacked: only requests that carry a body go through it.
        self.drain = DrainBodyMiddleware(app)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        metrics = self.metrics
        start = time.perf_counter()
        recorded = False
        preflight, added = self.headers.plan(scope)

        async def edge_send(message: Message) -> None:
            nonlocal recorded
            if message["type"] == "http.response.start":
                if added:
                    message = with_headers(message, added)
                if not recorded:
                    recorded = True
                    metrics.record(scope, message["status"], time.perf_counter() - start)
            await send(message)

        in_flight = metrics.in_flight
        in_flight.value += 1
        try:
            if preflight is not None:
                await self.headers.preflight(scope, edge_send, *preflight)
            elif declared_length(scope) == 0:
                await self.app(scope, receive, edge_send)
            else:
                await self.drain(scope, receive, edge_send)
        except BaseException:
            if not recorded:
                # The error handler outside this middleware answers 500.
                metrics.record(scope, 500, time.perf_counter() - start)
            raise
        finally:
            in_flight.value -= 1
