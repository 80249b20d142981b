"""Headers added around every response: CORS (spec §1.2) and operator-configured headers."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Nomad wraps every endpoint in CORS except the node-wide GC (spec §1.2).
_NOT_CORS = frozenset({"/v1/client/gc"})
_SIMPLE_METHODS = frozenset({"GET", "HEAD"})


class HeadersMiddleware:
    """Nomad's ``wrapCORS`` and ``http_api_response_headers``, as one cheap ASGI wrapper."""

    def __init__(self, app: ASGIApp, extra_headers: dict[str, str] | None = None) -> None:
        self.app = app
        self.extra = [
            (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (extra_headers or {}).items()
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cors = scope["path"] not in _NOT_CORS
        origin = None
        acrm = None
        for name, value in scope["headers"]:
            if name == b"origin":
                origin = value
            elif name == b"access-control-request-method":
                acrm = value
        method = scope["method"]
        if cors and method == "OPTIONS" and acrm is not None:
            await self._preflight(scope, send, origin, acrm)
            return
        added: list[tuple[bytes, bytes]] = list(self.extra)
        if cors:
            added.append((b"vary", b"Origin"))
            if origin is not None and method in _SIMPLE_METHODS:
                added.append((b"access-control-allow-origin", b"*"))
                added.append((b"access-control-allow-credentials", b"true"))
        if not added:
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                headers.extend(h for h in added if h[0] == b"vary" or h[0] not in present)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _preflight(self, scope: Scope, send: Send, origin: bytes | None, acrm: bytes) -> None:
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
