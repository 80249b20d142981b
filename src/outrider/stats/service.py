"""The agent's sampling services and the gauges they feed (``client/client.go`` ``emitStats``).

Both samplers run on a fixed schedule of ``telemetry.collection_interval``,
each in its own worker thread so a slow ``/proc`` or ``statfs`` read never
stalls the event loop or the other sampler. Requests read the latest snapshot
and never wait for a round.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import socket
from collections.abc import Awaitable, Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from outrider.allocs import AllocRegistry
from outrider.config import AgentConfig
from outrider.metrics import GaugeSample, Registry
from outrider.stats.alloc import AllocSampler, TaskTarget
from outrider.stats.host import HostSampler

log = logging.getLogger("outrider.stats")

# The first host snapshot measures CPU over this window after start-up (or one
# interval if shorter) instead of averaging since boot as Nomad's first sample does.
FIRST_WINDOW = 0.1
TASK_STATES = ("pending", "running", "dead")


class _Periodic:
    """Runs ``step`` in a dedicated worker thread every ``interval`` seconds, without drift."""

    def __init__(self, name: str, interval: float) -> None:
        self.name = name
        self.interval = interval
        self._executor: ThreadPoolExecutor | None = None
        self._task: asyncio.Task[None] | None = None

    async def run_in_thread(self, fn: Callable[..., Any], *args: Any) -> Any:
        assert self._executor is not None
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    def start_loop(self, step: Callable[[], Awaitable[None]], first_delay: float) -> None:
        self._task = asyncio.create_task(self._loop(step, first_delay), name=self.name)

    def open_executor(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"outrider-{self.name}")

    async def _loop(self, step: Callable[[], Awaitable[None]], first_delay: float) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time() + first_delay
        while True:
            await asyncio.sleep(max(0.0, due - loop.time()))
            try:
                await step()
            except Exception:
                log.exception("stats sampling round failed", extra={"sampler": self.name})
            due += self.interval
            now = loop.time()
            if due < now:
                # Fell behind (a slow round): skip the missed ticks rather than burst.
                due = now + self.interval

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None


class HostStatsService(_Periodic):
    """Keeps the latest ``HostStats`` snapshot in :attr:`latest`."""

    def __init__(self, alloc_dir: str, interval: float, mhz: dict[int, float]) -> None:
        super().__init__("host-stats", interval)
        self.sampler = HostSampler(alloc_dir, mhz)
        self._ready = asyncio.Event()

    @property
    def latest(self) -> dict[str, Any] | None:
        return self.sampler.latest

    async def start(self) -> None:
        self.open_executor()
        await self.run_in_thread(self.sampler.prime)
        self.start_loop(self._step, min(self.interval, FIRST_WINDOW))

    async def _step(self) -> None:
        await self.run_in_thread(self.sampler.sample)
        self._ready.set()

    async def snapshot(self, timeout: float = 5.0) -> dict[str, Any]:
        """The latest snapshot; only before the first one exists does this wait (briefly) for it."""
        latest = self.sampler.latest
        if latest is not None:
            return latest
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._ready.wait(), timeout)
        latest = self.sampler.latest
        if latest is None:
            # The service is not running (an agent used without its lifespan): sample here.
            self.sampler.prime()
            latest = self.sampler.sample()
        return latest


class TaskSource(Protocol):
    """What the allocation sampler asks about tasks: the agent's task runner."""

    def task_states(self, alloc_id: str) -> Mapping[str, Mapping[str, Any]]: ...

    def task_root_pid(self, alloc_id: str, task: str) -> int | None: ...

    def task_cgroup(self, alloc_id: str, task: str) -> str | None: ...


class AllocStatsService(_Periodic):
    """Samples every running task each interval; see :class:`outrider.stats.alloc.AllocSampler`."""

    def __init__(
        self,
        tasks: TaskSource,
        allocs: AllocRegistry,
        interval: float,
        total_compute: float,
        numcores: int,
    ) -> None:
        super().__init__("alloc-stats", interval)
        self._tasks = tasks
        self._allocs = allocs
        self.sampler = AllocSampler(total_compute, numcores, interval)
        self.task_counts: dict[str, int] = dict.fromkeys(TASK_STATES, 0)

    async def start(self) -> None:
        self.open_executor()
        self.start_loop(self._step, 0.0)

    def usage(self, alloc_id: str, task_filter: str | None = None) -> dict[str, Any]:
        return self.sampler.usage(alloc_id, task_filter)

    def targets(self) -> tuple[list[TaskTarget], list[str]]:
        """Ask the task runner, on the event loop, which tasks to sample; also count tasks by state."""
        runner = self._tasks
        targets: list[TaskTarget] = []
        counts: collections.Counter[str] = collections.Counter(dict.fromkeys(TASK_STATES, 0))
        for alloc in self._allocs.owned():
            try:
                states = runner.task_states(alloc.id) or {}
            except Exception:
                log.debug("no task states", extra={"alloc_id": alloc.id}, exc_info=True)
                continue
            for task, state in states.items():
                status = str(state.get("State", "pending"))
                counts[status] += 1
                targets.append(_target(runner, alloc.id, task, status == "running"))
        self.task_counts = dict(counts)
        forget = [a for a in self.sampler.latest if self._allocs.get(a) is None]
        return targets, forget

    async def _step(self) -> None:
        targets, forget = self.targets()
        await self.run_in_thread(self.sampler.sample, targets, forget)


