"""``GET /v1/metrics``: the agent's metrics, as Nomad's JSON or, with ``?format=prometheus``, as text.

Nomad serves Prometheus text only when ``telemetry { prometheus_metrics = true }``;
Outrider always does. Neither checks an ACL.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from outrider.http.errors import invalid_method
from outrider.http.methods import ANY_METHOD
from outrider.http.params import query_of
from outrider.http.responses import json_response
from outrider.metrics import REGISTRY
from outrider.stats.exposition import PROMETHEUS_CONTENT_TYPE, render_json, render_prometheus


async def metrics(request: Request) -> Response:
    if request.method != "GET":
        raise invalid_method()
    query = query_of(request)
    collected = REGISTRY.collect()
    if query.get("format") == "prometheus":
        return Response(render_prometheus(collected).encode(), media_type=PROMETHEUS_CONTENT_TYPE)
    return json_response(render_json(collected), query)


ROUTES = [Route("/v1/metrics", metrics, methods=ANY_METHOD)]
