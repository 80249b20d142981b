"""Request counts and latency by endpoint, recorded by the edge middleware.

Requests are labelled by route template (``/v1/client/fs/stat``,
``/v1/client/allocation/{alloc_id}/stats``), never by raw path, so the label
set stays bounded whatever clients send. Latency is the time to the response's
first line (its headers): for a stream that is how long it took to start, not
how long it ran. Metric handles are cached per label, so a request costs two
clock reads, one closure and a few dictionary lookups.
"""

from __future__ import annotations

from typing import Any

from starlette.types import Scope

from outrider.stats.metrics import REGISTRY, Counter, Histogram, Registry

REQUESTS = "outrider.http.requests"
LATENCY = "outrider.http.request_duration_seconds"
IN_FLIGHT = "outrider.http.requests_in_flight"

_FS_TEMPLATE = "/v1/client/fs/{rest:path}"
_ALLOC_TEMPLATE = "/v1/client/allocation/{rest:path}"
_FALLTHROUGH = "/{rest:path}"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"})


def _dispatch_tables() -> tuple[frozenset[str], frozenset[str]]:
    # Imported late: app.py imports this module to build the middleware stack.
    from outrider.http.app import ROUTE_MODULES

    fs_ops: set[str] = set()
    actions: set[str] = set()
    for module in ROUTE_MODULES:
        fs_ops.update(getattr(module, "FS_OPS", {}))
        actions.update(getattr(module, "ALLOC_ACTIONS", {}))
    return frozenset(fs_ops), frozenset(actions)


class RequestMetrics:
    """Counts requests by route, method and status, and times them to their first response line."""

    def __init__(self, registry: Registry = REGISTRY) -> None:
        self.registry = registry
        self._counters: dict[tuple[str, str, int], Counter] = {}
        self._latency: dict[str, Histogram] = {}
        self._tables: tuple[frozenset[str], frozenset[str]] | None = None
        self.in_flight = registry.gauge(IN_FLIGHT, help="HTTP requests being served")
        registry.describe(REQUESTS, "HTTP requests by route template, method and status code")
        registry.describe(
            LATENCY, "seconds from a request's arrival to its response headers, by route template"
        )

    def record(self, scope: Scope, status: int, elapsed: float) -> None:
        """Count one answered request and observe its time to the response start."""
        label = self.route_label(scope)
        method = scope["method"] if scope["method"] in _METHODS else "OTHER"
        key = (label, method, status)
        counter = self._counters.get(key)
        if counter is None:
            counter = self.registry.counter(REQUESTS, {"route": label, "method": method, "code": str(status)})
            self._counters[key] = counter
        counter.value += 1
        counter.count += 1
        hist = self._latency.get(label)
        if hist is None:
            hist = self.registry.histogram(LATENCY, {"route": label})
            self._latency[label] = hist
        hist.observe(elapsed)

    def route_label(self, scope: Scope) -> str:
        """The route template of a routed request; the dispatchers' op or action is resolved."""
        route: Any = scope.get("route")
        template = getattr(route, "path", None)
        if template is None or template == _FALLTHROUGH:
            return "unmatched"
        if template in (_FS_TEMPLATE, _ALLOC_TEMPLATE):
            if self._tables is None:
                self._tables = _dispatch_tables()
            fs_ops, actions = self._tables
            rest: str = scope.get("path_params", {}).get("rest", "")
            if template == _FS_TEMPLATE:
                op = rest.partition("/")[0]
                return f"/v1/client/fs/{op}" if op in fs_ops else "/v1/client/fs/{unknown}"
            parts = rest.split("/")
            if len(parts) == 2 and parts[1] in actions:
                return f"/v1/client/allocation/{{alloc_id}}/{parts[1]}"
            return "/v1/client/allocation/{unknown}"
        return str(template)
