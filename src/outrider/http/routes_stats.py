"""``GET /v1/client/stats`` and ``/v1/client/allocation/<id>/stats``.

Nomad's handlers: ``command/agent/stats_endpoint.go``, ``command/agent/alloc_endpoint.go`` ``allocStats``.

Both answer from the latest sampled snapshot; a request never waits for a
sampling round.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from outrider.acl import authorizer as auth
from outrider.http.methods import ANY_METHOD
from outrider.http.prologue import authorize, authorize_node, begin, lookup, require_local_node
from outrider.http.responses import json_response
from outrider.http.subtrees import Handler


async def client_stats(request: Request) -> Response:
    agent, query = begin(request)
    authorize_node(request, agent, write=False)
    require_local_node(agent, query.get("node_id"))
    return json_response(await agent.host_stats.snapshot(), query)


async def alloc_stats(request: Request, alloc_id: str) -> Response:
    agent, query = begin(request)
    # Unknown allocation before the ACL check (``command/agent/helpers.go`` ``rpcHandlerForAlloc``).
    alloc = lookup(agent, alloc_id)
    authorize(request, agent, alloc, auth.READ_JOB)
    return json_response(agent.alloc_stats.usage(alloc.id, query.get("task") or None), query)


ROUTES = [Route("/v1/client/stats", client_stats, methods=ANY_METHOD)]

ALLOC_ACTIONS: dict[str, Handler] = {"stats": alloc_stats}
