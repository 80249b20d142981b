"""The checks a handler makes before it acts, each raising the reference's :class:`APIError`.

Nomad's handlers (``command/agent/fs_endpoint.go``, ``alloc_endpoint.go``,
``meta_endpoint.go``, ``stats_endpoint.go``, ``job_endpoint.go``) parse the generic
query parameters (``command/agent/http.go`` ``parse``), then their own, in a fixed
order; the client then looks the allocation or node up, and only then checks the
token's capabilities, so even a request without a token learns that an allocation
does not exist (``command/agent/helpers.go`` ``rpcHandlerForAlloc``). Every route
module builds its prologue from these steps, in that order.
"""

from __future__ import annotations

import errno
from collections.abc import Callable

from starlette.requests import Request

from outrider.acl.authorizer import Family, family_of
from outrider.acl.resolver import Identity
from outrider.agent import Agent
from outrider.allocs import Allocation
from outrider.fs.allocdir import (
    InvalidPathError,
    NotRegularFileError,
    SecretPathError,
    clean_rel,
    os_error_text,
)
from outrider.fs.errors import PathEscapesError
from outrider.gostrconv import GoNumError, parse_bool, parse_int, quote
from outrider.http.errors import APIError, unknown_alloc
from outrider.http.params import Query, check_generic, query_of, token_of

# -- the request --------------------------------------------------------------------------------


def agent_of(request: Request) -> Agent:
    """The agent the app serves."""
    agent: Agent = request.app.state.agent
    return agent


def begin(request: Request) -> tuple[Agent, Query]:
    """The agent and the query, once the generic parameters are valid."""
    query = query_of(request)
    check_generic(query)
    return agent_of(request), query


def begin_alloc(request: Request, alloc_id: str) -> tuple[Agent, Query]:
    """:func:`begin` for an allocation's endpoint: the id must be present, checked first."""
    if not alloc_id:
        raise APIError(400, "must provide a valid alloc id")
    return begin(request)


# -- endpoint parameters ------------------------------------------------------------------------


def require_path(query: Query) -> str:
    path = query.get("path")
    if not path:
        raise APIError(400, "must provide a file name")
    return path


def parse_int_param(query: Query, name: str, default: str) -> int:
    """``offset``/``limit`` as Go's ``strconv.ParseInt(s, 10, 64)`` reads them."""
    raw = query.get(name, default)
    try:
        return parse_int(raw)
    except GoNumError as exc:
        raise APIError(400, f"error parsing {name}: {exc}") from None


def parse_bool_field(query: Query, name: str, default: bool) -> bool:
    """A ``follow``/``plain`` flag of the fs endpoints, as Go's ``strconv.ParseBool`` reads it; empty means ``default``."""
    return _parse_flag(
        query, name, default, lambda raw, exc: f"failed to parse {name} field to boolean: {exc}"
    )


def parse_bool_param(query: Query, name: str) -> bool:
    """A flag as ``command/agent/http.go`` ``parseBool`` reads it (``purge``, ``resources``...); empty is false."""
    return _parse_flag(
        query,
        name,
        False,
        lambda raw, exc: f"Failed to parse value of {quote(name)} ({raw}) as a bool: {exc}",
    )


def _parse_flag(query: Query, name: str, default: bool, error: Callable[[str, GoNumError], str]) -> bool:
    raw = query.get(name)
    if not raw:
        return default
    try:
        return parse_bool(raw)
    except GoNumError as exc:
        raise APIError(400, error(raw, exc)) from None


def parse_origin_end(query: Query) -> bool:
    """``origin``: ``start`` (the default) or ``end``; True for ``end``."""
    origin = query.get("origin") or "start"
    if origin not in ("start", "end"):
        raise APIError(400, "origin must be start or end")
    return origin == "end"


# -- the target ---------------------------------------------------------------------------------


def lookup(agent: Agent, alloc_id: str) -> Allocation:
    """The allocation, or 404 ``Unknown allocation "<id>"`` (exact id, no prefix match)."""
    alloc = agent.allocs.get(alloc_id)
    if alloc is None:
        raise unknown_alloc(alloc_id)
    return alloc


def lookup_live(agent: Agent, alloc_id: str) -> Allocation:
    """:func:`lookup`, refusing an allocation whose state was collected, as ``client/fs_endpoint.go`` ``stream`` and ``logs`` do."""
    alloc = lookup(agent, alloc_id)
    if alloc.destroyed:
        raise APIError(404, f"state for allocation {alloc_id} not found on client")
    return alloc


