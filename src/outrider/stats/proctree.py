"""Per-process CPU and memory of a task's process tree (``drivers/shared/executor/procstats``), with psutil.

Each process keeps a CPU tracker keyed by ``(pid, start time)``, so a reused
pid starts afresh. A tracker reports 0 on its first reading, as Nomad's does,
except for a process born since the previous round: its CPU time since birth
is then a real measurement over a window shorter than one interval, so a task
that starts burning a core shows it one interval sooner.
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

import psutil


@dataclass
class PidSample:
    """One process's usage over the last interval: percentages of one core, bytes."""

    pid: int
    percent: float
    user_mode: float
    system_mode: float
    rss: int
    swap: int


class RateTracker:
    """Nomad's ``cpustats.Tracker``: CPU seconds turned into a percentage of wall time."""

    __slots__ = ("_at_ns", "_system", "_total", "_user")

    def __init__(self, at_ns: int | None = None) -> None:
        # Given a start instant, the tracker counts from zero CPU then (a process birth).
        self._at_ns = at_ns
        self._total = self._user = self._system = 0.0

    def update(
        self, user_s: float, system_s: float, at_ns: int, total_s: float | None = None
    ) -> tuple[float, float, float]:
        """Return ``(percent, user_percent, system_percent)`` since the previous call."""
        total = user_s + system_s if total_s is None else total_s
        prev_at = self._at_ns
        d_total, d_user, d_system = total - self._total, user_s - self._user, system_s - self._system
        self._at_ns, self._total, self._user, self._system = at_ns, total, user_s, system_s
        if prev_at is None:
            return 0.0, 0.0, 0.0
        elapsed = at_ns - prev_at
        if elapsed <= 0:
            return 0.0, 0.0, 0.0
        scale = 1e9 * 100.0 / elapsed
        return (
            max(d_total, 0.0) * scale,
            max(d_user, 0.0) * scale,
            max(d_system, 0.0) * scale,
        )


def ppid_map(proc: str = "/proc") -> dict[int, int]:
    """``{pid: ppid}`` for every process, from one pass over ``/proc/*/stat``.

    psutil rebuilds this map inside every ``children()`` call; building it once
    per sampling round keeps the cost at one pass however many tasks run.
    """
    parents: dict[int, int] = {}
    for name in os.listdir(proc):
        if not name.isdigit():
            continue
        try:
            with open(f"{proc}/{name}/stat", "rb") as f:
                data = f.read()
        except OSError:
            continue
        # The command name may hold spaces and parentheses; fields resume after the last ')'.
        rest = data[data.rfind(b")") + 2 :].split(b" ", 2)
        if len(rest) >= 2:
            parents[int(name)] = int(rest[1])
    return parents


def descendants(root: int, parents: dict[int, int]) -> list[int]:
    """``root`` and every process below it, ``root`` first."""
    children: dict[int, list[int]] = {}
    for pid, ppid in parents.items():
        children.setdefault(ppid, []).append(pid)
    if root not in parents:
        return []
    out, queue = [], deque([root])
    while queue:
        pid = queue.popleft()
        out.append(pid)
        queue.extend(sorted(children.get(pid, ())))
    return out


def _swap_bytes(pid: int) -> int:
    # psutil has no cheap swap figure (memory_full_info parses smaps); VmSwap is one line of status.
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            for line in f:
                if line.startswith(b"VmSwap:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def boottime_ns() -> int:
    """Nanoseconds since boot (``CLOCK_BOOTTIME``), the clock process start times are kept in."""
    return time.clock_gettime_ns(time.CLOCK_BOOTTIME)


class ProcessSampler:
    """Samples processes each round; trackers of processes not seen in a round are dropped.

    Rates are measured against ``CLOCK_BOOTTIME``: a process's birth is known on
    that clock to one clock tick, while its wall-clock ``create_time`` is only
    as good as the whole second of ``btime`` it is derived from.
    """

    def __init__(self) -> None:
        self._trackers: dict[tuple[int, float], RateTracker] = {}
        self._seen: dict[tuple[int, float], RateTracker] = {}
        self._born_after_ns: int | None = None
        self._boot_time = psutil.boot_time()

    def begin_round(self, born_after_ns: int) -> None:
        """Start a round; a process born after ``born_after_ns`` (boot-time clock) is measured from its birth."""
        self._born_after_ns = born_after_ns
        self._seen = {}

    def end_round(self) -> None:
        self._trackers = self._seen

    def sample(self, pids: Iterable[int], now_ns: int) -> list[PidSample]:
        """Sample each live pid of ``pids`` at ``now_ns`` (:func:`boottime_ns`); vanished ones are skipped."""
        out = []
        for pid in pids:
            try:
                proc = psutil.Process(pid)
                with proc.oneshot():
                    created = proc.create_time()
                    times = proc.cpu_times()
                    rss = proc.memory_info().rss
            except (psutil.Error, OSError):
                continue
            key = (pid, created)
            tracker = self._seen.get(key) or self._trackers.get(key)
            if tracker is None:
                # create_time is btime + start ticks, so this recovers the start on the boot clock.
                born_ns = round((created - self._boot_time) * 1e9)
                fresh = self._born_after_ns is not None and born_ns >= self._born_after_ns
                tracker = RateTracker(born_ns if fresh else None)
            self._seen[key] = tracker
            percent, user, system = tracker.update(times.user, times.system, now_ns)
            out.append(PidSample(pid, percent, user, system, int(rss), _swap_bytes(pid)))
        return out
