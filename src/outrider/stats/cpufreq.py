"""Per-core speed in MHz, the basis of Nomad's ``TotalCompute`` and every ``TotalTicks``.

Nomad's source: ``client/lib/numalib/topology.go``, ``client/lib/numalib/detect_linux.go``.

Nomad sums each core's base frequency (else its maximum, else a guess). The
same sources are read here in the same order, with ``/proc/cpuinfo``'s
``cpu MHz`` before the guess: virtual machines often have no ``cpufreq`` in
sysfs, and the hypervisor's nominal speed is better than a constant.
"""

from __future__ import annotations

import os
import re

_SYSFS_CPU = "/sys/devices/system/cpu"
# The last resort when nothing reports a speed (numalib's guess).
GUESS_MHZ = 1000.0
_CPU_DIR = re.compile(r"cpu(\d+)\Z")


def _read_khz(path: str) -> float | None:
    try:
        with open(path) as f:
            khz = float(f.read().strip())
    except (OSError, ValueError):
        return None
    return khz / 1000.0 if khz > 0 else None


def _cpuinfo_mhz(path: str = "/proc/cpuinfo") -> dict[int, float]:
    speeds: dict[int, float] = {}
    current: int | None = None
    try:
        with open(path) as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "processor":
                    try:
                        current = int(value)
                    except ValueError:
                        current = None
                elif key == "cpu MHz" and current is not None:
                    try:
                        mhz = float(value)
                    except ValueError:
                        continue
                    if mhz > 0:
                        speeds[current] = mhz
    except OSError:
        pass
    return speeds


def core_ids(sysfs: str = _SYSFS_CPU) -> list[int]:
    """Logical CPU numbers present on the host, ascending; falls back to ``0..n-1``."""
    try:
        ids = sorted(int(m.group(1)) for name in os.listdir(sysfs) if (m := _CPU_DIR.match(name)))
    except OSError:
        ids = []
    return ids or list(range(os.cpu_count() or 1))


def core_mhz(sysfs: str = _SYSFS_CPU, cpuinfo: str = "/proc/cpuinfo") -> dict[int, float]:
    """Each logical CPU's speed in MHz: base, else max frequency, else ``cpu MHz``, else a guess."""
    info = _cpuinfo_mhz(cpuinfo)
    speeds: dict[int, float] = {}
    for cpu in core_ids(sysfs):
        base = os.path.join(sysfs, f"cpu{cpu}", "cpufreq")
        mhz = _read_khz(os.path.join(base, "base_frequency")) or _read_khz(
            os.path.join(base, "cpuinfo_max_freq")
        )
        speeds[cpu] = mhz or info.get(cpu) or GUESS_MHZ
    return speeds


def model_name(cpuinfo: str = "/proc/cpuinfo") -> str:
    """The first ``model name`` of ``/proc/cpuinfo``, or ``""``."""
    try:
        with open(cpuinfo) as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "model name":
                    return value.strip()
    except OSError:
        pass
    return ""
