"""``GET /v1/client/stats`` (spec §11) and ``/v1/client/allocation/<id>/stats`` (spec §12).

Both answer from the latest sampled snapshot; a request never waits for a
sampling round.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from outrider.acl import authorizer as auth
from outrider.agent import Agent
from outrider.http.methods import ANY_METHOD
from outrider.http.params import check_generic, query_of, token_of
from outrider.http.responses import json_response
from outrider.http.routes_fs import lookup
from outrider.http.routes_meta import require_local_node


async def client_stats(request: Request) -> Response:
    agent: Agent = request.app.state.agent
    query = query_of(request)
    check_generic(query)
    agent.authorizer.allow_node(token_of(request), write=False)
    require_local_node(agent, query.get("node_id"))
    return json_response(await agent.host_stats.snapshot(), query)


async def alloc_stats(request: Request, alloc_id: str) -> Response:
    agent: Agent = request.app.state.agent
    query = query_of(request)
    check_generic(query)
    # Unknown allocation before the ACL check (spec §1.7, §12).
    alloc = lookup(agent, alloc_id)
    agent.authorizer.allow_namespace(token_of(request), alloc.namespace, auth.READ_JOB)
    return json_response(agent.alloc_stats.usage(alloc.id, query.get("task") or None), query)


ROUTES = [Route("/v1/client/stats", client_stats, methods=ANY_METHOD)]

ALLOC_ACTIONS: dict[str, Callable[[Request, str], Awaitable[Response]]] = {"stats": alloc_stats}
