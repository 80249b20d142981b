"""Starlette's router with a dictionary in front of it for routes whose path is a constant.

Starlette's :class:`~starlette.routing.Router` tries every route's regex in
order until one matches; ``/v1/client/stats`` and ``/v1/client/metadata`` sit
behind several others, so each request paid a handful of regex matches before
its handler ran. Most of the API's paths are constants (``/v1/agent/self``,
``/v1/client/gc``...): :class:`ExactRouter` looks those up in a dict and hands
the request to the very route the walk would have chosen, with the same scope
(``route``, ``endpoint``, ``path_params``, ``router``). Anything else (a path
with parameters, a method the route does not take, a trailing slash, a
``root_path``) takes the walk as before, so 405s, redirects and 404s are
unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.routing import BaseRoute, Route, Router
from starlette.types import Lifespan, Receive, Scope, Send


def exact_routes(routes: Sequence[BaseRoute]) -> dict[str, Route]:
    """The routes the walk would pick for their own constant path, by that path.

    A constant route is left out when an earlier route's pattern also matches its
    path: the walk would try that one first.
    """
    table: dict[str, Route] = {}
    for i, route in enumerate(routes):
        if not isinstance(route, Route) or route.param_convertors or not route.methods:
            continue
        path = route.path
        if path in table or not route.path_regex.fullmatch(path):
            continue
        earlier = routes[:i]
        if any(isinstance(r, Route) and r.path_regex.match(path) for r in earlier):
            continue
        if any(not isinstance(r, Route) for r in earlier):
            # A mount or host route before it could claim the path: leave it to the walk.
            continue
        table[path] = route
    return table


class ExactRouter(Router):
    """:class:`~starlette.routing.Router` serving constant paths by dictionary lookup."""

    def __init__(self, routes: Sequence[BaseRoute], lifespan: Lifespan[Any] | None = None) -> None:
        super().__init__(routes, lifespan=lifespan)
        self.exact = exact_routes(self.routes)

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope.get("root_path"):
            route = self.exact.get(scope["path"])
            if route is not None and scope["method"] in route.methods:  # type: ignore[operator]
                # What Router.app and Route.matches put in the scope on a full match.
                if "router" not in scope:
                    scope["router"] = self
                scope["route"] = route
                scope["endpoint"] = route.endpoint
                scope["path_params"] = dict(scope.get("path_params", {}))
                await route.app(scope, receive, send)
                return
        await super().app(scope, receive, send)
