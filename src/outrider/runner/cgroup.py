"""Optional cgroup v2 placement of tasks: ``<cgroup2 mount>/outrider/<alloc_id>.<task>``.

A task in its own cgroup can be measured as a whole and killed as a whole, even
the processes that left its process group. Hosts that do not allow it (no
cgroup2 mount, no permission) simply run tasks without one.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time

PARENT = "outrider"


def cgroup2_mount() -> str | None:
    """The mount point of the cgroup v2 hierarchy (``/sys/fs/cgroup`` or, on hybrid hosts, ``.../unified``)."""
    try:
        with open("/proc/self/mountinfo") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    for line in lines:
        left, _, right = line.partition(" - ")
        if right.split(" ", 1)[0] == "cgroup2":
            return left.split(" ")[4]
    return None


def task_cgroup_path(alloc_id: str, task: str) -> str | None:
    """Where the task's cgroup would go, when this host has a writable cgroup2 hierarchy."""
    mount = cgroup2_mount()
    if mount is None:
        return None
    parent = os.path.join(mount, PARENT)
    try:
        os.makedirs(parent, exist_ok=True)
    except OSError:
        return None
    if not os.access(os.path.join(parent, "cgroup.procs"), os.W_OK):
        return None
    return os.path.join(parent, f"{alloc_id}.{task}")


def create(path: str) -> bool:
    try:
        os.makedirs(path, exist_ok=True)
    except OSError:
        return False
    return True


def join_self(path: str) -> None:
    """Move the calling process into ``path`` (writing ``0`` names the writer itself)."""
    with open(os.path.join(path, "cgroup.procs"), "w") as f:
        f.write("0")


def member_of(pid: int, path: str) -> bool:
    """True when ``pid`` runs in the cgroup ``path``."""
    mount = cgroup2_mount()
    try:
        with open(f"/proc/{pid}/cgroup") as f:
            lines = f.read().splitlines()
    except OSError:
        return False
    for line in lines:
        if line.startswith("0::") and mount is not None:
            return os.path.join(mount, line[3:].lstrip("/")) == path
    return False


def pids(path: str) -> list[int]:
    try:
        with open(os.path.join(path, "cgroup.procs")) as f:
            return [int(p) for p in f.read().split()]
    except (OSError, ValueError):
        return []


def kill_all(path: str) -> None:
    """SIGKILL every process in the cgroup (``cgroup.kill`` where the kernel has it)."""
    try:
        with open(os.path.join(path, "cgroup.kill"), "w") as f:
            f.write("1")
        return
    except OSError:
        pass
    for pid in pids(path):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def remove(path: str, timeout: float = 1.0) -> None:
    """Remove the (emptied) cgroup; killed processes take a moment to leave it."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            os.rmdir(path)
            return
        except FileNotFoundError:
            return
        except OSError:
            if time.monotonic() >= deadline:
                return
            time.sleep(0.01)
