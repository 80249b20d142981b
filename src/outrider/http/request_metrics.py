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

from outrider.http.subtrees import ROUTE_LABEL_KEY
from outrider.metrics import REGISTRY, Counter, Histogram, Registry

REQUESTS = "outrider.http.requests"
LATENCY = "outrider.http.request_duration_seconds"
IN_FLIGHT = "outrider.http.requests_in_flight"

_FALLTHROUGH = "/{rest:path}"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"})


class RequestMetrics:
    """Counts requests by route, method and status, and times them to their first response line."""

    def __init__(self, registry: Registry = REGISTRY) -> None:
        self.registry = registry
        self._counters: dict[tuple[str, str, int], Counter] = {}
        self._latency: dict[str, Histogram] = {}
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
        """The route template of a routed request; the subtree handlers name their own."""
        label: str | None = scope.get(ROUTE_LABEL_KEY)
        if label is not None:
            return label
        route: Any = scope.get("route")
        template = getattr(route, "path", None)
        if template is None or template == _FALLTHROUGH:
            return "unmatched"
        return str(template)
