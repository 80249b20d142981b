"""The agent: the one place that builds every part from the configuration, starts them and stops them."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import shutil
import time
from typing import Protocol

from outrider import __version__
from outrider.acl.authorizer import Authorizer
from outrider.acl.service import ACLService, ACLSettings
from outrider.allocs import AllocRegistry
from outrider.config import AgentConfig
from outrider.fleet.acl_replica import ACLReplica
from outrider.fleet.membership import Fleet
from outrider.fleet.records import AllocRecord, NodeRecord
from outrider.jobs.manager import JobManager
from outrider.meta import MetaStore, static_meta
from outrider.metrics import REGISTRY
from outrider.runner.service import TaskRunnerService
from outrider.state.db import StateDB
from outrider.state.index_watch import IndexWatch
from outrider.stats.cpufreq import core_mhz
from outrider.stats.fingerprint import fingerprint
from outrider.stats.service import AllocStatsService, HostStatsService, StatsGauges
from outrider.stream.service import StreamService
from outrider.stream.watcher import Watcher

YOUNG_GC_THRESHOLD = 10_000
"""Allocations between young collections once the agent runs (CPython's default is 700)."""

log = logging.getLogger("outrider.agent")


class Service(Protocol):
    """A background part of the agent with a lifetime bound to the server's."""

    name: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class Agent:
    """Everything a request handler may need, reachable as ``request.app.state.agent``.

    Built in dependency order; :meth:`start` starts the services in that order and
    :meth:`stop` stops them in reverse, then closes the allocation registry and the
    state DB.
    """

    def __init__(self, config: AgentConfig) -> None:
        self.config = config
        self.version = __version__
        self.started_at = time.time()
        # Set when the agent is stopping: long-lived streams watch it and end cleanly.
        self.stopping = asyncio.Event()
        os.makedirs(os.path.join(config.data_dir, "client"), mode=0o700, exist_ok=True)
        self.db = StateDB(os.path.join(config.data_dir, "client", "state.db"))
        self.node_id = self.db.node_id()
        # Blocking queries on jobs and allocations wait on this; every new index reaches it.
        self.index = IndexWatch(self.db.current_index())
        self.db.on_index = self._index_advanced
        self.allocs = AllocRegistry(self.db, config.alloc_dir)
        self.meta = MetaStore(self.db, static_meta(config.meta))
        self.acl = ACLService(
            self.db,
            config.data_dir,
            ACLSettings(
                config.acl_enabled, config.acl_token_min_expiration_ttl, config.acl_token_max_expiration_ttl
            ),
        )
        self.authorizer = Authorizer(self.acl.resolver, config.acl_token_failure_limit)
        self.runner = TaskRunnerService(self.db, self.allocs, config)
        self.jobs = JobManager(config, self.node_id, self.db, self.allocs, self.runner)
        self.streams = StreamService(Watcher(config.watcher, config.poll_interval), stopping=self.stopping)
        mhz = core_mhz()
        self.fingerprint = fingerprint(config.alloc_dir, mhz, config.raw_exec_enabled)
        self.host_stats = HostStatsService(config.alloc_dir, config.collection_interval, mhz)
        self.alloc_stats = AllocStatsService(
            self.runner,
            self.allocs,
            config.collection_interval,
            self.fingerprint.total_compute,
            self.fingerprint.numcores,
        )
        gauges = StatsGauges(
            config,
            self.node_id,
            self.host_stats,
            self.alloc_stats,
            self.allocs,
            self.streams.stats,
            REGISTRY,
        )
        # Without a fleet block the agent is a single node, as it always was.
        self.fleet: Fleet | None = None
        if config.fleet.enabled:
            # Policies and tokens are the fleet's: one made on any agent works on all.
            replica = ACLReplica(self.acl.store, self.node_id)
            self.fleet = Fleet(config.fleet, self.node_id, self._node_record, self._held_allocs, replica)
        self.services: tuple[Service, ...] = (
            self.runner,
            self.acl,
            self.streams,
            self.host_stats,
            self.alloc_stats,
            gauges,
            *((self.fleet,) if self.fleet is not None else ()),
        )

    def _index_advanced(self, name: str, value: int) -> None:
        if name == "raft":
            self.index.advanced(value)

    def _node_record(self) -> NodeRecord:
        cfg = self.config
        return NodeRecord(
            id=self.node_id,
            name=cfg.node_name,
            datacenter=cfg.datacenter,
            node_pool=cfg.node_pool,
            node_class=cfg.node_class,
            advertise=cfg.fleet.advertise,
            version=self.version,
            meta=dict(self.meta.meta),
            heartbeat=time.time(),
            started_at=self.started_at,
        )

    def _held_allocs(self) -> dict[str, AllocRecord]:
        """The allocations this node answers for: its own, those a GC destroyed, and external directories."""
        held = {a.id: AllocRecord(self.node_id, a.namespace, a.job_id) for a in self.allocs.listed()}
        for alloc_id in self.allocs.external_ids():
            held.setdefault(alloc_id, AllocRecord(self.node_id, "default", ""))
        return held

    async def start(self) -> None:
        for service in self.services:
            log.debug("starting service", extra={"service": service.name})
            await service.start()
        # Everything built so far lives as long as the agent: move it out of the cyclic
        # collector's view so each collection walks only what requests allocate.
        gc.collect()
        gc.freeze()
        # Thousands of long-lived connections make every collection that reaches them slow;
        # rarer young collections promote fewer of their objects (opening 10,000 followers:
        # 2.7 s instead of 3.4-3.8 s), and the full collections' own rule is unchanged.
        gc.set_threshold(YOUNG_GC_THRESHOLD, *gc.get_threshold()[1:])

    def close(self) -> None:
        """Release what the agent holds open: kept allocation directories and the state DB."""
        self.allocs.close()
        self.db.close()

    async def stop(self) -> None:
        self.stopping.set()
        for service in reversed(self.services):
            try:
                await service.stop()
            except Exception:
                log.exception("service failed to stop cleanly", extra={"service": service.name})
        self.close()
        if self.config.temp_data_dir:
            shutil.rmtree(self.config.data_dir, ignore_errors=True)