def _target(runner: TaskSource, alloc_id: str, task: str, running: bool) -> TaskTarget:
    if not running:
        return TaskTarget(alloc_id, task, False)
    try:
        pid = runner.task_root_pid(alloc_id, task)
        cgroup = runner.task_cgroup(alloc_id, task)
    except Exception:
        log.debug("task not inspectable", extra={"alloc_id": alloc_id, "task": task}, exc_info=True)
        return TaskTarget(alloc_id, task, True)
    return TaskTarget(alloc_id, task, True, pid, cgroup)


class StatsGauges:
    """Registers the host, task, allocation and stream gauges with a registry for the life of the agent.

    Args:
        stream_stats: the stream service's counters (streams, followers, watches).
    """

    name = "stats-gauges"

    def __init__(
        self,
        config: AgentConfig,
        node_id: str,
        host: HostStatsService,
        tasks: AllocStatsService,
        allocs: AllocRegistry,
        stream_stats: Callable[[], Mapping[str, int | float | str]],
        registry: Registry,
    ) -> None:
        self._host, self._tasks, self._allocs, self._registry = host, tasks, allocs, registry
        self._stream_stats = stream_stats
        self._unregister: list[Callable[[], None]] = []
        cfg = config
        self.base = {
            "node_id": node_id,
            "datacenter": cfg.datacenter,
            "node_class": cfg.node_class,
            "node_pool": cfg.node_pool,
            "host": socket.gethostname(),
        }

    async def start(self) -> None:
        for name, help in HELP.items():
            self._registry.describe(name, help)
        self._unregister = [
            self._registry.register_callback(self.host_gauges),
            self._registry.register_callback(self.client_gauges),
        ]

    async def stop(self) -> None:
        for unregister in self._unregister:
            unregister()
        self._unregister = []

    def host_gauges(self) -> Iterator[GaugeSample]:
        snap = self._host.latest
        if snap is None:
            return
        base = self.base
        for cpu in snap["CPU"]:
            labels = {**base, "cpu": cpu["CPU"]}
            yield "nomad.client.host.cpu.total", labels, cpu["TotalPercent"]
            yield "nomad.client.host.cpu.user", labels, cpu["User"]
            yield "nomad.client.host.cpu.system", labels, cpu["System"]
            yield "nomad.client.host.cpu.idle", labels, cpu["Idle"]
        mem = snap["Memory"]
        yield "nomad.client.host.memory.total", base, mem["Total"]
        yield "nomad.client.host.memory.available", base, mem["Available"]
        yield "nomad.client.host.memory.used", base, mem["Used"]
        yield "nomad.client.host.memory.free", base, mem["Free"]
        for disk in snap["DiskStats"]:
            labels = {**base, "disk": disk["Device"], "mountpoint": disk["Mountpoint"]}
            yield "nomad.client.host.disk.size", labels, disk["Size"]
            yield "nomad.client.host.disk.used", labels, disk["Used"]
            yield "nomad.client.host.disk.available", labels, disk["Available"]
            yield "nomad.client.host.disk.used_percent", labels, disk["UsedPercent"]
            yield "nomad.client.host.disk.inodes_percent", labels, disk["InodesUsedPercent"]
        yield "nomad.client.uptime", base, snap["Uptime"]
        yield "outrider.client.host.cpu.ticks_consumed", base, snap["CPUTicksConsumed"]

    def client_gauges(self) -> Iterator[GaugeSample]:
        for state, count in self._tasks.task_counts.items():
            yield "outrider.client.tasks", {"state": state}, count
        statuses: collections.Counter[str] = collections.Counter()
        for alloc in self._allocs.owned():
            statuses[alloc.client_status] += 1
        for status in ("pending", "running", "complete", "failed", "lost"):
            yield "outrider.client.allocations", {"status": status}, statuses.get(status, 0)
        for key, value in self._stream_stats().items():
            if isinstance(value, int | float):
                yield f"outrider.stream.{key}", {}, value
            else:
                yield f"outrider.stream.{key}", {key: str(value)}, 1


HELP = {
    "nomad.client.host.cpu.total": "busy CPU percent of one logical CPU over the last interval",
    "nomad.client.host.cpu.user": "user CPU percent of one logical CPU",
    "nomad.client.host.cpu.system": "system CPU percent of one logical CPU",
    "nomad.client.host.cpu.idle": "idle CPU percent of one logical CPU",
    "nomad.client.host.memory.total": "host memory, bytes",
    "nomad.client.host.memory.available": "memory available for new work, bytes",
    "nomad.client.host.memory.used": "memory used (total - free - buffers - cache), bytes",
    "nomad.client.host.memory.free": "free memory, bytes",
    "nomad.client.host.disk.size": "file system size, bytes",
    "nomad.client.host.disk.used": "file system space used, bytes",
    "nomad.client.host.disk.available": "file system space available to unprivileged users, bytes",
    "nomad.client.host.disk.used_percent": "file system space used, percent",
    "nomad.client.host.disk.inodes_percent": "inodes used, percent",
    "nomad.client.uptime": "host uptime, seconds",
    "outrider.client.host.cpu.ticks_consumed": "MHz consumed host-wide (sum of per-core TotalTicks)",
    "outrider.client.tasks": "tasks of this agent's allocations by state",
    "outrider.client.allocations": "allocations run by this agent by client status",
    "outrider.stream.streams": "streaming responses being served",
    "outrider.stream.hubs": "followed files with at least one follower",
    "outrider.stream.sharing_followers": "followers sharing a file with another follower",
    "outrider.stream.inotify_watches": "inotify watches held",
    "outrider.stream.polled": "objects watched by polling",
    "outrider.stream.poll_interval": "seconds between stats of polled objects",
    "outrider.stream.subscribers": "watch subscriptions",
    "outrider.stream.descriptors": "descriptors held for followed files and their directories",
    "outrider.stream.descriptor_uses": "stream readers served by those descriptors",
}