def require_local_node(agent: Agent, node_id: str) -> None:
    """An empty or local ``node_id`` is served here; any other is ``404 Unknown node <id>``.

    With no servers to forward to, every other node is unknown. Nomad answers 404
    on ``/v1/client/stats`` but 500 on metadata and GC (only ``No path to node``
    maps to 404 there); Outrider answers 404 everywhere.
    """
    if node_id and node_id != agent.node_id:
        raise APIError(404, f"Unknown node {node_id}")


# -- authorization ------------------------------------------------------------------------------
# With ACLs off every check passes whoever asks: the ``authorize*`` helpers return before
# reading the token and the path, which would only be thrown away.


def _who(request: Request) -> tuple[str, str, Family]:
    """The request's token, its client address (what failed tokens are counted by) and its endpoint family."""
    # The path straight from the scope: ``request.url`` would build and re-split a whole URL
    # (much of a small request's own time) only to test its prefix. The two differ only
    # where ``?``, ``#`` or ``\\`` are escaped and tabs or newlines dropped; every route that
    # authorizes was matched on the scope's path, so its prefix and operation are the same.
    scope = request.scope
    client = scope.get("client")
    return token_of(request), client[0] if client is not None else "", family_of(scope["path"])


def identify(request: Request, agent: Agent, family: Family) -> Identity:
    """Who the request's token is; a token that does not authenticate is answered as ``family`` does."""
    token, address, _family = _who(request)
    return agent.authorizer.identity(token, address, family)


def authorize(request: Request, agent: Agent, alloc: Allocation, *caps: str, hide: bool = False) -> None:
    """Require one of the namespace capabilities ``caps`` in the allocation's namespace (never the
    request's ``?namespace=``). ``hide`` answers a denial as ``500 Unknown allocation "<id>"``, as
    ``nomad/alloc_endpoint.go`` ``GetAlloc`` does, so a denied caller learns nothing."""
    if not agent.authorizer.acl_enabled:
        return
    denied = APIError(500, f"Unknown allocation {quote(alloc.id)}") if hide else None
    agent.authorizer.allow_namespace(*_who(request), alloc.namespace, *caps, denied=denied)


def authorize_namespace(request: Request, agent: Agent, namespace: str, *caps: str) -> None:
    """Require one of the capabilities ``caps`` in ``namespace`` (the jobs API names it)."""
    if not agent.authorizer.acl_enabled:
        return
    agent.authorizer.allow_namespace(*_who(request), namespace, *caps)


def namespaces_listed(request: Request, agent: Agent, namespace: str, cap: str) -> Callable[[str], bool]:
    """The namespaces a listing may show (``namespace=*`` filters; a named one must grant ``cap``)."""
    return agent.authorizer.namespace_filter(*_who(request), namespace, cap)


def authorize_node(request: Request, agent: Agent, *, write: bool) -> None:
    """Require ``node:read``, or ``node:write`` when ``write``."""
    if not agent.authorizer.acl_enabled:
        return
    agent.authorizer.allow_node(*_who(request), write=write)


def authorize_agent(request: Request, agent: Agent, *, write: bool) -> None:
    """Require ``agent:read``, or ``agent:write`` when ``write``."""
    if not agent.authorizer.acl_enabled:
        return
    agent.authorizer.allow_agent(*_who(request), write=write)


# -- paths and file-system errors ---------------------------------------------------------------


def clean_or_error(path: str) -> str:
    """The path relative to the allocation directory, or 400 with the escape check's text."""
    try:
        return clean_rel(path)
    except (PathEscapesError, InvalidPathError) as exc:
        raise APIError(400, str(exc)) from None


def status_for(exc: OSError, missing: int) -> int:
    """Map a file-system error to a 4xx: ``missing`` for ENOENT, 403 for denials, else 400."""
    if isinstance(exc, PathEscapesError):
        return 400
    if isinstance(exc, SecretPathError):
        return 403
    if exc.errno == errno.ENOENT:
        return missing
    if exc.errno in (errno.EACCES, errno.EPERM):
        return 403
    return 400


def open_error(exc: OSError, rel: str) -> APIError:
    """Why a file could not be opened for reading: 400 for a directory, a device or a missing file."""
    if isinstance(exc, NotRegularFileError):
        return APIError(400, exc.strerror or str(exc))
    return APIError(status_for(exc, missing=400), os_error_text("stat", rel, exc))
