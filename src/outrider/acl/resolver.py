"""From a request's token to an identity and its ACL (``nomad/auth/auth.go``, ``ResolveToken``).

With ACLs off, every request is the "ACLs disabled" identity, whatever token it
carries. With ACLs on, no token is the anonymous token (the ``anonymous``
policy's permissions), a SecretID is looked up in the state, and anything else
is refused with Nomad's texts. Tokens are read from the state on every request,
so a deleted or expired token stops working at once; compiled policies are
cached by (name, ModifyIndex) and dropped whenever a policy is written.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from outrider.acl.acl import ACL, ACLS_DISABLED, MANAGEMENT, compile_acl
from outrider.acl.errors import ACLRequestError
from outrider.acl.policy import Policy, PolicyError, parse_policy
from outrider.acl.policy_record import PolicyRecord
from outrider.acl.store import ACLStore
from outrider.acl.token import CLIENT, ACLToken
from outrider.acl.uuids import is_uuid

PERMISSION_DENIED = "Permission denied"
TOKEN_EXPIRED = "ACL token expired"
TOKEN_NOT_FOUND = "ACL token not found"

ANONYMOUS_POLICY = "anonymous"
ANONYMOUS_TOKEN = ACLToken(
    accessor_id="anonymous", name="Anonymous Token", type=CLIENT, policies=[ANONYMOUS_POLICY]
)
ACLS_DISABLED_TOKEN = ACLToken(accessor_id="acls-disabled", name="ACLs disabled token", type=CLIENT)

_CACHE_LIMIT = 4096


class TokenError(Exception):
    """The request's token does not authenticate. ``str()`` is Nomad's raw error text."""

    def __init__(self, message: str, raw_status: int) -> None:
        super().__init__(message)
        self.message = message
        # The status of the endpoints that answer with the raw error (token/self, GET token/<id>);
        # every other server endpoint turns any token error into 403 Permission denied.
        self.raw_status = raw_status

    def raw(self) -> ACLRequestError:
        """The error as ``token/self`` and ``GET token/<id>`` answer it."""
        return ACLRequestError(self.raw_status, self.message)

    @staticmethod
    def denied() -> ACLRequestError:
        """The error as every other server endpoint answers any token problem."""
        return ACLRequestError(403, PERMISSION_DENIED)


def _malformed(secret: str) -> TokenError:
    # Nomad tries a token that is not a UUID as a workload identity (a JWT); this agent issues none,
    # so such a token never verifies. The text never repeats the token.
    if secret.count(".") != 2:
        return TokenError(
            "failed to parse signed token: go-jose/go-jose: compact JWS format must have three parts", 500
        )
    return TokenError("failed to parse signed token: workload identities are not issued by this agent", 500)


@dataclass(frozen=True)
class Identity:
    """Who a request is: the token (a stored one, or the anonymous or ACLs-disabled one), the secret
    it presented, and what it may do."""

    token: ACLToken
    secret: str
    acl: ACL

    @property
    def is_management(self) -> bool:
        return self.acl.management


class ACLResolver:
    def __init__(self, store: ACLStore, enabled: bool) -> None:
        self.store = store
        self.enabled = enabled
        self._generation = -1
        self._records: dict[str, PolicyRecord | None] = {}
        self._compiled: dict[tuple[tuple[str, int], ...], ACL] = {}

    def resolve(self, secret: str) -> Identity:
        """The identity for ``secret``; raises :class:`TokenError`."""
        if not self.enabled:
            return Identity(ACLS_DISABLED_TOKEN, "", ACLS_DISABLED)
        if secret == "":
            return Identity(ANONYMOUS_TOKEN, "", self.acl_for(ANONYMOUS_TOKEN))
        if not is_uuid(secret):
            raise _malformed(secret)
        token = self.store.token_by_secret(secret)
        if token is None:
            raise TokenError(PERMISSION_DENIED, 403)
        if token.is_expired(time.time_ns()):
            raise TokenError(TOKEN_EXPIRED, 500)
        return Identity(token, secret, self.acl_for(token))

    def acl_for(self, token: ACLToken) -> ACL:
        """The token's ACL: management, or its existing policies (sorted by name) compiled together."""
        if token.is_management():
            return MANAGEMENT
        self._drop_stale()
        found = [r for name in sorted(set(token.policies or ())) if (r := self._record(name)) is not None]
        key = tuple((r.name, r.modify_index) for r in found)
        acl = self._compiled.get(key)
        if acl is None:
            acl = compile_acl(self._parse(r) for r in found)
            if len(self._compiled) >= _CACHE_LIMIT:
                self._compiled.clear()
            self._compiled[key] = acl
        return acl

    def policies_of(self, token: ACLToken) -> list[PolicyRecord]:
        """The token's policies that exist (management: all of them), ordered by name."""
        if token.is_management():
            return self.store.policies()
        self._drop_stale()
        names = sorted(set(token.policies or ()), key=lambda n: n.encode("utf-8", "surrogateescape"))
        return [r for name in names if (r := self._record(name)) is not None]

    def _drop_stale(self) -> None:
        if self._generation != self.store.policy_generation:
            self._generation = self.store.policy_generation
            self._records.clear()
            self._compiled.clear()

    def _record(self, name: str) -> PolicyRecord | None:
        if name not in self._records:
            if len(self._records) >= _CACHE_LIMIT:
                self._records.clear()
            self._records[name] = self.store.policy(name)
        return self._records[name]

    @staticmethod
    def _parse(record: PolicyRecord) -> Policy:
        try:
            return parse_policy(record.rules, strict=False)
        except PolicyError as exc:
            raise ACLRequestError(500, f'failed to parse "{record.name}": {exc}') from None
