"""The one authorization step every endpoint goes through.

The request's token is resolved (:class:`~outrider.acl.resolver.ACLResolver`) and
its ACL asked for the capability the endpoint needs, as Nomad's handlers do
(``client/fs_endpoint.go``, ``client/alloc_endpoint.go``, ``nomad/job_endpoint.go``,
``nomad/alloc_endpoint.go``, ``command/agent/agent_endpoint.go``). A token that
does not authenticate is answered with the status and text of the endpoint's
family: the client path (``client/acl.go`` ``resolveTokenAndACL``) keeps the
resolver's raw error, server endpoints turn it into ``Permission denied``.

Failed tokens are rate-limited per client address (a token bucket): an address
past its budget is answered 429 for any request carrying a token until the bucket
refills, so secrets cannot be guessed at speed. With ACLs disabled every request
is allowed, whatever its token.
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Callable

from outrider.acl import capabilities as caps
from outrider.acl.acl import ACL
from outrider.acl.resolver import ACLResolver, Identity, TokenError
from outrider.errors import APIError, permission_denied

log = logging.getLogger("outrider.acl")

# Namespace capabilities named by the endpoints.
READ_FS = caps.READ_FS
READ_LOGS = caps.READ_LOGS
READ_JOB = caps.READ_JOB
SUBMIT_JOB = caps.SUBMIT_JOB
REGISTER_JOB = caps.REGISTER_JOB
DEREGISTER_JOB = caps.DEREGISTER_JOB
PURGE_JOB = caps.PURGE_JOB
GC_ALLOCATION = caps.GC_ALLOCATION
ALLOC_LIFECYCLE = caps.ALLOC_LIFECYCLE
LIST_JOBS = caps.LIST_JOBS

TOO_MANY_FAILURES = "Too many requests with an invalid ACL token from this address; retry later"
AGENT_TOKEN_PREFIX = "ACL token not found or invalid workload identity: "


class Family(enum.Enum):
    """How an endpoint reports a token that does not authenticate."""

    CLIENT = "client"  # /v1/client/*, token/self: the raw error (unknown 403, expired 500)
    STREAM = "stream"  # fs stream/cat/readat: 403 with the error's text
    LOGS = "logs"  # fs logs: 500 with the error's text
    SERVER = "server"  # jobs, allocations, nodes: 403 Permission denied
    AGENT = "agent"  # /v1/agent/self: wrapped text, 403 only for an unknown token


def family_of(path: str) -> Family:
    """The family of the endpoint at ``path``."""
    if path.startswith("/v1/client/fs/"):
        kind = path[len("/v1/client/fs/") :].split("/", 1)[0]
        if kind == "logs":
            return Family.LOGS
        if kind in ("stream", "cat", "readat"):
            return Family.STREAM
        return Family.CLIENT
    if path.startswith("/v1/client/"):
        return Family.CLIENT
    if path.startswith("/v1/agent/"):
        return Family.AGENT
    return Family.SERVER


def token_error(exc: TokenError, family: Family) -> APIError:
    """The answer of ``family`` to a token that does not authenticate; never repeats the token."""
    if family is Family.SERVER:
        return permission_denied()
    if family is Family.STREAM:
        return APIError(403, exc.message)
    if family is Family.LOGS:
        return APIError(500, exc.message)
    if family is Family.AGENT:
        if exc.raw_status == 403:
            return permission_denied()
        return APIError(500, AGENT_TOKEN_PREFIX + exc.message)
    return APIError(exc.raw_status, exc.message)


class FailureLimiter:
    """A token bucket per client address, spent by failed tokens: ``limit`` failures at once,
    refilled at ``limit`` per minute. ``limit`` 0 turns it off."""

    def __init__(self, limit: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}

    def _level(self, address: str, now: float) -> float:
        level, since = self._buckets.get(address, (float(self.limit), now))
        return min(float(self.limit), level + (now - since) * self.limit / 60.0)

    def exhausted(self, address: str) -> bool:
        if self.limit <= 0 or address not in self._buckets:
            return False
        return self._level(address, self.clock()) < 1.0

    def failed(self, address: str) -> None:
        if self.limit <= 0:
            return
        now = self.clock()
        if len(self._buckets) >= 65536:
            # Forget full buckets first; they would read as full anyway.
            self._buckets = {a: v for a, v in self._buckets.items() if self._level(a, now) < self.limit}
        self._buckets[address] = (max(0.0, self._level(address, now) - 1.0), now)


class Authorizer:
    """Answers "may this token do that?"; raises the :class:`~outrider.errors.APIError` of the endpoint when not."""

    def __init__(self, resolver: ACLResolver, failure_limit: int) -> None:
        self.resolver = resolver
        self.acl_enabled = resolver.enabled
        self.limiter = FailureLimiter(failure_limit)

    def acl_of(self, token: str, address: str, family: Family) -> ACL:
        """The token's ACL, or the family's error for a token that does not authenticate."""
        return self.identity(token, address, family).acl

    def identity(self, token: str, address: str, family: Family) -> Identity:
        """Who the token is, or the family's error for a token that does not authenticate."""
        if token and self.limiter.exhausted(address):
            raise APIError(429, TOO_MANY_FAILURES)
        try:
            return self.resolver.resolve(token)
        except TokenError as exc:
            self.limiter.failed(address)
            # The reason and the address only: a secret never reaches a log line.
            log.warning("ACL token refused", extra={"remote": address, "reason": exc.message[:80]})
            raise token_error(exc, family) from None

    def allow_namespace(
        self,
        token: str,
        address: str,
        family: Family,
        namespace: str,
        *any_of: str,
        denied: APIError | None = None,
    ) -> None:
        """Require at least one of the namespace capabilities ``any_of``; ``denied`` replaces the 403."""
        if not self.acl_enabled:
            return
        if not self.acl_of(token, address, family).allow_namespace_any(namespace, *any_of):
            raise denied or permission_denied()

    def namespace_filter(
        self, token: str, address: str, family: Family, namespace: str, capability: str
    ) -> Callable[[str], bool]:
        """Which namespaces a listing may show: ``*`` keeps those granting ``capability`` (none: an
        empty list, not 403); a named namespace must grant it (403 otherwise)."""
        if not self.acl_enabled:
            return lambda _ns: True
        acl = self.acl_of(token, address, family)
        if namespace == "*":
            return lambda ns: acl.allow_namespace_operation(ns, capability)
        if not acl.allow_namespace_operation(namespace, capability):
            raise permission_denied()
        return lambda _ns: True

    def allow_node(self, token: str, address: str, family: Family, *, write: bool) -> None:
        """Require ``node:read`` (or ``node:write`` when ``write``)."""
        if not self.acl_enabled:
            return
        acl = self.acl_of(token, address, family)
        if not (acl.allow_node_write() if write else acl.allow_node_read()):
            raise permission_denied()

    def allow_agent(self, token: str, address: str, family: Family, *, write: bool) -> None:
        """Require ``agent:read`` (or ``agent:write``)."""
        if not self.acl_enabled:
            return
        acl = self.acl_of(token, address, family)
        if not (acl.allow_agent_write() if write else acl.allow_agent_read()):
            raise permission_denied()
