"""Allocation lifecycle on the client: ``restart``, ``signal``, ``gc`` and ``/v1/client/gc``.

Nomad's handlers: ``command/agent/alloc_endpoint.go``.

GC of an allocation that is not eligible (still running, already collected, being
collected, or an external allocation Outrider only serves) answers **409 Conflict**
with the reference's text; Nomad answers 500 (``client/alloc_endpoint.go``
``GarbageCollect``), which says "server
fault" for what is the request conflicting with the allocation's state.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from outrider.acl import authorizer as auth
from outrider.agent import Agent
from outrider.allocs import Allocation
from outrider.http.body import read_json
from outrider.http.errors import APIError, not_run_here
from outrider.http.methods import ANY_METHOD
from outrider.http.params import query_of
from outrider.http.prologue import (
    authorize,
    authorize_node,
    begin,
    begin_alloc,
    lookup,
    require_local_node,
)
from outrider.http.responses import json_response
from outrider.runner import RunnerError

NOT_ELIGIBLE = "No such allocation on client, or allocation not eligible for GC"
NOT_ELIGIBLE_STATUS = 409
# The Go request types the bodies decode into, as their type errors name them.
RESTART_REQUEST = "AllocRestartRequest"
SIGNAL_REQUEST = "AllocSignalRequest"
_JSON_KINDS = {dict: "object", list: "array", str: "string", bool: "bool"}


def _begin(request: Request, alloc_id: str, *caps: str) -> tuple[Agent, Allocation]:
    agent, _query = begin_alloc(request, alloc_id)
    alloc = lookup(agent, alloc_id)
    authorize(request, agent, alloc, *caps)
    return agent, alloc


async def _body(request: Request) -> dict[str, Any]:
    body = await read_json(request, blank={})
    if not isinstance(body, dict):
        raise APIError(400, "Failed to decode request body: expected a JSON object")
    return body


def _field(body: dict[str, Any], struct: str, name: str, kind: type[str] | type[bool]) -> Any:
    """``body[name]`` when it has the Go field's JSON type (null reads as absent), else Go's decode error as a 400."""
    value = body.get(name)
    if value is None or type(value) is kind:
        return value
    got = _JSON_KINDS.get(type(value), "number")
    want = "string" if kind is str else "bool"
    raise APIError(
        400,
        f"Failed to decode request body: json: cannot unmarshal {got} into Go struct field "
        f"{struct}.{name} of type {want}",
    )


def _generic_response(request: Request) -> Response:
    # Nomad answers lifecycle calls with a GenericResponse, whose only field is the index.
    return json_response({"Index": 0}, query_of(request))


async def _lifecycle(request: Request, alloc_id: str) -> tuple[Agent, Allocation, dict[str, Any]]:
    """Restart and signal: ``alloc-lifecycle`` on the allocation, the body, then an allocation this agent runs."""
    agent, alloc = _begin(request, alloc_id, auth.ALLOC_LIFECYCLE)
    body = await _body(request)
    if alloc.external or alloc.destroyed:
        raise not_run_here(alloc.id)
    return agent, alloc, body


async def alloc_restart(request: Request, alloc_id: str) -> Response:
    agent, alloc, body = await _lifecycle(request, alloc_id)
    task = _field(body, RESTART_REQUEST, "TaskName", str)
    all_tasks = _field(body, RESTART_REQUEST, "AllTasks", bool)
    try:
        agent.runner.restart(alloc.id, task or None, bool(all_tasks))
    except RunnerError as exc:
        raise APIError(400, str(exc)) from None
    return _generic_response(request)


async def alloc_signal(request: Request, alloc_id: str) -> Response:
    agent, alloc, body = await _lifecycle(request, alloc_id)
    signal_name = _field(body, SIGNAL_REQUEST, "Signal", str)
    task = _field(body, SIGNAL_REQUEST, "Task", str)
    try:
        agent.runner.signal(alloc.id, signal_name or "", task or None)
    except RunnerError as exc:
        raise APIError(400, str(exc)) from None
    return _generic_response(request)


async def alloc_gc(request: Request, alloc_id: str) -> Response:
    """Destroy one terminal allocation and wait for it (``client/alloc_endpoint.go`` ``GarbageCollect``)."""
    agent, alloc = _begin(request, alloc_id, auth.SUBMIT_JOB, auth.GC_ALLOCATION)
    if not await agent.runner.collect(alloc.id):
        raise APIError(NOT_ELIGIBLE_STATUS, NOT_ELIGIBLE)
    return Response(b"", status_code=200)


async def client_gc(request: Request) -> Response:
    """Start destroying every terminal allocation and return at once.

    As ``client/alloc_endpoint.go`` ``GarbageCollectAll`` does.
    """
    agent, query = begin(request)
    authorize_node(request, agent, write=True)
    require_local_node(agent, query.get("node_id"))
    agent.runner.collect_all()
    return Response(b"", status_code=200)


ALLOC_ACTIONS = {
    "restart": alloc_restart,
    "signal": alloc_signal,
    "gc": alloc_gc,
}

ROUTES = [Route("/v1/client/gc", client_gc, methods=ANY_METHOD)]
