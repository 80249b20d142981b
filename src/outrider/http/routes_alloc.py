"""Allocation lifecycle on the client: ``restart``, ``signal``, ``gc`` (spec §14) and ``/v1/client/gc`` (spec §15).

GC of an allocation that is not eligible (still running, already collected, being
collected, or an external allocation Outrider only serves) answers **409 Conflict**
with the reference's text; Nomad answers 500 (spec §18 item 13), which says "server
fault" for what is the request conflicting with the allocation's state.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from outrider.agent import Agent
from outrider.allocs import Allocation
from outrider.gostrconv import quote
from outrider.http import auth
from outrider.http.errors import APIError, unknown_alloc
from outrider.http.methods import ANY_METHOD
from outrider.http.params import check_generic, query_of, token_of
from outrider.http.responses import json_response
from outrider.runner import RunnerError

NOT_ELIGIBLE = "No such allocation on client, or allocation not eligible for GC"
NOT_ELIGIBLE_STATUS = 409


def _begin(request: Request, alloc_id: str, *caps: str) -> tuple[Agent, Allocation]:
    if not alloc_id:
        raise APIError(400, "must provide a valid alloc id")
    check_generic(query_of(request))
    agent: Agent = request.app.state.agent
    alloc = agent.allocs.get(alloc_id)
    if alloc is None:
        raise unknown_alloc(alloc_id)
    agent.authorizer.allow_namespace(token_of(request), alloc.namespace, *caps)
    return agent, alloc


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise APIError(400, f"Failed to decode request body: {exc}") from None
    if not isinstance(body, dict):
        raise APIError(400, "Failed to decode request body: expected a JSON object")
    return body


def _generic_response(request: Request) -> Response:
    # Nomad answers lifecycle calls with a GenericResponse, whose only field is the index.
    return json_response({"Index": 0}, query_of(request))


def _own(alloc: Allocation) -> None:
    if alloc.external or alloc.destroyed:
        raise APIError(400, f"allocation {quote(alloc.id)} is not run by this agent")


async def alloc_restart(request: Request, alloc_id: str) -> Response:
    agent, alloc = _begin(request, alloc_id, auth.ALLOC_LIFECYCLE)
    body = await _body(request)
    _own(alloc)
    task = body.get("TaskName") or ""
    try:
        agent.runner.restart(alloc.id, str(task) or None, bool(body.get("AllTasks")))
    except RunnerError as exc:
        raise APIError(400, str(exc)) from None
    return _generic_response(request)


async def alloc_signal(request: Request, alloc_id: str) -> Response:
    agent, alloc = _begin(request, alloc_id, auth.ALLOC_LIFECYCLE)
    body = await _body(request)
    _own(alloc)
    try:
        agent.runner.signal(alloc.id, str(body.get("Signal") or ""), str(body.get("Task") or "") or None)
    except RunnerError as exc:
        raise APIError(400, str(exc)) from None
    return _generic_response(request)


async def alloc_gc(request: Request, alloc_id: str) -> Response:
    """Destroy one terminal allocation and wait for it (spec §14)."""
    agent, alloc = _begin(request, alloc_id, auth.SUBMIT_JOB, auth.GC_ALLOCATION)
    if not await agent.runner.collect(alloc.id):
        raise APIError(NOT_ELIGIBLE_STATUS, NOT_ELIGIBLE)
    return Response(b"", status_code=200)


async def client_gc(request: Request) -> Response:
    """Start destroying every terminal allocation and return at once (spec §15)."""
    query = query_of(request)
    check_generic(query)
    agent: Agent = request.app.state.agent
    node_id = query.get("node_id")
    agent.authorizer.allow_node(token_of(request), write=True)
    if node_id and node_id != agent.node_id:
        raise APIError(404, f"Unknown node {node_id}")
    agent.runner.collect_all()
    return Response(b"", status_code=200)


ALLOC_ACTIONS = {
    "restart": alloc_restart,
    "signal": alloc_signal,
    "gc": alloc_gc,
}

ROUTES = [Route("/v1/client/gc", client_gc, methods=ANY_METHOD)]
