"""Reading a task's cgroup v2 group: CPU time, throttling, memory and member processes.

A field is ``None`` when the host does not provide it (a controller not enabled
for the group, an older kernel); the caller lists only what it read in the
``Measured`` lists (``client/structs/structs.go`` ``MemoryStats``, ``CpuStats``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field


@dataclass
class CgroupReading:
    """One read of a cgroup v2 directory. CPU times are microseconds, memory bytes."""

    usage_usec: int | None = None
    user_usec: int | None = None
    system_usec: int | None = None
    nr_throttled: int | None = None
    throttled_usec: int | None = None
    memory_current: int | None = None
    memory_peak: int | None = None
    anon: int | None = None
    file: int | None = None
    file_mapped: int | None = None
    swap_current: int | None = None
    pids: list[int] = field(default_factory=list)


def _flat_keyed(path: str) -> dict[str, int]:
    """Parse a flat-keyed cgroup file (``key value`` per line); ``{}`` when absent."""
    out: dict[str, int] = {}
    try:
        with open(path) as f:
            for line in f:
                key, _, value = line.partition(" ")
                try:
                    out[key] = int(value)
                except ValueError:
                    continue
    except OSError:
        pass
    return out


def _single(path: str) -> int | None:
    try:
        with open(path) as f:
            text = f.read().strip()
    except OSError:
        return None
    try:
        return int(text)
    except ValueError:
        return None


def member_pids(path: str) -> list[int]:
    """Processes in the group and its descendants, ascending."""
    pids: set[int] = set()
    for dirpath, _dirs, _files in os.walk(path):
        try:
            with open(os.path.join(dirpath, "cgroup.procs")) as f:
                pids.update(int(line) for line in f if line.strip())
        except (OSError, ValueError):
            continue
    return sorted(pids)


def is_cgroup_v2(path: str) -> bool:
    """True when ``path`` is a cgroup v2 directory (it has ``cgroup.procs`` and ``cpu.stat``)."""
    return os.path.isfile(os.path.join(path, "cgroup.procs")) and os.path.isfile(
        os.path.join(path, "cpu.stat")
    )


def read_cgroup(path: str) -> CgroupReading:
    """Read ``cpu.stat``, ``memory.*`` and the member processes of a cgroup v2 group."""
    cpu = _flat_keyed(os.path.join(path, "cpu.stat"))
    memstat = _flat_keyed(os.path.join(path, "memory.stat"))
    return CgroupReading(
        usage_usec=cpu.get("usage_usec"),
        user_usec=cpu.get("user_usec"),
        system_usec=cpu.get("system_usec"),
        nr_throttled=cpu.get("nr_throttled"),
        throttled_usec=cpu.get("throttled_usec"),
        memory_current=_single(os.path.join(path, "memory.current")),
        memory_peak=_single(os.path.join(path, "memory.peak")),
        anon=memstat.get("anon"),
        file=memstat.get("file"),
        file_mapped=memstat.get("file_mapped"),
        swap_current=_single(os.path.join(path, "memory.swap.current")),
        pids=member_pids(path),
    )
