"""One agent's part in the fleet: it keeps its records in NATS and reads the others'.

The loop connects to NATS (again and again while it is unreachable: the agent serves
its own node meanwhile), creates the buckets if they are missing, then every
``interval`` refreshes the node record, publishes the allocations it holds (puts
what is new or changed, deletes what it no longer holds) and re-reads the node
records of the fleet. Any failure drops the bucket handles, so the next round sets
them up again and re-registers everything: a NATS server that lost its store, or one
that came back after an outage, gets the full picture without anyone's help.

The node bucket carries a TTL: a node that dies stops refreshing its record, shows
``down`` once the record is older than two thirds of the TTL, and is gone once NATS
ages it out. Allocation records do not age: a record whose node is gone answers
``No path to node``, as Nomad answers for an allocation on a disconnected node.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from outrider.config import FleetSettings
from outrider.fleet.acl_replica import ACLReplica
from outrider.fleet.connect import connect_options
from outrider.fleet.records import ACL_BUCKET, ALLOCS_BUCKET, NODES_BUCKET, AllocRecord, NodeRecord, valid_key

log = logging.getLogger("outrider.fleet")

# One NATS operation (a put, a get) may take this long before the round counts as failed.
OP_TIMEOUT = 2.0
# Allocation owners remembered; an allocation never moves, so an entry never goes stale.
OWNERS_KEPT = 4096


class NoPath(Exception):
    """The fleet cannot be asked now (NATS is unreachable): remote targets have no path."""


class Fleet:
    """The fleet as this agent sees it; a service of the agent (``start``/``stop``)."""

    name = "fleet"

    def __init__(
        self,
        settings: FleetSettings,
        node_id: str,
        describe: Callable[[], NodeRecord],
        held: Callable[[], dict[str, AllocRecord]],
        acl: ACLReplica | None = None,
    ) -> None:
        self.settings = settings
        self.node_id = node_id
        self._describe = describe
        self._held = held
        self.acl = acl
        self.interval = min(1.0, settings.ttl / 3)
        self.down_after = settings.ttl * 2 / 3
        self._nc: Any = None
        self._kv: dict[str, Any] = {}
        self._published: dict[str, AllocRecord] = {}
        self._nodes: dict[str, NodeRecord] = {}
        self._owners: OrderedDict[str, AllocRecord] = OrderedDict()
        self._member_hosts: frozenset[str] = frozenset()
        self._task: asyncio.Task[None] | None = None
        self._healthy = False
        self.ready = asyncio.Event()

    # -- lifetime ---------------------------------------------------------------------------------

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="fleet")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._nc is not None and self._nc.is_connected:
            # A clean stop leaves no record behind (even after a failed round); a crash
            # leaves one that ages out.
            with contextlib.suppress(Exception):
                nodes = self._kv.get(NODES_BUCKET) or await asyncio.wait_for(
                    self._nc.jetstream(timeout=OP_TIMEOUT).key_value(NODES_BUCKET), OP_TIMEOUT
                )
                await asyncio.wait_for(nodes.delete(self.node_id), OP_TIMEOUT)
        if self._nc is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._nc.close(), OP_TIMEOUT)

    @property
    def connected(self) -> bool:
        """Whether NATS answers now (the last round succeeded and the connection is up)."""
        return self._healthy and self._nc is not None and bool(self._nc.is_connected)

    async def _run(self) -> None:
        while True:
            try:
                await self._round()
                if not self._healthy:
                    log.info("fleet registered", extra={"node_id": self.node_id, "nats": self.settings.nats})
                self._healthy = True
                self.ready.set()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self._healthy or self._nc is None:
                    log.warning(
                        "fleet unreachable, retrying", extra={"error": f"{type(exc).__name__}: {exc}"}
                    )
                self._healthy = False
                self._kv.clear()
                self._published.clear()
                if self.acl is not None:
                    self.acl.reset()
            await asyncio.sleep(self.interval)

    async def _round(self) -> None:
        if self._nc is None:
            import nats

            self._nc = await nats.connect(**connect_options(self.settings))
        if not self._nc.is_connected:
            raise ConnectionError("NATS connection lost")
        if not self._kv:
            await self._open_buckets()
        nodes = self._kv[NODES_BUCKET]
        await asyncio.wait_for(nodes.put(self.node_id, self._describe().encode()), OP_TIMEOUT)
        await self._publish_allocs()
        await self._read_nodes()
        if self.acl is not None:
            await self.acl.sync(await self.bucket(ACL_BUCKET))

    async def _open_buckets(self) -> None:
        from nats.js.api import KeyValueConfig
        from nats.js.errors import BucketNotFoundError

        js = self._nc.jetstream(timeout=OP_TIMEOUT)
        for bucket, ttl in ((NODES_BUCKET, self.settings.ttl), (ALLOCS_BUCKET, None)):
            try:
                self._kv[bucket] = await js.key_value(bucket)
            except BucketNotFoundError:
                # Every agent may get here at once; creating a bucket with the same
                # settings twice is not an error in JetStream.
                self._kv[bucket] = await js.create_key_value(KeyValueConfig(bucket=bucket, ttl=ttl))

    async def bucket(self, name: str, ttl: float | None = None) -> Any:
        """The key-value bucket ``name`` of the fleet, created if missing; :class:`NoPath` without NATS."""
        from nats.js.api import KeyValueConfig
        from nats.js.errors import BucketNotFoundError

        if self._nc is None or not self._nc.is_connected:
            raise NoPath
        kv = self._kv.get(name)
        if kv is None:
            js = self._nc.jetstream(timeout=OP_TIMEOUT)
            try:
                kv = await js.key_value(name)
            except BucketNotFoundError:
                kv = await js.create_key_value(KeyValueConfig(bucket=name, ttl=ttl))
            self._kv[name] = kv
        return kv

    async def _publish_allocs(self) -> None:
        allocs = self._kv[ALLOCS_BUCKET]
        held = {k: v for k, v in self._held().items() if valid_key(k)}
        for alloc_id, record in held.items():
            if self._published.get(alloc_id) != record:
                await asyncio.wait_for(allocs.put(alloc_id, record.encode()), OP_TIMEOUT)
                self._published[alloc_id] = record
        for alloc_id in [a for a in self._published if a not in held]:
            await asyncio.wait_for(allocs.delete(alloc_id), OP_TIMEOUT)
            del self._published[alloc_id]

    async def _read_nodes(self) -> None:
        from nats.js.errors import KeyNotFoundError, NoKeysError

        nodes = self._kv[NODES_BUCKET]
        try:
            keys = await asyncio.wait_for(nodes.keys(), OP_TIMEOUT)
        except NoKeysError:
            keys = []
        found: dict[str, NodeRecord] = {}
        for key in keys:
            try:
                entry = await asyncio.wait_for(nodes.get(key), OP_TIMEOUT)
            except KeyNotFoundError:
                continue
            record = NodeRecord.decode(entry.value or b"")
            if record is not None and record.id == key:
                found[key] = record
        self._nodes = found
        self._member_hosts = frozenset(
            urlsplit(r.advertise).hostname or "" for r in found.values() if r.id != self.node_id
        )

    # -- reading the fleet ----------------------------------------------------------------------------

    def nodes(self) -> list[NodeRecord]:
        """Every node with a record, each ``down`` when its record is stale; empty without NATS."""
        if not self.connected:
            return []
        now = time.time()
        return [r.aged(self.down_after, now) for r in self._nodes.values()]

    def node(self, node_id: str) -> NodeRecord | None:
        """The record of ``node_id`` (aged), or None when the fleet has none; :class:`NoPath` without NATS."""
        if not self.connected:
            raise NoPath
        record = self._nodes.get(node_id)
        return None if record is None else record.aged(self.down_after)

    def is_member(self, host: str) -> bool:
        """Whether ``host`` is the advertised address of another fleet member."""
        return host in self._member_hosts

    async def job_node(self, namespace: str, job_id: str) -> str | None:
        """The node holding allocations of job ``job_id`` in ``namespace``, or None when no node
        published one; :class:`NoPath` without NATS.

        Jobs stay on the agent they were submitted to (there is no scheduler), so every
        allocation of a job is on one node: the first record found names it. This reads
        the allocation records one by one, which is fine for a request a person makes.
        """
        from nats.js.errors import KeyNotFoundError, NoKeysError

        if not self.connected:
            raise NoPath
        allocs = self._kv.get(ALLOCS_BUCKET)
        if allocs is None:
            raise NoPath
        try:
            keys = await asyncio.wait_for(allocs.keys(), OP_TIMEOUT)
        except NoKeysError:
            return None
        except Exception as exc:
            raise NoPath from exc
        for key in keys:
            try:
                entry = await asyncio.wait_for(allocs.get(key), OP_TIMEOUT)
            except KeyNotFoundError:
                continue
            except Exception as exc:
                raise NoPath from exc
            record = AllocRecord.decode(entry.value or b"")
            if record is not None and record.job_id == job_id and record.namespace == namespace:
                return record.node_id
        return None

    async def owner_of(self, alloc_id: str) -> AllocRecord | None:
        """Which node holds ``alloc_id``, or None when no node published it; :class:`NoPath` without NATS."""
        from nats.js.errors import KeyNotFoundError

        if not self.connected:
            raise NoPath
        known = self._owners.get(alloc_id)
        if known is not None:
            return known
        if not valid_key(alloc_id):
            return None
        allocs = self._kv.get(ALLOCS_BUCKET)
        if allocs is None:
            raise NoPath
        try:
            entry = await asyncio.wait_for(allocs.get(alloc_id), OP_TIMEOUT)
        except KeyNotFoundError:
            return None
        except Exception as exc:
            # A timeout or a lost connection: the owner cannot be found now.
            raise NoPath from exc
        record = AllocRecord.decode(entry.value or b"")
        if record is not None:
            self._owners[alloc_id] = record
            if len(self._owners) > OWNERS_KEPT:
                self._owners.popitem(last=False)
        return record
