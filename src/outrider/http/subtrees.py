"""Nomad's subtree handlers, matched by prefix ahead of Starlette's router.

Go's ``ServeMux`` hands everything under ``/v1/client/fs/`` to one handler and
everything under ``/v1/client/allocation/`` to another; each picks an operation
from the rest of the path. Those two subtrees carry the hot requests (``stat``,
``readat``, ``cat``, streams), so they are served here: a prefix test and a dict
lookup instead of the router's walk, its regex match and its two exception
wrappers. Behaviour is the router's: an :class:`APIError` from a handler is the
answer, anything else propagates to the app's 500 handler.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from outrider.http.errors import APIError, error_response

Handler = Callable[[Request, str], Awaitable[Response]]
# The path below the prefix -> (handler, alloc id, route label), or None for a 404.
Resolver = Callable[[str], "tuple[Handler, str, str] | None"]

# Where the request metrics find the route label of a request served here.
ROUTE_LABEL_KEY = "outrider.route"


@dataclass(frozen=True, slots=True)
class Subtree:
    prefix: str
    resolve: Resolver
    not_found: str
    not_found_label: str


def fs_subtree(ops: Mapping[str, Handler]) -> Subtree:
    """``/v1/client/fs/<op>/<alloc_id>``: everything after the op's slash, slashes included, is the id."""
    labels = {op: f"/v1/client/fs/{op}" for op in ops}

    def resolve(rest: str) -> tuple[Handler, str, str] | None:
        op, sep, alloc_id = rest.partition("/")
        handler = ops.get(op) if sep else None
        return None if handler is None else (handler, alloc_id, labels[op])

    return Subtree("/v1/client/fs/", resolve, "Invalid method", "/v1/client/fs/{unknown}")


def allocation_subtree(actions: Mapping[str, Handler]) -> Subtree:
    """``/v1/client/allocation/<alloc_id>/<action>``: exactly two components."""
    labels = {action: f"/v1/client/allocation/{{alloc_id}}/{action}" for action in actions}

    def resolve(rest: str) -> tuple[Handler, str, str] | None:
        parts = rest.split("/")
        handler = actions.get(parts[1]) if len(parts) == 2 else None
        return None if handler is None else (handler, parts[0], labels[parts[1]])

    return Subtree("/v1/client/allocation/", resolve, "resource not found", "/v1/client/allocation/{unknown}")


class SubtreeRoutes:
    """ASGI middleware serving :class:`Subtree` prefixes; every other request goes on to ``app``."""

    def __init__(self, app: ASGIApp, subtrees: list[Subtree]) -> None:
        self.app = app
        self.subtrees = subtrees

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            for subtree in self.subtrees:
                if path.startswith(subtree.prefix):
                    await self._serve(subtree, path[len(subtree.prefix) :], scope, receive, send)
                    return
        await self.app(scope, receive, send)

    @staticmethod
    async def _serve(subtree: Subtree, rest: str, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive, send)
        found = subtree.resolve(rest)
        response: Response
        if found is None:
            scope[ROUTE_LABEL_KEY] = subtree.not_found_label
            response = error_response(404, subtree.not_found)
        else:
            handler, alloc_id, scope[ROUTE_LABEL_KEY] = found
            try:
                response = await handler(request, alloc_id)
            except APIError as exc:
                response = error_response(exc.status, exc.message)
        await response(scope, receive, send)
