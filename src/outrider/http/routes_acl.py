"""The ACL API: ``/v1/acl/bootstrap``, ``/v1/acl/policies``, ``/v1/acl/policy/<name>``,
``/v1/acl/tokens``, ``/v1/acl/token``, ``/v1/acl/token/<accessor>`` and ``/v1/acl/token/self``
(``command/agent/acl_endpoint.go``, ``nomad/acl_endpoint.go``).

Each handler checks in Nomad's order: the method, the query (GET) or the body
(writes), ACLs being enabled (``400 ACL support disabled``), the caller's token
(any problem is ``403 Permission denied``, except on ``token/self`` and
``GET token/<id>`` which answer the raw error), then the permission.

Two answers differ from Nomad on purpose: the state keeps only a digest of each
SecretID, so a token's SecretID is shown where the caller has just been given it
(bootstrap, create) or has just presented it (``token/self``, reading one's own
token, an update whose body carries it), and is ``""`` elsewhere.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from outrider.acl.authorizer import Family
from outrider.acl.bodies import EMPTY_BODY, BodyError, decode_bootstrap, decode_policy_body, decode_token
from outrider.acl.errors import ACLRequestError
from outrider.acl.resolver import ANONYMOUS_POLICY, PERMISSION_DENIED, TOKEN_NOT_FOUND, Identity
from outrider.acl.service import ACLService
from outrider.acl.store import POLICY_TABLE, TOKEN_TABLE
from outrider.acl.token import ACLToken
from outrider.acl.token_list import select
from outrider.acl.uuids import UUIDIndexError, index_key, is_uuid
from outrider.agent import Agent
from outrider.http.blocking import block
from outrider.http.body import read_body
from outrider.http.drain import declared_length
from outrider.http.errors import APIError, error_response, invalid_method
from outrider.http.methods import ANY_METHOD
from outrider.http.params import Query, query_of, token_of
from outrider.http.prologue import agent_of, begin, identify
from outrider.http.responses import json_response, wants_pretty

ACL_DISABLED = "ACL support disabled"
WRITE_METHODS = ("PUT", "POST")
CRUD_METHODS = ("GET", "PUT", "POST", "DELETE")

Handler = Callable[[Request], Awaitable[Response]]


def _translated(handler: Handler) -> Handler:
    """Answer :class:`ACLRequestError` (raised below the HTTP layer) with its status and text."""

    async def wrapper(request: Request) -> Response:
        try:
            return await handler(request)
        except ACLRequestError as exc:
            raise APIError(exc.status, exc.message) from None

    wrapper.__name__ = handler.__name__
    return wrapper


# -- helpers -------------------------------------------------------------------------------------


def _service(request: Request) -> ACLService:
    return agent_of(request).acl


def _require_enabled(acl: ACLService) -> None:
    if not acl.enabled:
        raise APIError(400, ACL_DISABLED)


def _identity(acl: ACLService, request: Request) -> Identity:
    """The caller; any token problem is ``403 Permission denied``."""
    return identify(request, request.app.state.agent, Family.SERVER)


def _raw_identity(acl: ACLService, request: Request) -> Identity:
    """The caller; a token problem is answered as it is (``token/self``, ``GET token/<id>``)."""
    return identify(request, request.app.state.agent, Family.CLIENT)


def _management_write(request: Request) -> ACLService:
    """A write's checks once its body is read: ACLs enabled, then a management token."""
    acl = _service(request)
    _require_enabled(acl)
    _management(acl, request)
    return acl


def _management(acl: ACLService, request: Request) -> Identity:
    identity = _identity(acl, request)
    if not identity.is_management:
        raise APIError(403, PERMISSION_DENIED)
    return identity


def _read_headers(index: int) -> dict[str, str]:
    return {"X-Nomad-Index": str(index), "X-Nomad-KnownLeader": "true", "X-Nomad-LastContact": "0"}


def _written(index: int) -> Response:
    """A write with nothing to say: 200, no body, no Content-Type."""
    return Response(b"", status_code=200, headers={"X-Nomad-Index": str(index)})


def _token_response(token: ACLToken, secret: str, query: Query, headers: dict[str, str]) -> Response:
    # Nomad encodes a single token with its own marshaller, so ?pretty leaves it compact but still
    # adds the newline pretty output ends with.
    body = token.to_json(secret) + (b"\n" if wants_pretty(query) else b"")
    return Response(body, status_code=200, media_type="application/json", headers=headers)


