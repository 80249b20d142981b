"""Allocation resource usage, the body of ``GET /v1/client/allocation/<id>/stats``.

Nomad's source: ``client/alloc_endpoint.go`` ``Stats``, ``client/structs/structs.go``.

Each round samples every running task: its whole process tree through psutil,
and, when the task runner put the task in a cgroup v2 group, the group's own
counters (which also catch short-lived children the tree misses), with
throttling and memory figures and the matching ``Measured`` lists. Per-pid
entries are re-read every round (the reference caches them for 5 s while
re-stamping the totals, ``drivers/shared/executor/procstats``). Samples are always published; there
is no ``publish_allocation_metrics`` gate.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from outrider.stats.cgroup import CgroupReading, is_cgroup_v2, read_cgroup
from outrider.stats.proctree import (
    PidSample,
    ProcessSampler,
    RateTracker,
    boottime_ns,
    descendants,
    ppid_map,
)
from outrider.stats.usage import (
    PROC_CPU_MEASURED,
    PROC_MEMORY_MEASURED,
    alloc_usage,
    cpu_stats,
    memory_stats,
    resource_usage,
)

# {alloc_id: {task: (TaskResourceUsage, running)}}
AllocSamples = dict[str, dict[str, tuple[dict[str, Any], bool]]]


@dataclass(frozen=True)
class TaskTarget:
    """What the task runner says about one task at the start of a round."""

    alloc_id: str
    task: str
    running: bool
    root_pid: int | None = None
    cgroup: str | None = None


class AllocSampler:
    """Turns task targets into ``TaskResourceUsage`` samples; owned by one sampling loop.

    Readers use :attr:`latest` (or :meth:`usage`), which each :meth:`sample`
    replaces with a new mapping; published samples are never mutated.
    """

    def __init__(self, total_compute: float, numcores: int, interval: float) -> None:
        # TotalTicks = Percent/100 · TotalCompute/NumCores (``client/lib/cpustats/stats.go``):
        # the MHz of an average core.
        self._mhz_per_percent = total_compute / max(numcores, 1) / 100.0
        self._interval_ns = int(interval * 1e9)
        self._procs = ProcessSampler()
        self._cgroup_trackers: dict[tuple[str, str, str], RateTracker] = {}
        self._last_round_ns: int | None = None
        self.latest: AllocSamples = {}

    def usage(self, alloc_id: str, task_filter: str | None = None) -> dict[str, Any]:
        """The ``AllocResourceUsage`` body for ``alloc_id`` from the latest samples."""
        return alloc_usage(self.latest.get(alloc_id, {}), task_filter)

    def sample(self, targets: Iterable[TaskTarget], forget: Iterable[str] = ()) -> None:
        """Run one round over ``targets``; drop everything about the allocations in ``forget``."""
        now = boottime_ns()
        wall = time.time_ns()
        born_after = self._last_round_ns if self._last_round_ns is not None else now - self._interval_ns
        self._procs.begin_round(born_after)
        dropped = set(forget)
        samples: AllocSamples = {a: dict(t) for a, t in self.latest.items() if a not in dropped}
        reported: set[str] = set()
        trackers: dict[tuple[str, str, str], RateTracker] = {}
        parents: dict[int, int] | None = None
        for target in targets:
            reported.add(target.alloc_id)
            tasks = samples.setdefault(target.alloc_id, {})
            usage = None
            if target.running:
                if target.cgroup and is_cgroup_v2(target.cgroup):
                    usage = self._sample_cgroup(target, target.cgroup, now, wall, trackers)
                elif target.root_pid:
                    if parents is None:
                        parents = ppid_map()
                    usage = self._sample_tree(descendants(target.root_pid, parents), now, wall)
            if usage is not None:
                tasks[target.task] = (usage, True)
            elif target.task in tasks:
                # Dead (or vanished) tasks keep their last sample but leave the sums.
                tasks[target.task] = (tasks[target.task][0], False)
        for alloc_id, tasks in samples.items():
            if alloc_id not in reported:
                for name, (usage, _running) in list(tasks.items()):
                    tasks[name] = (usage, False)
        self._procs.end_round()
        self._cgroup_trackers = trackers
        self._last_round_ns = now
        self.latest = {a: t for a, t in samples.items() if t}

    # -- one task ---------------------------------------------------------------------------------

    def _pid_entries(self, pids: list[PidSample]) -> dict[str, Any]:
        return {
            str(p.pid): resource_usage(
                cpu_stats(
                    percent=p.percent,
                    system_mode=p.system_mode,
                    user_mode=p.user_mode,
                    total_ticks=p.percent * self._mhz_per_percent,
                    measured=PROC_CPU_MEASURED,
                ),
                memory_stats(PROC_MEMORY_MEASURED, RSS=p.rss, Swap=p.swap),
            )
            for p in pids
        }

    def _sample_tree(self, pids: list[int], now: int, wall: int) -> dict[str, Any] | None:
        """The universal executor's way: task totals are sums over the live processes."""
        samples = self._procs.sample(pids, now)
        if not samples:
            return None
        percent = sum(p.percent for p in samples)
        cpu = cpu_stats(
            percent=percent,
            system_mode=sum(p.system_mode for p in samples),
            user_mode=sum(p.user_mode for p in samples),
            total_ticks=percent * self._mhz_per_percent,
            measured=PROC_CPU_MEASURED,
        )
        memory = memory_stats(
            PROC_MEMORY_MEASURED, RSS=sum(p.rss for p in samples), Swap=sum(p.swap for p in samples)
        )
        return {
            "Pids": self._pid_entries(samples),
            "ResourceUsage": resource_usage(cpu, memory),
            "Timestamp": wall,
        }

    def _sample_cgroup(
        self,
        target: TaskTarget,
        path: str,
        now: int,
        wall: int,
        trackers: dict[tuple[str, str, str], RateTracker],
    ) -> dict[str, Any] | None:
        reading = read_cgroup(path)
        samples = self._procs.sample(reading.pids, now)
        if not samples and reading.usage_usec is None:
            return None
        key = (target.alloc_id, target.task, path)
        tracker = self._cgroup_trackers.get(key) or RateTracker()
        trackers[key] = tracker
        cpu = self._cgroup_cpu(reading, tracker, now, samples)
        memory = _cgroup_memory(reading, samples)
        return {
            "Pids": self._pid_entries(samples),
            "ResourceUsage": resource_usage(cpu, memory),
            "Timestamp": wall,
        }

    def _cgroup_cpu(
        self, reading: CgroupReading, tracker: RateTracker, now: int, samples: list[PidSample]
    ) -> dict[str, Any]:
        if reading.usage_usec is None:
            percent = sum(p.percent for p in samples)
            return cpu_stats(
                percent=percent,
                system_mode=sum(p.system_mode for p in samples),
                user_mode=sum(p.user_mode for p in samples),
                total_ticks=percent * self._mhz_per_percent,
                measured=PROC_CPU_MEASURED,
            )
        percent, user, system = tracker.update(
            (reading.user_usec or 0) / 1e6,
            (reading.system_usec or 0) / 1e6,
            now,
            total_s=reading.usage_usec / 1e6,
        )
        measured = ["System Mode", "User Mode"]
        if reading.nr_throttled is not None:
            measured += ["Throttled Periods", "Throttled Time"]
        measured.append("Percent")
        return cpu_stats(
            percent=percent,
            system_mode=system,
            user_mode=user,
            throttled_periods=reading.nr_throttled or 0,
            throttled_time=(reading.throttled_usec or 0) * 1000,
            total_ticks=percent * self._mhz_per_percent,
            measured=measured,
        )


def _cgroup_memory(reading: CgroupReading, samples: list[PidSample]) -> dict[str, Any]:
    """The group's memory figures when its memory controller is on, else the process sums."""
    if reading.memory_current is None:
        return memory_stats(
            PROC_MEMORY_MEASURED, RSS=sum(p.rss for p in samples), Swap=sum(p.swap for p in samples)
        )
    measured = []
    values: dict[str, int] = {"Usage": reading.memory_current}
    for wire, value in (("RSS", reading.anon), ("Cache", reading.file), ("Swap", reading.swap_current)):
        if value is not None:
            measured.append(wire)
            values[wire] = value
    measured.append("Usage")
    if reading.memory_peak is not None:
        measured.append("Max Usage")
        values["MaxUsage"] = reading.memory_peak
    if reading.file_mapped is not None:
        values["MappedFile"] = reading.file_mapped
    return memory_stats(measured, **values)
