"""The agent: configuration, state, allocations and the background services, started and stopped together."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import shutil
import time
from typing import Protocol

from outrider import __version__
from outrider.acl.service import ACLService, ACLSettings
from outrider.allocs import AllocRegistry
from outrider.config import AgentConfig
from outrider.http.auth import Authorizer
from outrider.meta import MetaStore, static_meta
from outrider.runner.service import TaskRunnerService
from outrider.state.db import StateDB
from outrider.state.index_watch import IndexWatch
from outrider.stats.service import attach as attach_stats

log = logging.getLogger("outrider.agent")


class Service(Protocol):
    """A background part of the agent with a lifetime bound to the server's."""

    name: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class Agent:
    """Everything a request handler may need, reachable as ``request.app.state.agent``."""

    def __init__(self, config: AgentConfig) -> None:
        self.config = config
        self.version = __version__
        os.makedirs(os.path.join(config.data_dir, "client"), mode=0o700, exist_ok=True)
        self.db = StateDB(os.path.join(config.data_dir, "client", "state.db"))
        self.node_id = self.db.node_id()
        # Blocking queries on jobs and allocations wait on this; every new index reaches it.
        self.index = IndexWatch(self.db.current_index())
        self.db.on_index = self._index_advanced
        self.allocs = AllocRegistry(self.db, config.alloc_dir)
        self.authorizer = Authorizer(config.acl_enabled)
        self.acl: ACLService = ACLService(
            self.db,
            config.data_dir,
            ACLSettings(
                config.acl_enabled, config.acl_token_min_expiration_ttl, config.acl_token_max_expiration_ttl
            ),
        )
        self.started_at = time.time()
        self.services: list[Service] = []
        # Set when the agent is stopping: long-lived streams watch it and end cleanly.
        self.stopping = asyncio.Event()
        self.meta = MetaStore(self.db, static_meta(config.meta))
        self.runner = TaskRunnerService(self)
        self.add_service(self.runner)
        self.add_service(self.acl)
        attach_stats(self)

    def _index_advanced(self, name: str, value: int) -> None:
        if name == "raft":
            self.index.advanced(value)

    def add_service(self, service: Service) -> None:
        self.services.append(service)

    async def start(self) -> None:
        for service in self.services:
            log.debug("starting service", extra={"service": service.name})
            await service.start()
        # Everything built so far lives as long as the agent: move it out of the cyclic
        # collector's view so each collection walks only what requests allocate.
        gc.collect()
        gc.freeze()

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
