"""Scenario 4b: what a ``cat`` of the large file, cold or warm, costs 100 timed followers of another file."""

from __future__ import annotations

import asyncio
import os
import subprocess

import uvloop

from bench.context import Context, Scenario
from bench.model import Row, Side
from bench.scenarios.follow_latency import FollowerGroup
from bench.tools import ToolError
from bench.workspace import BIG_NAME, Workspace

FOLLOWERS = 100
APPENDS = 20
# The cat must be reading when the first append is timed.
CAT_HEAD_START = 0.05
QUANTILES = ("p50", "p99")


def evict(ws: Workspace, rel: str) -> bool:
    """Drop ``rel`` from the page cache; True when its middle page is no longer cached afterwards."""
    fd = os.open(ws.path(rel), os.O_RDONLY)
    try:
        os.fdatasync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        try:
            os.preadv(fd, [bytearray(4096)], os.fstat(fd).st_size // 2, os.RWF_NOWAIT)
        except BlockingIOError:
            return True
        except OSError:
            return False  # the filesystem cannot say (no RWF_NOWAIT)
        return False
    finally:
        os.close(fd)


def measure(ctx: Context, server: str) -> list[Row]:
    return uvloop.run(_measure(ctx, server))


async def _measure(ctx: Context, server: str) -> list[Row]:
    ws = ctx.ws
    agent = ctx.agents.get(server)
    curl = ctx.tools["curl"]
    cat_url = agent.fs_url("cat", ws.alloc_id, f"path={BIG_NAME}")
    rel = f"alloc/data/cold-cat-{server}.log"
    ws.path(rel).write_bytes(b"")
    group = FollowerGroup(agent, ws.alloc_id, rel, str(ws.path(rel)), FOLLOWERS)
    conditions = ("quiet", "warm cat", "cold cat")
    samples: dict[str, dict[str, list[float]]] = {c: {} for c in conditions}
    checks = {"evicted_runs": 0, "cat_in_flight_runs": {"warm cat": 0, "cold cat": 0}, "missed_frames": 0}
    await group.open()
    try:
        for r in range(ctx.plan.runs):
            results = {"quiet": await group.round(APPENDS)}
            for label in conditions[1:]:
                if label == "cold cat":
                    checks["evicted_runs"] += evict(ws, BIG_NAME)
                else:
                    ws.warm(BIG_NAME)
                results[label], in_flight = await _beside_cat(group, curl, cat_url)
                checks["cat_in_flight_runs"][label] += in_flight
            for label, result in results.items():
                for key in QUANTILES:
                    samples[label].setdefault(key, []).append(result[key])
                checks["missed_frames"] += int(result["missed"])
            ctx.progress.say(
                f"cat beside {FOLLOWERS} followers [{server}] round {r + 1}/{ctx.plan.runs}: "
                + " | ".join(f"{label} p99={results[label]['p99']:.3g}ms" for label in conditions)
            )
    finally:
        await group.close()
    case = f"{FOLLOWERS} followers, {ws.big_size >> 20} MiB cat"
    rows = []
    for label in conditions[1:]:
        for key in QUANTILES:
            rows.append(
                Row(
                    scenario="cold_cat",
                    case=f"{case} ({label.split()[0]})",
                    server=server,
                    metric=f"{key} append -> frame",
                    unit="ms",
                    better="lower",
                    outrider=Side(f"beside a {label}", samples[label][key]),
                    peer=Side("same agent, no cat", samples["quiet"][key]),
                    checks=checks,
                )
            )
    return rows


async def _beside_cat(group: FollowerGroup, curl: str, url: str) -> tuple[dict[str, float], bool]:
    """One timed round while curl reads ``url``; also whether the cat was still running at its end."""
    cat = subprocess.Popen(
        [curl, "-sS", "--fail", "-o", "/dev/null", "--max-time", "120", url],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        await asyncio.sleep(CAT_HEAD_START)
        result = await group.round(APPENDS)
        in_flight = cat.poll() is None
    finally:
        cat.kill()
        _, err = cat.communicate(timeout=10)
    if cat.returncode not in (0, -9):
        raise ToolError(f"curl cat: exit {cat.returncode}: {err.decode(errors='replace')}")
    return result, in_flight


SCENARIO = Scenario(
    name="cold_cat",
    title="followers beside a cat, cold and warm",
    peer="the same agent and followers with no cat (rounds alternate)",
    needs=("fs", "stream"),
    per_server=True,
    measure=measure,
    about=(
        f"{FOLLOWERS} followers of one file are timed as in follow latency ({APPENDS} appends per "
        "round), in turn with nothing else running, while `curl` reads `fs/cat` of the large file "
        "from the page cache (warm), and while it reads it evicted from the page cache just before "
        "(cold: `fdatasync`, then `posix_fadvise(POSIX_FADV_DONTNEED)`; a `preadv(RWF_NOWAIT)` of "
        "its middle page checks the eviction took). The cat starts 50 ms before the first append. "
        "Reported: the followers' p50/p99 beside each cat against the same rounds without one, "
        "medians over runs."
    ),
)
