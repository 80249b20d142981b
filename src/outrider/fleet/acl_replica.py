"""ACL policies and tokens shared by the fleet: the key-value bucket ``outrider-acl`` holds them.

Each agent keeps answering from its own state DB (so a token check costs what it
always did); this keeps that DB and the bucket in step. A write made here (a token
created, a policy changed, a token expired) is put in the bucket, marked with this
node's ID; a write made elsewhere arrives through a watch of the bucket and is applied
here. Tokens travel as their state and the SHA-256 of their secret, never the secret.
Writes made while NATS is away wait and go out when it is back; on (re)joining, what
this agent holds that the bucket lacks is published.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import Any

import orjson

from outrider.acl.store import ACLChange, ACLStore

log = logging.getLogger("outrider.fleet")

OP_TIMEOUT = 2.0
# How long one round waits for the next update of the watch before it moves on.
_DRAIN_WAIT = 0.01


class ACLReplica:
    """The link between one agent's ACL store and the fleet's ACL bucket."""

    def __init__(self, store: ACLStore, node_id: str) -> None:
        self.store = store
        self.node_id = node_id
        self._pending: deque[ACLChange] = deque()
        self._watcher: Any = None
        self._kv: Any = None
        store.on_change.append(self._pending.append)

    def reset(self) -> None:
        """NATS was lost: the next :meth:`sync` starts over with a new watch."""
        self._watcher = None
        self._kv = None

    async def sync(self, kv: Any) -> None:
        """One round: join the bucket if new to it, send what was written here, apply what was written elsewhere."""
        from nats.js.errors import NoKeysError

        if self._kv is not kv:
            try:
                present = set(await asyncio.wait_for(kv.keys(), OP_TIMEOUT))
            except NoKeysError:
                present = set()
            self._pending.extend(c for c in self.store.snapshot() if c.key not in present)
            self._watcher = await kv.watchall()
            self._kv = kv
        while self._pending:
            change = self._pending[0]
            if change.value is None:
                await asyncio.wait_for(kv.delete(change.key), OP_TIMEOUT)
            else:
                value = orjson.dumps({**change.value, "origin": self.node_id})
                await asyncio.wait_for(kv.put(change.key, value), OP_TIMEOUT)
            self._pending.popleft()
        await self._drain()

    async def _drain(self) -> None:
        while True:
            try:
                entry = await self._watcher.updates(timeout=_DRAIN_WAIT)
            except TimeoutError:
                # nats-py's timeout is a TimeoutError too: nothing more for now.
                return
            if entry is None:
                continue  # the end of the bucket's current contents
            self._apply(entry)

    def _apply(self, entry: Any) -> None:
        if entry.operation in ("DEL", "PURGE"):
            value = None
        else:
            try:
                value = orjson.loads(entry.value or b"")
            except orjson.JSONDecodeError:
                return
            if not isinstance(value, dict) or value.get("origin") == self.node_id:
                return  # written here: already in the state DB
            value = {str(k): str(v) for k, v in value.items() if k != "origin"}
        try:
            self.store.apply(ACLChange(entry.key, value))
        except (KeyError, ValueError, TypeError):
            log.warning("unreadable ACL record from the fleet ignored", extra={"key": entry.key[:80]})
