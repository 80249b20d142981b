"""Refuses what a web page in an operator's browser could make the agent do.

A page on another site can send "simple" requests (a ``text/plain`` or form POST, a GET)
without a CORS preflight, and through DNS rebinding can even reach a loopback agent under
its own host name. So, before any handler runs:

- a state-changing request (any method but GET, HEAD and OPTIONS, and the GETs that
  collect allocations) is refused when it carries ``Sec-Fetch-Site: cross-site`` or an
  ``Origin`` that is neither the agent's own address nor in ``http_api_allowed_origins``;
  requests without ``Origin`` (curl, the CLI, python-nomad, Nomad's Go ``api``) pass;
- an agent bound to a loopback address answers only requests whose ``Host`` is a
  loopback name or address (any port) or in ``http_api_allowed_hosts``.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable

from starlette.types import ASGIApp, Receive, Scope, Send

from outrider.http.errors import error_response

CROSS_SITE = (
    "Cross-site request refused: a state-changing request must not carry an Origin other than "
    "the agent's own address (add it to http_api_allowed_origins to allow it)"
)
FOREIGN_HOST = (
    "Request refused: this agent listens on a loopback address and answers only a loopback Host "
    "(add the name to http_api_allowed_hosts to allow it)"
)
_MAX_HOST_VERDICTS = 256
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# GETs that change state: Nomad serves the GC endpoints on any method.
_STATE_CHANGING_GET = re.compile(r"/v1/client/gc/?\Z|/v1/client/allocation/[^/]+/gc/?\Z")


def is_loopback(host: str) -> bool:
    """``localhost`` (and its subdomains), 127.0.0.0/8 and ::1."""
    host = host.strip("[]").lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def split_host(value: str) -> str:
    """The host of a ``Host`` header value, without its port (``[::1]:4646`` gives ``::1``)."""
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def state_changing(method: str, path: str) -> bool:
    return method not in _SAFE_METHODS or bool(_STATE_CHANGING_GET.match(path))


class RequestGuard:
    """ASGI middleware applying the origin and host rules above."""

    def __init__(
        self, app: ASGIApp, bind_addr: str, allowed_origins: Iterable[str], allowed_hosts: Iterable[str]
    ) -> None:
        self.app = app
        self.check_host = is_loopback(bind_addr)
        self.allowed_origins = frozenset(o.rstrip("/").lower() for o in allowed_origins)
        self.allowed_hosts = frozenset(h.lower().rstrip(".") for h in allowed_hosts)
        # Every request of a loopback agent asks about its Host, and clients send very few
        # distinct ones: remember the verdicts instead of parsing an address each time. Bounded,
        # since the header is the client's to choose.
        self._host_verdicts: dict[str, bool] = {}

    def _host_allowed(self, host: str) -> bool:
        verdict = self._host_verdicts.get(host)
        if verdict is None:
            name = split_host(host).lower().rstrip(".")
            verdict = is_loopback(name) or name in self.allowed_hosts
            if len(self._host_verdicts) < _MAX_HOST_VERDICTS:
                self._host_verdicts[host] = verdict
        return verdict

    def _own_origin(self, origin: str, scope: Scope) -> bool:
        if origin in self.allowed_origins:
            return True
        server = scope.get("server")
        if not server:
            return False
        _scheme, sep, rest = origin.partition("://")
        if not sep:
            return False
        host, port = split_host(rest), rest.rsplit(":", 1)[-1] if ":" in rest.rstrip("]") else ""
        if port != str(server[1]):
            return False
        own = str(server[0])
        return host == own or (is_loopback(own) and is_loopback(host))

    def refusal(self, scope: Scope) -> str | None:
        origin = fetch_site = host = None
        for name, value in scope["headers"]:
            if name == b"origin":
                origin = value.decode("latin-1").strip().lower()
            elif name == b"sec-fetch-site":
                fetch_site = value.decode("latin-1").strip().lower()
            elif name == b"host":
                host = value.decode("latin-1").strip()
        if self.check_host and host is not None and not self._host_allowed(host):
            return FOREIGN_HOST
        if state_changing(scope["method"], scope["path"]):
            if fetch_site == "cross-site":
                return CROSS_SITE
            if origin is not None and not self._own_origin(origin.rstrip("/"), scope):
                return CROSS_SITE
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            reason = self.refusal(scope)
            if reason is not None:
                await error_response(403, reason)(scope, receive, send)
                return
        await self.app(scope, receive, send)
