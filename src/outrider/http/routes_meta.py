"""``GET`` and ``POST /v1/client/metadata`` (spec §13).

Order of checks, as in the reference: the method, the generic query
parameters, for POST the body decode, then the ACL (``node:read`` or
``node:write``), then the target node, then key validation.
"""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from outrider.agent import Agent
from outrider.http.body import read_body
from outrider.http.errors import APIError
from outrider.http.methods import ANY_METHOD
from outrider.http.params import Query, check_generic, query_of, token_of
from outrider.http.responses import json_response
from outrider.meta import (
    MAX_BODY_BYTES,
    MetaBodyError,
    MetaPersistError,
    MetaValidationError,
    check_entries,
    decode_apply_body,
    validate_keys,
)


def require_local_node(agent: Agent, node_id: str) -> None:
    """An empty or local ``node_id`` is served here; any other is ``404 Unknown node <id>`` (spec §1.7).

    With no servers to forward to, every other node is unknown. The reference
    answers 404 on ``/v1/client/stats`` but 500 on metadata and GC (spec §18
    item 13); Outrider answers 404 everywhere.
    """
    if node_id and node_id != agent.node_id:
        raise APIError(404, f"Unknown node {node_id}")


async def client_metadata(request: Request) -> Response:
    if request.method not in ("GET", "POST"):
        raise APIError(405, "Invalid method")
    agent: Agent = request.app.state.agent
    query = query_of(request)
    check_generic(query)
    if request.method == "GET":
        agent.authorizer.allow_node(token_of(request), write=False)
        require_local_node(agent, query.get("node_id"))
        return json_response(agent.meta.view(), query)
    return await _apply(request, agent, query)


# Bodies up to this size are decoded on the event loop; a larger one (up to the
# metadata body cap) takes long enough that it is decoded in a worker thread.
DECODE_INLINE_BYTES = 64 * 1024


async def _apply(request: Request, agent: Agent, query: Query) -> Response:
    try:
        raw = await read_body(request, MAX_BODY_BYTES)
        if len(raw) <= DECODE_INLINE_BYTES:
            body = decode_apply_body(raw)
        else:
            body = await asyncio.to_thread(decode_apply_body, raw)
    except MetaBodyError as exc:
        raise APIError(400, str(exc)) from None
    agent.authorizer.allow_node(token_of(request), write=True)
    # A non-empty node_id in the query overrides the body's NodeID (spec §13).
    require_local_node(agent, query.get("node_id") or body.node_id)
    try:
        # Sizes first: they are cheap, and bound what the key syntax check walks.
        check_entries(body.meta or {})
        validate_keys(None if body.meta is None else list(body.meta))
        assert body.meta is not None
        view = await agent.meta.apply(body.meta)
    except MetaValidationError as exc:
        raise APIError(400, str(exc)) from None
    except MetaPersistError as exc:
        raise APIError(500, str(exc)) from None
    return json_response(view, query)


ROUTES = [Route("/v1/client/metadata", client_metadata, methods=ANY_METHOD)]
