"""``DiskStats`` entries: the host's physical mounts and the alloc dir's file system.

Nomad's source: ``client/hoststats/host.go``.

Mounts are read as Nomad's gopsutil reads them: ``/proc/1/mountinfo`` (the
host's view when the agent runs in a container with the host's pid namespace),
falling back to ``/proc/1/mounts``, ``/proc/self/mountinfo`` and
``/proc/self/mounts``; only mounts whose source is not ``none`` and whose type
is a ``/proc/filesystems`` entry without ``nodev`` (plus ``zfs``) qualify.
psutil reads ``/etc/mtab`` and resolves neither ``/dev/mapper`` links nor
``/dev/root``, so this module reads ``/proc`` itself.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("outrider.stats")

MOUNT_SOURCES = ("/proc/1/mountinfo", "/proc/1/mounts", "/proc/self/mountinfo", "/proc/self/mounts")
_OCTAL = re.compile(rb"\\([0-7]{3})")


@dataclass(frozen=True)
class Mount:
    device: str
    mountpoint: str
    fstype: str
    major_minor: str = ""


def unescape(field: str) -> str:
    """Decode the kernel's octal escapes (``\\040`` is a space) of a mount table field."""
    if "\\" not in field:
        return field
    raw = _OCTAL.sub(lambda m: bytes([int(m.group(1), 8)]), os.fsencode(field))
    return os.fsdecode(raw)


def parse_mountinfo(text: str) -> list[Mount]:
    """Parse ``/proc/<pid>/mountinfo``; malformed lines are skipped."""
    mounts = []
    for line in text.splitlines():
        left, sep, right = line.partition(" - ")
        if not sep:
            continue
        head = left.split(" ")
        tail = right.split(" ")
        if len(head) < 6 or len(tail) < 2:
            continue
        mounts.append(Mount(unescape(tail[1]), unescape(head[4]), tail[0], head[2]))
    return mounts


def parse_mounts(text: str) -> list[Mount]:
    """Parse ``/proc/<pid>/mounts`` (fstab format)."""
    mounts = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 3:
            mounts.append(Mount(unescape(fields[0]), unescape(fields[1]), fields[2]))
    return mounts


def read_mounts(sources: tuple[str, ...] = MOUNT_SOURCES) -> list[Mount]:
    """The mount table from the first readable source, in file order."""
    for path in sources:
        try:
            with open(path) as f:
                text = f.read()
        except OSError:
            continue
        return parse_mountinfo(text) if path.endswith("mountinfo") else parse_mounts(text)
    return []


def physical_fstypes(path: str = "/proc/filesystems") -> frozenset[str]:
    """File system types backed by a device: those not flagged ``nodev``, plus ``zfs``."""
    types = {"zfs"}
    try:
        with open(path) as f:
            for line in f:
                flag, _, name = line.rstrip("\n").partition("\t")
                if not flag and name:
                    types.add(name.strip())
    except OSError:
        pass
    return frozenset(types)


def resolve_device(mount: Mount) -> str:
    """Resolve ``/dev/mapper/*`` links and map ``/dev/root`` to the real block device."""
    device = mount.device
    if device.startswith("/dev/mapper/"):
        try:
            return os.path.realpath(device, strict=True)
        except OSError:
            return device
    if device == "/dev/root" and mount.major_minor:
        try:
            with open(f"/sys/dev/block/{mount.major_minor}/uevent") as f:
                for line in f:
                    if line.startswith("DEVNAME="):
                        return "/dev/" + line.strip().split("=", 1)[1]
        except OSError:
            pass
    return device


def _percent(num: float, den: float) -> float:
    return num / den * 100.0 if den > 0 else 0.0


def statfs_stats(path: str, device: str = "", mountpoint: str = "") -> dict[str, Any]:
    """One ``DiskStats`` object for the file system holding ``path``; raises ``OSError``.

    Sizes use the fragment size (``f_frsize``), the unit statfs counts blocks
    in; gopsutil multiplies by ``f_bsize``, which is the same number on nearly
    every Linux file system.
    """
    st = os.statvfs(path)
    size = st.f_blocks * st.f_frsize
    available = st.f_bavail * st.f_frsize
    used = (st.f_blocks - st.f_bfree) * st.f_frsize
    inodes_used = st.f_files - st.f_ffree
    return {
        "Available": available,
        "Device": device,
        "InodesUsedPercent": _percent(inodes_used, st.f_files),
        "Mountpoint": mountpoint,
        "Size": size,
        "Used": used,
        "UsedPercent": _percent(used, used + available),
    }


class DiskCollector:
    """Collects ``DiskStats`` for every qualifying mount; logs each failing mount once."""

    def __init__(
        self, sources: tuple[str, ...] = MOUNT_SOURCES, filesystems: str = "/proc/filesystems"
    ) -> None:
        self._sources = sources
        self._filesystems = filesystems
        self._logged: set[str] = set()

    def collect(self) -> list[dict[str, Any]]:
        """A list, ``[]`` when nothing qualifies (the reference answers ``null`` on errors)."""
        fstypes = physical_fstypes(self._filesystems)
        stats = []
        for mount in read_mounts(self._sources):
            if mount.device in ("", "none") or mount.fstype not in fstypes:
                continue
            try:
                stats.append(statfs_stats(mount.mountpoint, resolve_device(mount), mount.mountpoint))
            except OSError as exc:
                if mount.mountpoint not in self._logged:
                    self._logged.add(mount.mountpoint)
                    log.warning(
                        "skipping mount in disk stats",
                        extra={"mountpoint": mount.mountpoint, "error": str(exc)},
                    )
        return stats
