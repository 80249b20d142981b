"""The ASGI application: Nomad's routing (spec §1.1) on Starlette.

To add endpoints, a module exposes ``ROUTES`` (Starlette routes), ``FS_OPS``
(``/v1/client/fs/<op>/<alloc_id>`` handlers) or ``ALLOC_ACTIONS``
(``/v1/client/allocation/<alloc_id>/<action>`` handlers), and is listed in
``ROUTE_MODULES`` below.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from types import ModuleType

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from outrider.agent import Agent
from outrider.http import (
    routes_agent,
    routes_alloc,
    routes_fs,
    routes_jobs,
    routes_logs,
    routes_meta,
    routes_metrics,
    routes_node,
    routes_stats,
    routes_stream,
)
from outrider.http.errors import APIError, error_response, handle_api_error
from outrider.http.methods import ANY_METHOD
from outrider.http.middleware import EdgeMiddleware

log = logging.getLogger("outrider.http")

AllocAction = Callable[[Request, str], Awaitable[Response]]

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
]


def _collect(name: str) -> dict[str, Callable[[Request, str], Awaitable[object]]]:
    table: dict[str, Callable[[Request, str], Awaitable[object]]] = {}
    for module in ROUTE_MODULES:
        table.update(getattr(module, name, {}))
    return table


def build_app(agent: Agent) -> Starlette:
    """The ASGI app serving ``agent``; its lifespan starts and stops the agent's services."""
    fs_ops = _collect("FS_OPS")
    alloc_actions = _collect("ALLOC_ACTIONS")

    async def fs_dispatch(request: Request) -> object:
        # Go's ServeMux hands "/v1/client/fs/" the rest; the first component picks the
        # operation and everything after its slash, slashes included, is the alloc id.
        rest: str = request.path_params["rest"]
        op, sep, alloc_id = rest.partition("/")
        handler = fs_ops.get(op) if sep else None
        if handler is None:
            raise APIError(404, "Invalid method")
        return await handler(request, alloc_id)

    async def alloc_dispatch(request: Request) -> object:
        parts = request.path_params["rest"].split("/")
        handler = alloc_actions.get(parts[1]) if len(parts) == 2 else None
        if handler is None:
            raise APIError(404, "resource not found")
        return await handler(request, parts[0])

    # Starlette tries routes in order: the file-system subtree carries the hot
    # requests, so it is matched first (no other route shares its prefixes).
    routes: list[BaseRoute] = [
        Route("/v1/client/fs/{rest:path}", fs_dispatch, methods=ANY_METHOD),  # type: ignore[arg-type]
        Route("/v1/client/allocation/{rest:path}", alloc_dispatch, methods=ANY_METHOD),  # type: ignore[arg-type]
    ]
    for module in ROUTE_MODULES:
        routes.extend(getattr(module, "ROUTES", []))
    routes.append(Route("/{rest:path}", _fallthrough, methods=ANY_METHOD))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await agent.start()
        try:
            yield
        finally:
            await agent.stop()

    app = Starlette(
        routes=routes,
        middleware=[
            # Request metrics, CORS/operator headers and the body drain, fused into one hop.
            Middleware(EdgeMiddleware, extra_headers=agent.config.response_headers),
        ],
        exception_handlers={APIError: handle_api_error, Exception: _internal_error},
        lifespan=lifespan,
    )
    app.state.agent = agent
    return app


async def _fallthrough(request: Request) -> Response:
    # Nomad's root handler answers unknown paths with a bare 404 and an empty body.
    return Response(b"", status_code=404)


async def _internal_error(request: Request, exc: Exception) -> Response:
    log.error("unhandled error", exc_info=exc, extra={"path": request.url.path, "method": request.method})
    return error_response(500, f"internal error: {type(exc).__name__}: {exc}")
