"""The ASGI application: Nomad's routing (``command/agent/http.go`` ``registerHandlers``) on Starlette.

To add endpoints, a module exposes ``ROUTES`` (Starlette routes), ``FS_OPS``
(``/v1/client/fs/<op>/<alloc_id>`` handlers) or ``ALLOC_ACTIONS``
(``/v1/client/allocation/<alloc_id>/<action>`` handlers), and is listed in
``ROUTE_MODULES`` below. The two handler tables are served by
:mod:`outrider.http.subtrees`, ahead of the router.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import AsyncIterator
from types import ModuleType

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from outrider.agent import Agent
from outrider.http import (
    routes_acl,
    routes_agent,
    routes_alloc,
    routes_fs,
    routes_jobs,
    routes_logs,
    routes_meta,
    routes_metrics,
    routes_node,
    routes_openapi,
    routes_stats,
    routes_stream,
)
from outrider.http.errors import APIError, error_response, handle_api_error
from outrider.http.exact_router import ExactRouter
from outrider.http.fleet_proxy import FleetProxy
from outrider.http.fleet_router import FleetRouter
from outrider.http.methods import ANY_METHOD
from outrider.http.middleware import EdgeMiddleware
from outrider.http.request_guard import RequestGuard
from outrider.http.subtrees import Handler, SubtreeRoutes, allocation_subtree, fs_subtree

log = logging.getLogger("outrider.http")


ROUTE_MODULES: list[ModuleType] = [
    routes_agent,
    routes_fs,
    routes_stream,
    routes_logs,
    routes_meta,
    routes_stats,
    routes_node,
    routes_metrics,
    routes_jobs,
    routes_alloc,
    routes_acl,
    routes_openapi,
]


def _collect(name: str) -> dict[str, Handler]:
    table: dict[str, Handler] = {}
    for module in ROUTE_MODULES:
        table.update(getattr(module, name, {}))
    return table


def build_app(agent: Agent) -> Starlette:
    """The ASGI app serving ``agent``; its lifespan starts and stops the agent's services."""
    subtrees = [fs_subtree(_collect("FS_OPS")), allocation_subtree(_collect("ALLOC_ACTIONS"))]
    routes: list[BaseRoute] = []
    for module in ROUTE_MODULES:
        routes.extend(getattr(module, "ROUTES", []))
    routes.append(Route("/{rest:path}", _fallthrough, methods=ANY_METHOD))
    for route in routes:
        if isinstance(route, Route):
            match_any_byte(route)
    proxy = FleetProxy(agent.node_id) if agent.fleet is not None else None

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await agent.start()
        try:
            yield
        finally:
            await agent.stop()
            if proxy is not None:
                await proxy.close()

    app = Starlette(
        middleware=[
            # Request metrics, CORS/operator headers and the body drain, fused into one hop.
            Middleware(EdgeMiddleware, extra_headers=agent.config.response_headers),
            # Cross-site state changes and DNS rebinding, refused before any handler.
            Middleware(
                RequestGuard,
                bind_addr=agent.config.bind_addr,
                allowed_origins=agent.config.http_api_allowed_origins,
                allowed_hosts=agent.config.http_api_allowed_hosts,
            ),
            # Requests for what another fleet member holds go to it (see fleet_router.py).
            *([Middleware(FleetRouter, agent=agent, proxy=proxy)] if proxy is not None else []),
            # The fs and allocation subtrees, ahead of the router (see subtrees.py).
            Middleware(SubtreeRoutes, subtrees=subtrees),
        ],
        exception_handlers={
            APIError: handle_api_error,
            ClientDisconnect: _client_left,
            Exception: _internal_error,
        },
    )
    # The routes, with the constant paths served by a dict lookup instead of the regex walk.
    app.router = ExactRouter(routes, lifespan=lifespan)
    app.state.agent = agent
    app.state.fleet_proxy = proxy
    return app


def match_any_byte(route: Route) -> Route:
    """Let the route's ``{name:path}`` parameters take a newline too.

    Go's ``ServeMux`` hands everything under a prefix to its handler, whatever the
    bytes (``/v1/job/a%0Ab`` is job ``a\\nb``); Starlette's path convertor is ``.*``,
    which stops at a newline, so such a request would miss every route and get
    Starlette's own ``404 Not Found``.
    """
    route.path_regex = re.compile(route.path_regex.pattern, re.DOTALL)
    return route


async def _fallthrough(request: Request) -> Response:
    # Nomad's root handler answers unknown paths with a bare 404 and an empty body.
    return Response(b"", status_code=404)


async def _client_left(request: Request, exc: Exception) -> Response:
    # Nobody is left to read an answer: one line for whoever debugs, no traceback.
    log.debug("client left before its request body ended", extra={"path": request.url.path})
    return Response(b"", status_code=400)


async def _internal_error(request: Request, exc: Exception) -> Response:
    log.error("unhandled error", exc_info=exc, extra={"path": request.url.path, "method": request.method})
    return error_response(500, f"internal error: {type(exc).__name__}: {exc}")
