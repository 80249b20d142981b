"""The node's fingerprint: the ``Attributes`` and ``NodeResources`` of the node view.

Attribute names follow Nomad's fingerprinters (``cpu.*``, ``memory.*``,
``kernel.*``, ``os.*``, ``unique.*``, ``driver.*``), so constraints written for
Nomad read the same values. The agent's own version is ``outrider.version``;
Outrider does not claim a ``nomad.version``.
"""

from __future__ import annotations

import os
import platform
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import psutil

from outrider import __version__
from outrider.stats.cpufreq import model_name
from outrider.stats.disks import read_mounts

# Go's GOARCH for the common machine names (cpu.arch is runtime.GOARCH in Nomad).
_GOARCH = {
    "x86_64": "amd64",
    "amd64": "amd64",
    "aarch64": "arm64",
    "arm64": "arm64",
    "i686": "386",
    "i386": "386",
}
MIN_DYNAMIC_PORT = 20000
MAX_DYNAMIC_PORT = 32000
MIB = 1024 * 1024


@dataclass
class Fingerprint:
    attributes: dict[str, str]
    total_compute: int
    numcores: int
    memory_bytes: int
    disk_free_bytes: int


def os_release(path: str = "/etc/os-release") -> tuple[str, str]:
    """``(ID, VERSION_ID)`` of ``/etc/os-release``, or ``("", "")``."""
    values: dict[str, str] = {}
    try:
        with open(path) as f:
            for line in f:
                key, sep, value = line.strip().partition("=")
                if sep:
                    values[key] = value.strip().strip('"')
    except OSError:
        pass
    return values.get("ID", ""), values.get("VERSION_ID", "")


def _storage_device(path: str) -> str:
    """The source device of the mount holding ``path`` (the longest mountpoint prefix)."""
    real = os.path.realpath(path)
    best, device = -1, ""
    for mount in read_mounts():
        mp = mount.mountpoint.rstrip("/") or "/"
        if (real == mp or real.startswith(mp.rstrip("/") + "/")) and len(mp) > best:
            best, device = len(mp), mount.device
    return device


def fingerprint(alloc_dir: str, mhz: Mapping[int, float], raw_exec: bool = True) -> Fingerprint:
    """Read the host once: CPU, memory, kernel, OS, host name and the alloc dir's storage;
    ``driver.raw_exec`` only when that driver is enabled."""
    numcores = len(mhz) or (os.cpu_count() or 1)
    total_compute = int(sum(mhz.values()))
    memory = int(psutil.virtual_memory().total)
    try:
        st = os.statvfs(alloc_dir)
        disk_total, disk_free = st.f_blocks * st.f_frsize, st.f_bavail * st.f_frsize
    except OSError:
        disk_total = disk_free = 0
    os_name, os_version = os_release()
    machine = platform.machine()
    attrs = {
        "cpu.arch": _GOARCH.get(machine.lower(), machine.lower()),
        "cpu.numcores": str(numcores),
        "cpu.reservablecores": str(numcores),
        "cpu.totalcompute": str(total_compute),
        "cpu.usablecompute": str(total_compute),
        "cpu.frequency": f"{total_compute / numcores:.0f}",
        "memory.totalbytes": str(memory),
        "kernel.name": platform.system().lower(),
        "kernel.version": platform.release(),
        "kernel.arch": machine,
        "os.name": os_name,
        "os.version": os_version,
        "unique.hostname": socket.gethostname(),
        "unique.storage.volume": _storage_device(alloc_dir),
        "unique.storage.bytestotal": str(disk_total),
        "unique.storage.bytesfree": str(disk_free),
        "outrider.version": __version__,
    }
    if raw_exec:
        attrs["driver.raw_exec"] = "1"
    cpu_model = model_name()
    if cpu_model:
        attrs["cpu.modelname"] = cpu_model
    return Fingerprint(attrs, total_compute, numcores, memory, disk_free)


def node_resources(fp: Fingerprint) -> dict[str, Any]:
    """``NodeResources`` in Nomad's shape (api ``NodeResources``)."""
    return {
        "Cpu": {
            "CpuShares": fp.total_compute,
            "ReservableCpuCores": list(range(fp.numcores)),
            "TotalCpuCores": fp.numcores,
        },
        "Devices": None,
        "Disk": {"DiskMB": fp.disk_free_bytes // MIB},
        "MaxDynamicPort": MAX_DYNAMIC_PORT,
        "Memory": {"MemoryMB": fp.memory_bytes // MIB},
        "MinDynamicPort": MIN_DYNAMIC_PORT,
        "Networks": None,
        "NodeNetworks": None,
    }


def reserved_resources() -> dict[str, Any]:
    """``ReservedResources``: Outrider reserves nothing."""
    return {
        "Cpu": {"CpuShares": 0, "ReservedCpuCores": None},
        "Disk": {"DiskMB": 0},
        "Memory": {"MemoryMB": 0},
        "Networks": {"ReservedHostPorts": ""},
    }
