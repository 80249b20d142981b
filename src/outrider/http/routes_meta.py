"""``GET`` and ``POST /v1/client/metadata`` (``command/agent/meta_endpoint.go``).

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
from outrider.http.errors import APIError, invalid_method
from outrider.http.methods import ANY_METHOD
from outrider.http.params import Query
from outrider.http.prologue import authorize_node, begin, require_local_node
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


async def client_metadata(request: Request) -> Response:
    if request.method not in ("GET", "POST"):
        raise invalid_method()
    agent, query = begin(request)
    if request.method == "GET":
        authorize_node(request, agent, write=False)
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
    authorize_node(request, agent, write=True)
    # A non-empty node_id in the query overrides the body's NodeID (``command/agent/meta_endpoint.go``).
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
