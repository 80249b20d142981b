"""Any agent answers for any node: requests for another node's node or allocation go to that node.

Nomad's client agents forward a request for a node or an allocation they do not hold
to the servers, which forward it to the node that holds it (``command/agent/helpers.go``
``rpcHandlerForAlloc`` and ``rpcHandlerForNode``); a node that cannot be reached is
``404 No path to node``. Here the fleet's records say which node holds what, and the
request goes straight to that node's advertised address:

- node-addressed endpoints (``/v1/client/metadata``, ``/v1/client/stats``,
  ``/v1/client/gc``) by their ``?node_id=``, and ``/v1/node/<id>`` by its path;
- allocation-addressed ones (``/v1/client/fs/<op>/<id>``,
  ``/v1/client/allocation/<id>/<action>``, ``/v1/allocation/<id>``) by the allocation;
- a job's logs (``/v1/job/<id>/logs``, Outrider's own) by the node that holds the job's
  allocations (jobs stay on the agent they were submitted to).

What this agent holds, and what no record names, is served here as before (so an
unknown node or allocation gets the local handler's answer). The receiving agent
checks that the caller's token authenticates; the request goes on with that same
token, and the owner checks its capabilities again. A forwarded request is marked
and never forwarded twice.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from outrider.acl.authorizer import family_of
from outrider.agent import Agent
from outrider.errors import APIError
from outrider.fleet.membership import NoPath
from outrider.goduration import GoDurationError, parse_duration
from outrider.http.errors import error_response
from outrider.http.fleet_proxy import FORWARDED_HEADER, NO_PATH, FleetProxy
from outrider.http.params import token_of
from outrider.meta import MAX_BODY_BYTES

_NODE_ENDPOINTS = frozenset({"/v1/client/metadata", "/v1/client/stats", "/v1/client/gc"})
# A blocking query without ``wait`` waits up to five minutes (``command/agent/http.go`` parseWait).
_DEFAULT_WAIT = 300.0


def target_of(scope: Scope) -> tuple[str, str] | None:
    """``("node", id)`` or ``("alloc", id)`` for a request addressed to one, else None."""
    path: str = scope["path"]
    if path in _NODE_ENDPOINTS:
        node_id = _query(scope).get("node_id", "")
        return ("node", node_id) if node_id else None
    if path.startswith("/v1/node/"):
        return ("node", path[len("/v1/node/") :])
    if path.startswith("/v1/client/fs/"):
        _op, sep, alloc_id = path[len("/v1/client/fs/") :].partition("/")
        return ("alloc", alloc_id) if sep and alloc_id else None
    if path.startswith("/v1/client/allocation/"):
        parts = path[len("/v1/client/allocation/") :].split("/")
        return ("alloc", parts[0]) if len(parts) == 2 and parts[0] else None
    if path.startswith("/v1/job/") and path.endswith("/logs"):
        job_id = path[len("/v1/job/") : -len("/logs")]
        return ("job", job_id) if job_id else None
    if path.startswith("/v1/allocation/"):
        rest = path[len("/v1/allocation/") :]
        alloc_id = rest[: -len("/stop")] if rest.endswith("/stop") else rest
        return ("alloc", alloc_id) if alloc_id else None
    return None


def _query(scope: Scope) -> dict[str, str]:
    found: dict[str, str] = {}
    # The first value of each name, as Go's ``url.Values.Get``.
    for name, value in parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True):
        found.setdefault(name, value)
    return found


async def _body_node(receive: Receive) -> tuple[tuple[str, str] | None, Receive]:
    """A metadata POST without ``?node_id=`` names its node in the body's ``NodeID``
    (``command/agent/meta_endpoint.go``): the target it names, and a ``receive`` that
    replays what was read. A body past the metadata bound is not looked into."""
    messages: list[Message] = []
    size = 0
    complete = False
    while size <= MAX_BODY_BYTES:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break
        size += len(message.get("body", b""))
        if not message.get("more_body", False):
            complete = True
            break

    async def replay() -> Message:
        return messages.pop(0) if messages else await receive()

    node_id = ""
    if complete and size <= MAX_BODY_BYTES:
        try:
            body = orjson.loads(b"".join(m.get("body", b"") for m in messages))
        except orjson.JSONDecodeError:
            body = None
        if isinstance(body, dict) and isinstance(body.get("NodeID"), str):
            node_id = body["NodeID"]
    return (("node", node_id) if node_id else None), replay


def _blocking_wait(scope: Scope) -> float:
    query = _query(scope)
    if not query.get("index"):
        return 0.0
    try:
        return parse_duration(query["wait"]) / 1e9 if query.get("wait") else _DEFAULT_WAIT
    except GoDurationError:
        return 0.0


class FleetRouter:
    """ASGI middleware: forwards what another fleet member owns; everything else goes on to ``app``."""

    def __init__(self, app: ASGIApp, agent: Agent, proxy: FleetProxy) -> None:
        self.app = app
        self.agent = agent
        self.proxy = proxy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        fleet = self.agent.fleet
        if scope["type"] != "http" or fleet is None:
            await self.app(scope, receive, send)
            return
        if any(k == FORWARDED_HEADER.encode() for k, _ in scope["headers"]):
            await self.app(scope, receive, send)
            return
        target = target_of(scope)
        if target is None and scope["path"] == "/v1/client/metadata" and scope["method"] == "POST":
            target, receive = await _body_node(receive)
        if target is None:
            await self.app(scope, receive, send)
            return
        kind, ident = target
        try:
            owner = await self._owner(kind, ident, _query(scope).get("namespace") or "default")
        except NoPath:
            await error_response(404, NO_PATH)(scope, receive, send)
            return
        if owner is None:
            await self.app(scope, receive, send)
            return
        try:
            self._check_token(scope, receive)
        except APIError as exc:
            await error_response(exc.status, exc.message, exc.headers)(scope, receive, send)
            return
        await self.proxy.forward(owner, scope, receive, send, blocking=_blocking_wait(scope))

    async def _owner(self, kind: str, ident: str, namespace: str) -> str | None:
        """The advertise URL of the member that owns the target; None to serve it here."""
        agent = self.agent
        fleet = agent.fleet
        assert fleet is not None
        if kind == "job":
            if agent.jobs.store.get(namespace, ident) is not None:
                return None
            found = await fleet.job_node(namespace, ident)
            if found is None:
                return None  # no member holds it: the local 404
            node_id = found
        elif kind == "alloc":
            if agent.allocs.get(ident) is not None:
                return None
            record = await fleet.owner_of(ident)
            if record is None:
                return None
            node_id = record.node_id
        else:
            node_id = ident
        if node_id == agent.node_id:
            return None
        node = fleet.node(node_id)
        if node is None:
            if kind != "node":
                # The allocation's node left the fleet.
                raise NoPath
            return None
        if node.status != "ready":
            raise NoPath
        return node.advertise

    def _check_token(self, scope: Scope, receive: Receive) -> None:
        """The receiving agent's check: the caller's token must authenticate here too."""
        if not self.agent.config.acl_enabled:
            return
        request = Request(scope, receive)
        client = request.client
        self.agent.authorizer.identity(
            token_of(request), client.host if client else "", family_of(scope["path"])
        )


async def from_members(request: Request, agent: Agent) -> list[Any]:
    """The same GET asked of every other ready member, as a forwarded request with the caller's token:
    the JSON lists they answer, joined. A member that does not answer in time is left out."""
    fleet = agent.fleet
    proxy: FleetProxy | None = request.app.state.fleet_proxy
    if (
        fleet is None
        or proxy is None
        or any(k == FORWARDED_HEADER.encode() for k, _ in request.scope["headers"])
    ):
        return []
    path = request.scope["raw_path"].decode("latin-1")
    if request.scope.get("query_string"):
        path += "?" + request.scope["query_string"].decode("latin-1")
    members = [r for r in fleet.nodes() if r.id != agent.node_id and r.status == "ready"]
    answers = await asyncio.gather(
        *(proxy.get_json(r.advertise, path, request.scope["headers"]) for r in members)
    )
    return [item for answer in answers if isinstance(answer, list) for item in answer]
