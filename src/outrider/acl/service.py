"""The agent's ACL system: state, resolver, the writes of the ACL API, and expired-token collection.

The operations here follow ``nomad/acl_endpoint.go`` (``Bootstrap``,
``UpsertPolicies``, ``DeletePolicies``, ``UpsertTokens``, ``DeleteTokens``);
who may call them is checked by the HTTP layer before.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import time
from dataclasses import dataclass

from outrider.acl.bodies import PolicyRequest, TokenRequest
from outrider.acl.errors import ACLRequestError
from outrider.acl.policy_record import PolicyRecord, policy_hash, validate_policy
from outrider.acl.resolver import ACLResolver
from outrider.acl.store import ACLStore, SecretInUse
from outrider.acl.token import MANAGEMENT, ACLToken
from outrider.acl.token_rules import prepare
from outrider.acl.uuids import UUIDIndexError, generate, index_key, is_uuid
from outrider.goduration import HOUR, MINUTE
from outrider.state.db import StateDB

log = logging.getLogger("outrider.acl")

RESET_FILE = "acl-bootstrap-reset"
# Nomad's core scheduler collects tokens that expired over an hour ago, every five minutes.
GC_INTERVAL = 5 * 60.0
GC_THRESHOLD_NS = HOUR


@dataclass(frozen=True)
class ACLSettings:
    """``acl { }`` of the agent config."""

    enabled: bool = False
    token_min_expiration_ttl: int = MINUTE
    token_max_expiration_ttl: int = 24 * HOUR


@dataclass
class Written:
    """The result of a token write: the token, the secret to show (``""`` when not known), the index."""

    token: ACLToken
    secret: str
    index: int


_LEADING_INT = re.compile(r"[+-]?[0-9]+")


def parse_reset_index(text: str) -> int | None:
    """Go ``fmt.Sscanf(text, "%d")``: spaces and tabs may lead, a newline may not, text after the
    number is ignored. ``None`` when no number can be read."""
    i = 0
    while i < len(text) and text[i].isspace():
        if text[i] == "\n" or text[i : i + 2] == "\r\n":
            return None
        i += 1
    m = _LEADING_INT.match(text, i)
    if m is None:
        return None
    value = int(m.group())
    return value if -(1 << 63) <= value < (1 << 63) else None


class ACLService:
    """What ``Agent.acl`` is: the ACL state and everything that reads or writes it."""

    name = "acl"

    def __init__(self, db: StateDB, data_dir: str, settings: ACLSettings) -> None:
        self.settings = settings
        self.enabled = settings.enabled
        self.store = ACLStore(db)
        self.resolver = ACLResolver(self.store, settings.enabled)
        self.reset_path = os.path.join(data_dir, "server", RESET_FILE)
        self._gc: asyncio.Task[None] | None = None

    # -- bootstrap ---------------------------------------------------------------------------

    def read_reset_index(self) -> int:
        """The reset index operators write to ``<data_dir>/server/acl-bootstrap-reset``; 0 when absent
        or unreadable (only logged, as in Nomad)."""
        try:
            with open(self.reset_path, encoding="utf-8", errors="replace") as f:
                text = f.read(4096)
        except FileNotFoundError:
            return 0
        except OSError as exc:
            log.warning(
                "cannot read the ACL bootstrap reset file", extra={"path": self.reset_path, "error": str(exc)}
            )
            return 0
        value = parse_reset_index(text)
        if value is None:
            log.warning("the ACL bootstrap reset file holds no index", extra={"path": self.reset_path})
            return 0
        return value

    def bootstrap(self, bootstrap_secret: str) -> Written:
        """``ACL.Bootstrap``: the first management token, once, or again after a matching reset file."""
        done = self.store.bootstrap_index()
        if done is not None:
            reset = self.read_reset_index()
            if reset == 0:
                raise ACLRequestError(400, f"ACL bootstrap already done (reset index: {done})")
            if reset != done:
                raise ACLRequestError(
                    400, f"Invalid bootstrap reset index (specified {reset}, reset index: {done})"
                )
        secret = generate()
        if bootstrap_secret:
            if not is_uuid(bootstrap_secret):
                raise ACLRequestError(400, "invalid acl token")
            secret = bootstrap_secret
        token = ACLToken(
            accessor_id=generate(),
            name="Bootstrap Token",
            type=MANAGEMENT,
            global_=True,
            create_time=time.time_ns(),
        )
        token.hash = token.compute_hash()
        try:
            index = self.store.bootstrap(index_key(token.accessor_id), token, secret, done)
        except SecretInUse:
            raise ACLRequestError(400, "invalid acl token: the secret is already in use") from None
        if index is None:
            latest = self.store.bootstrap_index()
            raise ACLRequestError(400, f"ACL bootstrap already done (reset index: {latest})")
        log.info("ACL bootstrap token created", extra={"accessor_id": token.accessor_id, "index": index})
        return Written(token, secret, index)

    # -- policies ----------------------------------------------------------------------------

    def upsert_policy(self, req: PolicyRequest) -> int:
        validate_policy(req.name, req.description, req.rules, req.job_acl)
        record = PolicyRecord(
            name=req.name,
            description=req.description,
            rules=req.rules,
            job_acl=req.job_acl,
            hash=policy_hash(req.name, req.description, req.rules, req.job_acl),
        )
        index = self.store.upsert_policy(record)
        log.info("ACL policy written", extra={"policy": req.name, "index": index})
        return index

    def delete_policy(self, name: str) -> int:
        index = self.store.delete_policy(name)
        log.info("ACL policy deleted", extra={"policy": name, "index": index})
        return index

    # -- tokens ------------------------------------------------------------------------------

    def upsert_token(self, req: TokenRequest) -> Written:
        """``upsertTokens``: create, upload (caller-chosen IDs) or update one token."""
        existing = None
        key = None
        if req.accessor_id:
            try:
                key = index_key(req.accessor_id)
            except UUIDIndexError as exc:
                raise ACLRequestError(
                    500, f"token lookup failed: acl token lookup failed: index error: {exc}"
                ) from None
            existing = self.store.token(key)
        prepared = prepare(
            req,
            existing,
            time.time_ns(),
            self.settings.token_min_expiration_ttl,
            self.settings.token_max_expiration_ttl,
        )
        token = prepared.token
        try:
            index = self.store.upsert_token(key or index_key(token.accessor_id), token, prepared.secret)
        except SecretInUse:
            raise ACLRequestError(400, "cannot upload token: its SecretID is already in use") from None
        log.info("ACL token written", extra={"accessor_id": token.accessor_id, "index": index})
        if prepared.secret is not None:
            return Written(token, prepared.secret, index)
        # An update keeps the stored secret; it is shown only when the body sent it.
        known = is_uuid(req.secret_id) and key is not None and self.store.secret_matches(key, req.secret_id)
        return Written(token, req.secret_id if known else "", index)

    def delete_token(self, accessor: str) -> int:
        try:
            key = index_key(accessor)
        except UUIDIndexError as exc:
            raise ACLRequestError(
                400, f"token lookup failed: acl token lookup failed: index error: {exc}"
            ) from None
        if self.store.token(key) is None:
            raise ACLRequestError(400, f"Cannot delete nonexistent tokens: {accessor}")
        index = self.store.delete_token(key)
        log.info("ACL token deleted", extra={"accessor_id": accessor, "index": index})
        return index

    # -- expired-token collection (a Service of the agent) ------------------------------------

    def collect_expired(self, now_ns: int | None = None) -> int:
        now = time.time_ns() if now_ns is None else now_ns
        removed = self.store.delete_expired(now - GC_THRESHOLD_NS)
        if removed:
            log.info("expired ACL tokens collected", extra={"count": removed})
        return removed

    async def _gc_loop(self) -> None:
        while True:
            await asyncio.sleep(GC_INTERVAL)
            try:
                self.collect_expired()
            except Exception:
                log.exception("expired ACL token collection failed")

    async def start(self) -> None:
        if self.enabled:
            self._gc = asyncio.create_task(self._gc_loop(), name="acl-token-gc")

    async def stop(self) -> None:
        if self._gc is not None:
            self._gc.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._gc