async def _body(request: Request) -> bytes:
    if declared_length(request.scope) == 0:
        raise APIError(400, EMPTY_BODY)
    return await read_body(request)


class _TableWatch:
    """A table's last index as blocking queries wait on it: each new index of the state wakes the
    waiter, which sleeps again until this table's index passes the one asked for."""

    def __init__(self, agent: Agent, table: str) -> None:
        self.agent = agent
        self.table = table

    @property
    def modify_index(self) -> int:
        return self.agent.acl.store.table_index(self.table)

    async def wait_for_change(self, index: int, timeout: float) -> None:
        await self.agent.index.wait_until(lambda: self.modify_index > index, timeout)


def _begin_read(request: Request) -> tuple[ACLService, Query]:
    """A GET's common start: the generic query, then ACLs enabled."""
    agent, query = begin(request)
    _require_enabled(agent.acl)
    return agent.acl, query


async def _wait(request: Request, query: Query, table: str) -> None:
    """Hold a blocking query (``?index=``) until ``table`` moves past it; after the permission checks,
    so a caller without access is refused at once."""
    agent: Agent = request.app.state.agent
    await block(request, query, _TableWatch(agent, table))


# -- bootstrap -----------------------------------------------------------------------------------


@_translated
async def bootstrap(request: Request) -> Response:
    if request.method not in WRITE_METHODS:
        raise invalid_method()
    secret = ""
    # The body is read only when there is one (a chunked body counts as one); any token is ignored.
    if declared_length(request.scope) != 0:
        try:
            secret = decode_bootstrap(await read_body(request))
        except BodyError as exc:
            raise APIError(400, str(exc)) from None
    acl = _service(request)
    _require_enabled(acl)
    written = acl.bootstrap(secret)
    return _token_response(
        written.token, written.secret, query_of(request), {"X-Nomad-Index": str(written.index)}
    )


# -- policies ------------------------------------------------------------------------------------


@_translated
async def policies(request: Request) -> Response:
    if request.method != "GET":
        raise invalid_method()
    acl, query = _begin_read(request)
    identity = _identity(acl, request)
    await _wait(request, query, POLICY_TABLE)
    stubs = _visible_policies(acl, identity, query.get("prefix"))
    return json_response(stubs, query, headers=_read_headers(max(acl.store.table_index(POLICY_TABLE), 1)))


def _visible_policies(acl: ACLService, identity: Identity, prefix: str) -> list[dict[str, Any]]:
    """Management sees every policy; anyone else the ones attached to its token."""
    records = acl.resolver.policies_of(identity.token)
    return [r.stub() for r in records if r.name.startswith(prefix)]


@_translated
async def policy_specific(request: Request) -> Response:
    name: str = request.path_params["name"]
    if name == "":
        raise APIError(400, "Missing Policy Name")
    if name == "self":
        return await _policy_self(request)
    if request.method not in CRUD_METHODS:
        raise invalid_method()
    if request.method == "GET":
        return await _policy_get(request, name)
    if request.method == "DELETE":
        return _written(_management_write(request).delete_policy(name))
    try:
        body = decode_policy_body(await _body(request))
    except BodyError as exc:
        raise APIError(400, str(exc)) from None
    if body.name != name:
        raise APIError(400, "ACL policy name does not match request path")
    return _written(_management_write(request).upsert_policy(body))


async def _policy_get(request: Request, name: str) -> Response:
    acl, query = _begin_read(request)
    identity = _identity(acl, request)
    # Anyone may read the anonymous policy; otherwise management or a token holding it, and the
    # refusal comes before the lookup, so it does not tell whether the policy exists.
    if (
        name != ANONYMOUS_POLICY
        and not identity.is_management
        and name not in (identity.token.policies or ())
    ):
        raise APIError(403, PERMISSION_DENIED)
    await _wait(request, query, POLICY_TABLE)
    record = acl.store.policy(name)
    if record is None:
        missing = error_response(404, "ACL policy not found")
        missing.headers.update(_read_headers(acl.store.table_index(POLICY_TABLE)))
        return missing
    return json_response(record.with_rules_json(), query, headers=_read_headers(record.modify_index))


async def _policy_self(request: Request) -> Response:
    """``GET /v1/acl/policy/self``: for a token, its policies (``null`` for none); without one, the
    workload-identity path, which this agent has no identities for."""
    if request.method != "GET":
        raise invalid_method()
    if not is_uuid(token_of(request)):
        raise APIError(403, PERMISSION_DENIED)
    acl, query = _begin_read(request)
    identity = _identity(acl, request)
    await _wait(request, query, POLICY_TABLE)
    stubs = _visible_policies(acl, identity, query.get("prefix"))
    return json_response(
        stubs or None, query, headers=_read_headers(max(acl.store.table_index(POLICY_TABLE), 1))
    )


