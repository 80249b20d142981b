"""Host statistics, the ``HostStats`` body of ``GET /v1/client/stats`` (``client/hoststats/host.go``).

The three CPU mistakes of the reference (``client/hoststats/host.go``) are fixed here:

* the first snapshot covers a short window after start-up, not the time since boot;
* ``guest`` and ``guest_nice`` are not added again: Linux already counts them in
  ``user`` and ``nice``;
* ``TotalTicks`` uses each core's own speed rather than the average.

``iowait`` stays in the busy time, as in the reference, so ``TotalPercent``
compares with Nomad's.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import Any

import psutil

from outrider.stats.cpufreq import core_mhz
from outrider.stats.disks import DiskCollector, statfs_stats

# Fields of a /proc/stat cpu line, in order (proc(5)).
_USER, _NICE, _SYSTEM, _IDLE, _IOWAIT, _IRQ, _SOFTIRQ, _STEAL = range(8)

CpuTimes = tuple[int, int, int, int]  # (total, idle, user, system), in clock ticks


def read_proc_stat(path: str = "/proc/stat") -> dict[str, CpuTimes]:
    """Per-CPU ``(total, idle, user, system)`` ticks, keyed ``cpu0``, ``cpu1``… in file order.

    psutil's per-CPU times drop the CPU names, which matter once a CPU is
    offline (``cpu0``, ``cpu2``), so ``/proc/stat`` is read directly.
    """
    times: dict[str, CpuTimes] = {}
    with open(path) as f:
        for line in f:
            if not line.startswith("cpu") or not line[3:4].isdigit():
                continue
            name, *fields = line.split()
            v = [int(x) for x in fields[:8]] + [0] * (8 - min(len(fields), 8))
            # guest and guest_nice (fields 9 and 10) are already inside user and nice.
            total = (
                v[_USER] + v[_NICE] + v[_SYSTEM] + v[_IDLE] + v[_IOWAIT] + v[_IRQ] + v[_SOFTIRQ] + v[_STEAL]
            )
            times[name] = (total, v[_IDLE], v[_USER], v[_SYSTEM])
    return times


def _clean(value: float, default: float) -> float:
    # The reference replaces NaN, infinities and negatives; a share of one CPU also
    # cannot exceed 100, which inconsistent counters (a CPU coming back online) can suggest.
    return min(value, 100.0) if math.isfinite(value) and value >= 0.0 else default


def cpu_stats(
    prev: Mapping[str, CpuTimes], cur: Mapping[str, CpuTimes], mhz: Mapping[int, float]
) -> list[dict[str, Any]]:
    """``CPUStats`` for every CPU in ``cur``, as deltas against ``prev``.

    A CPU with no earlier reading (hot-plugged) or no elapsed ticks reports
    ``Idle`` 100 and zeros, the reference's sanitised values.
    """
    fallback = sum(mhz.values()) / len(mhz) if mhz else 0.0
    out = []
    for name, (total, idle, user, system) in cur.items():
        before = prev.get(name)
        if before is None:
            d_total = d_idle = d_user = d_system = 0
        else:
            d_total = total - before[0]
            d_idle, d_user, d_system = idle - before[1], user - before[2], system - before[3]
        if d_total > 0:
            idle_pct = _clean(d_idle / d_total * 100.0, 100.0)
            user_pct = _clean(d_user / d_total * 100.0, 0.0)
            system_pct = _clean(d_system / d_total * 100.0, 0.0)
            total_pct = _clean((d_total - d_idle) / d_total * 100.0, 0.0)
        else:
            idle_pct, user_pct, system_pct, total_pct = 100.0, 0.0, 0.0, 0.0
        speed = mhz.get(int(name[3:]), fallback)
        out.append(
            {
                "CPU": name,
                "Idle": idle_pct,
                "System": system_pct,
                "TotalPercent": total_pct,
                "TotalTicks": total_pct / 100.0 * speed,
                "User": user_pct,
            }
        )
    return out


def memory_stats() -> dict[str, int]:
    """``MemoryStats``: psutil's ``used`` is Nomad's ``Total - Free - Buffers - (Cached + SReclaimable)``."""
    try:
        vm = psutil.virtual_memory()
    except (OSError, RuntimeError):
        return {"Available": 0, "Free": 0, "Total": 0, "Used": 0}
    return {
        "Available": int(vm.available),
        "Free": int(vm.free),
        "Total": int(vm.total),
        "Used": int(vm.used),
    }


def uptime_seconds(path: str = "/proc/uptime") -> int:
    """Whole seconds since boot (``sysinfo().uptime``); 0 when unknown."""
    try:
        with open(path) as f:
            return int(float(f.read().split()[0]))
    except (OSError, ValueError, IndexError):
        return 0


_EMPTY_DISK = {
    "Available": 0,
    "Device": "",
    "InodesUsedPercent": 0.0,
    "Mountpoint": "",
    "Size": 0,
    "Used": 0,
    "UsedPercent": 0.0,
}


class HostSampler:
    """Computes ``HostStats`` snapshots; :meth:`prime` must run once before :meth:`sample`.

    Not thread-safe: one sampling loop owns it. Readers use :attr:`latest`,
    which is replaced (never mutated) by each :meth:`sample`.
    """

    def __init__(self, alloc_dir: str, mhz: Mapping[int, float] | None = None) -> None:
        self.alloc_dir = alloc_dir
        self.mhz: dict[int, float] = dict(mhz) if mhz is not None else core_mhz()
        self.total_compute = sum(self.mhz.values())
        self._disks = DiskCollector()
        self._prev: dict[str, CpuTimes] = {}
        self.latest: dict[str, Any] | None = None

    def prime(self) -> None:
        """Take the baseline CPU reading the first snapshot is measured against."""
        self._prev = self._read_cpu()

    def _read_cpu(self) -> dict[str, CpuTimes]:
        try:
            return read_proc_stat()
        except (OSError, ValueError):
            return {}

    def sample(self) -> dict[str, Any]:
        """Collect one snapshot, publish it as :attr:`latest` and return it."""
        cur = self._read_cpu()
        cpus = cpu_stats(self._prev, cur, self.mhz)
        self._prev = cur
        try:
            alloc_dir = statfs_stats(self.alloc_dir)
        except OSError:
            alloc_dir = dict(_EMPTY_DISK)
        snapshot = {
            "AllocDirStats": alloc_dir,
            "CPU": cpus,
            "CPUTicksConsumed": float(sum(c["TotalTicks"] for c in cpus)),
            "DeviceStats": None,
            "DiskStats": self._disks.collect(),
            "Memory": memory_stats(),
            "Timestamp": time.time_ns(),
            "Uptime": uptime_seconds(),
        }
        self.latest = snapshot
        return snapshot
