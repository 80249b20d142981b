"""How much each mode measures: file sizes, run counts and durations (``--smoke``, ``--quick``, full)."""

from __future__ import annotations

from dataclasses import dataclass

MIB = 1024 * 1024
GIB = 1024 * MIB


@dataclass(frozen=True)
class Plan:
    """Every size and duration a scenario uses; scenarios read nothing else."""

    mode: str
    runs: int
    """Interleaved rounds (A B A B ...); medians are taken over these."""
    big_file: int
    """Bytes of the bulk file for ``cat``, ``readat`` and ``stream``."""
    wrk_seconds: float
    """Duration of one wrk run (one side of one round)."""
    connections: int
    """Concurrent connections of request-rate scenarios."""
    follower_counts: tuple[int, ...]
    latency_samples: int
    """Append-to-frame samples wanted per round and follower count (20 to this many appends)."""
    idle_counts: tuple[int, ...]
    idle_window: float
    """Seconds over which idle CPU is measured."""
    capture_bytes: int
    rotation_rate: int
    """Bytes per second written by the rotation scenario's task."""
    rotation_seconds: float
    micro: str
    """``smoke`` (each benchmark once, untimed), ``quick`` or ``full``."""


PLANS = {
    "smoke": Plan(
        mode="smoke",
        runs=1,
        big_file=8 * MIB,
        wrk_seconds=1.0,
        connections=32,
        follower_counts=(1, 10),
        latency_samples=20,
        idle_counts=(50,),
        idle_window=0.5,
        capture_bytes=16 * MIB,
        rotation_rate=8 * MIB,
        rotation_seconds=1.0,
        micro="smoke",
    ),
    "quick": Plan(
        mode="quick",
        runs=5,
        big_file=128 * MIB,
        wrk_seconds=1.0,
        connections=32,
        follower_counts=(1, 100, 1000),
        latency_samples=200,
        idle_counts=(1000, 10000),
        idle_window=1.0,
        capture_bytes=128 * MIB,
        rotation_rate=16 * MIB,
        rotation_seconds=2.0,
        micro="quick",
    ),
    "full": Plan(
        mode="full",
        runs=5,
        big_file=GIB,
        wrk_seconds=2.0,
        connections=32,
        follower_counts=(1, 100, 1000),
        latency_samples=600,
        idle_counts=(1000, 10000),
        idle_window=5.0,
        capture_bytes=GIB,
        rotation_rate=100 * MIB,
        rotation_seconds=3.0,
        micro="full",
    ),
}


def human_bytes(n: int) -> str:
    """``1 GiB``, ``128 MiB``, ``4 KiB``: sizes as the report names them."""
    for unit, size in (("GiB", GIB), ("MiB", MIB), ("KiB", 1024)):
        if n >= size and n % size == 0:
            return f"{n // size} {unit}"
    return f"{n} B"