# -- tokens --------------------------------------------------------------------------------------


@_translated
async def tokens(request: Request) -> Response:
    if request.method != "GET":
        raise invalid_method()
    acl, query = _begin_read(request)
    _management(acl, request)
    if query.get("filter"):
        raise APIError(
            400,
            "failed to create result paginator: failed to read filter expression: "
            "filter expressions are not supported by this agent",
        )
    prefix = query.get("prefix")
    prefix_key = None
    if prefix:
        try:
            prefix_key = index_key(prefix, enforce_length=False)
        except UUIDIndexError as exc:
            raise APIError(500, f"acl token lookup failed: index error: {exc}") from None
    await _wait(request, query, TOKEN_TABLE)
    per_page = int(query.get("per_page") or 0)
    page = select(
        acl.store.tokens(), prefix_key, query.get("reverse") == "true", per_page, query.get("next_token")
    )
    headers = _read_headers(acl.store.table_index(TOKEN_TABLE))
    if page.next_token:
        headers["X-Nomad-NextToken"] = page.next_token
    return json_response([t.stub() for t in page.tokens], query, headers=headers)


@_translated
async def token_create(request: Request) -> Response:
    if request.method not in WRITE_METHODS:
        raise invalid_method()
    return await _token_upsert(request, None)


async def _token_upsert(request: Request, path_accessor: str | None) -> Response:
    try:
        body = decode_token(await _body(request))
    except BodyError as exc:
        raise APIError(400, str(exc)) from None
    if path_accessor is not None and body.accessor_id != path_accessor:
        raise APIError(400, "ACL token accessor does not match request path")
    written = _management_write(request).upsert_token(body)
    return _token_response(
        written.token, written.secret, query_of(request), {"X-Nomad-Index": str(written.index)}
    )


@_translated
async def token_specific(request: Request) -> Response:
    accessor: str = request.path_params["accessor"]
    if accessor == "":
        raise APIError(400, "Missing Token Accessor")
    if accessor == "self":
        return await _token_self(request)
    if accessor in ("onetime", "onetime/exchange"):
        # One-time tokens (the web UI's login links) are not offered: Nomad's answer for an
        # unregistered path.
        return Response(b"", status_code=404)
    if request.method not in CRUD_METHODS:
        raise invalid_method()
    if request.method == "GET":
        return await _token_get(request, accessor)
    if request.method == "DELETE":
        return _written(_management_write(request).delete_token(accessor))
    return await _token_upsert(request, accessor)


async def _token_get(request: Request, accessor: str) -> Response:
    acl, query = _begin_read(request)
    identity = _raw_identity(acl, request)
    try:
        key = index_key(accessor)
    except UUIDIndexError as exc:
        raise APIError(500, f"acl token lookup failed: index error: {exc}") from None
    await _wait(request, query, TOKEN_TABLE)
    token = acl.store.token(key)
    if token is None:
        if identity.is_management:
            raise APIError(404, TOKEN_NOT_FOUND)
        raise APIError(403, PERMISSION_DENIED)
    own = identity.secret != "" and acl.store.secret_matches(key, identity.secret)
    if not (identity.is_management or own):
        raise APIError(403, PERMISSION_DENIED)
    return _token_response(token, identity.secret if own else "", query, _read_headers(token.modify_index))


async def _token_self(request: Request) -> Response:
    """``GET /v1/acl/token/self``: the caller's own token, also with ACLs off."""
    if request.method != "GET":
        raise invalid_method()
    agent, query = begin(request)
    acl = agent.acl
    identity = _raw_identity(acl, request)
    index = identity.token.modify_index
    return _token_response(identity.token, identity.secret, query, _read_headers(index))


ROUTES = [
    Route("/v1/acl/bootstrap", bootstrap, methods=ANY_METHOD),
    Route("/v1/acl/policies", policies, methods=ANY_METHOD),
    Route("/v1/acl/policy/{name:path}", policy_specific, methods=ANY_METHOD),
    Route("/v1/acl/tokens", tokens, methods=ANY_METHOD),
    Route("/v1/acl/token", token_create, methods=ANY_METHOD),
    Route("/v1/acl/token/{accessor:path}", token_specific, methods=ANY_METHOD),
]
