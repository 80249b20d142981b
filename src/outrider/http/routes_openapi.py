"""``GET /v1/openapi.json``: the OpenAPI 3.1 document of this agent's API (:mod:`outrider.http.openapi`).

Outrider's own endpoint (Nomad publishes no machine-readable description of its
HTTP API). It checks no ACL, as ``/v1/metrics`` does not: the document describes
the API, not this agent's state.
"""

from __future__ import annotations

import functools

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from outrider.http.errors import invalid_method
from outrider.http.methods import ANY_METHOD
from outrider.http.openapi import OPENAPI_PATH, build_document
from outrider.http.params import query_of
from outrider.http.responses import encode_json, wants_pretty


@functools.cache
def _encoded(pretty: bool) -> bytes:
    # The document never changes while the agent runs: encode it once per form.
    return encode_json(build_document(), pretty)


async def openapi_document(request: Request) -> Response:
    if request.method != "GET":
        raise invalid_method()
    return Response(_encoded(wants_pretty(query_of(request))), media_type="application/json")


ROUTES = [Route(OPENAPI_PATH, openapi_document, methods=ANY_METHOD)]
