"""The ``ResourceUsage`` JSON family of allocation stats, and Nomad's ``Add`` (``client/structs/structs.go``).

Objects are plain dicts in the wire shape (keys sorted at encoding), built
once per sample and never mutated after publication.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

# Measured lists by source (``drivers/shared/executor/procstats``): the universal
# executor's process-tree sums and every per-pid entry; a cgroup v2 group.
PROC_MEMORY_MEASURED = ("RSS", "Swap")
PROC_CPU_MEASURED = ("System Mode", "User Mode", "Percent")

_CPU_NUMERIC = ("Percent", "SystemMode", "ThrottledPeriods", "ThrottledTime", "TotalTicks", "UserMode")
_MEMORY_NUMERIC = ("Cache", "KernelMaxUsage", "KernelUsage", "MappedFile", "MaxUsage", "RSS", "Swap", "Usage")


def cpu_stats(
    *,
    percent: float = 0.0,
    system_mode: float = 0.0,
    user_mode: float = 0.0,
    throttled_periods: int = 0,
    throttled_time: int = 0,
    total_ticks: float = 0.0,
    measured: Iterable[str] | None = None,
) -> dict[str, Any]:
    """A ``CpuStats`` object; percentages are of one core, ``ThrottledTime`` is nanoseconds."""
    return {
        "Measured": list(measured) if measured is not None else None,
        "Percent": float(percent),
        "SystemMode": float(system_mode),
        "ThrottledPeriods": int(throttled_periods),
        "ThrottledTime": int(throttled_time),
        "TotalTicks": float(total_ticks),
        "UserMode": float(user_mode),
    }


def memory_stats(measured: Iterable[str] | None = None, **values: int) -> dict[str, Any]:
    """A ``MemoryStats`` object in bytes; ``values`` uses the wire names (``RSS=…``, ``Swap=…``)."""
    unknown = set(values) - set(_MEMORY_NUMERIC)
    if unknown:
        raise TypeError(f"unknown MemoryStats fields: {sorted(unknown)}")
    out: dict[str, Any] = {name: int(values.get(name, 0)) for name in _MEMORY_NUMERIC}
    out["Measured"] = list(measured) if measured is not None else None
    return out


def resource_usage(
    cpu: dict[str, Any], memory: dict[str, Any], device_stats: list[Any] | None = None
) -> dict[str, Any]:
    return {"CpuStats": cpu, "DeviceStats": device_stats, "MemoryStats": memory}


def empty_alloc_usage() -> dict[str, Any]:
    """The allocation-level sum before any task is added: ``DeviceStats`` is ``[]``.

    The shape is ``client/structs/structs.go`` ``AllocResourceUsage``.
    """
    return resource_usage(cpu_stats(), memory_stats(), [])


def _union(into: list[str] | None, other: list[str] | None) -> list[str] | None:
    if not other:
        return into
    merged = list(into or ())
    merged.extend(m for m in other if m not in merged)
    return merged


def add(into: dict[str, Any], other: Mapping[str, Any]) -> None:
    """Nomad's ``ResourceUsage.Add``: sum every number, union ``Measured`` in first-seen order."""
    for part, names in (("CpuStats", _CPU_NUMERIC), ("MemoryStats", _MEMORY_NUMERIC)):
        dst, src = into[part], other[part]
        for name in names:
            dst[name] += src[name]
        dst["Measured"] = _union(dst["Measured"], src["Measured"])
    if other.get("DeviceStats"):
        into["DeviceStats"] = [*(into["DeviceStats"] or []), *other["DeviceStats"]]


def alloc_usage(
    tasks: Mapping[str, tuple[dict[str, Any], bool]], task_filter: str | None = None
) -> dict[str, Any]:
    """An ``AllocResourceUsage`` from ``{task: (TaskResourceUsage, running)}``.

    ``ResourceUsage`` sums the running tasks, ``Timestamp`` is the newest of
    their timestamps (0 when none runs), and ``Tasks`` keeps every task with a
    sample, dead ones included, restricted to ``task_filter`` when given.
    """
    total = empty_alloc_usage()
    timestamp = 0
    shown: dict[str, Any] = {}
    for name, (usage, running) in tasks.items():
        if task_filter and name != task_filter:
            continue
        shown[name] = usage
        if running:
            add(total, usage["ResourceUsage"])
            timestamp = max(timestamp, usage["Timestamp"])
    return {"ResourceUsage": total, "Tasks": shown, "Timestamp": timestamp}
