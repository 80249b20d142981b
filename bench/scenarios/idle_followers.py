"""Scenario 5: RSS and CPU of the agent holding 1,000 and 10,000 idle followers."""

from __future__ import annotations

import asyncio
import time

import uvloop

from bench.agent import AgentProcess
from bench.client import close_all, open_many
from bench.context import Context, Scenario
from bench.model import Row, Side
from bench.scenarios._followers import follow_path
from bench.workspace import PROBE_NAME, raise_fd_limit

MB = 1024 * 1024


async def _windows(agent: AgentProcess, count: int, seconds: float) -> tuple[list[float], list[float]]:
    """CPU percent of one core and RSS in MiB, one sample per window."""
    cpu, rss = [], []
    for _ in range(count):
        c0, t0 = agent.cpu_seconds(), time.monotonic()
        await asyncio.sleep(seconds)
        c1, t1 = agent.cpu_seconds(), time.monotonic()
        cpu.append(100.0 * (c1 - c0) / (t1 - t0))
        rss.append(agent.rss() / MB)
    return cpu, rss


async def _measure_all(ctx: Context, agent: AgentProcess) -> dict[str, object]:
    plan = ctx.plan
    host, port = agent.host_port
    window = plan.idle_window / plan.runs
    base_cpu, base_rss = await _windows(agent, plan.runs, window)
    out: dict[str, object] = {"baseline": (base_cpu, base_rss)}
    fds_before = agent.open_fds()
    # Its socket (followers of one file share the file's descriptors): corrected after the first count.
    per_follower = 1.0
    for wanted in plan.idle_counts:
        fits = int((agent.fd_limit() - fds_before - 256) / per_follower) // 500 * 500
        n = wanted if wanted <= fits else fits
        if n != wanted:
            ctx.progress.say(
                f"  {wanted} followers need ~{wanted * per_follower:,.0f} descriptors in the agent; "
                f"its limit is {agent.fd_limit():,}: measuring {n} instead"
            )
        started = time.monotonic()
        followers = await open_many(host, port, [follow_path(ctx.ws.alloc_id, PROBE_NAME)] * n, batch=500)
        opened = time.monotonic() - started
        per_follower = max(1.0, (agent.open_fds() - fds_before) / n)
        ctx.progress.say(
            f"  {n} idle followers open in {opened:.1f}s, {per_follower:.2f} agent descriptors each"
        )
        try:
            await asyncio.sleep(1.0)
            cpu, rss = await _windows(agent, plan.runs, window)
            alive = sum(1 for f in followers if not f.closed.done())
        finally:
            await close_all(followers, timeout=30.0)
        out[str(wanted)] = (cpu, rss, opened, alive, n, per_follower)
        # Let the agent release every follower before the next count is measured.
        deadline = time.monotonic() + 15.0
        while agent.open_fds() > fds_before + 8 and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
    return out


def measure(ctx: Context, server: str) -> list[Row]:
    # The client holds one descriptor per follower; the agent inherits this limit and raises its own.
    limit = raise_fd_limit()
    if limit < max(ctx.plan.idle_counts) + 256:
        raise RuntimeError(f"descriptor limit {limit} is too low for {max(ctx.plan.idle_counts)} followers")
    # A fresh agent, so the baseline is not inflated by earlier scenarios.
    agent = ctx.agents.restart(server)
    ctx.progress.say(f"idle followers [{server}]: baseline for {ctx.plan.idle_window:.0f}s")
    result = uvloop.run(_measure_all(ctx, agent))
    base_cpu, base_rss = result["baseline"]  # type: ignore[misc]
    base_side = Side("outrider", list(base_rss))
    rows = [
        Row("idle_followers", "0 followers", "RSS", "MiB", "lower", base_side, server=server),
        Row(
            "idle_followers",
            "0 followers",
            "CPU",
            "% of a core",
            "lower",
            Side("outrider", list(base_cpu)),
            server=server,
        ),
    ]
    base_median = base_side.median or 0.0
    agent_limit = agent.fd_limit()
    for wanted in ctx.plan.idle_counts:
        cpu, rss, opened, alive, n, per_follower = result[str(wanted)]  # type: ignore[misc]
        checks = {
            "followers_alive_at_end": alive,
            "followers": n,
            "agent_fds_per_follower": round(per_follower, 2),
        }
        case = f"{n:,} followers"
        notes = ""
        if n != wanted:
            case += f" (for {wanted:,})"
            notes = (
                f"{wanted:,} followers need ~{wanted * per_follower:,.0f} descriptors in the agent "
                f"({per_follower:.1f} each), above this machine's hard limit of {agent_limit:,}, "
                "which cannot be raised without CAP_SYS_RESOURCE; measured at the largest count that fits"
            )
        per = [(r - base_median) * 1024 / n for r in rss]
        rows += [
            Row(
                "idle_followers",
                case,
                "RSS",
                "MiB",
                "lower",
                Side("outrider", list(rss)),
                server=server,
                checks=checks,
                notes=notes,
            ),
            Row(
                "idle_followers",
                case,
                "RSS per follower",
                "KiB",
                "lower",
                Side("outrider", per),
                server=server,
            ),
            Row(
                "idle_followers",
                case,
                "CPU",
                "% of a core",
                "lower",
                Side("outrider", list(cpu)),
                server=server,
            ),
            Row(
                "idle_followers",
                case,
                "time to open all",
                "s",
                "lower",
                Side("outrider", [opened]),
                server=server,
            ),
        ]
    return rows


SCENARIO = Scenario(
    name="idle_followers",
    title="idle followers",
    peer="none (absolute numbers; the baseline is the same agent with no followers)",
    needs=("stream",),
    per_server=True,
    measure=measure,
    about=(
        "A freshly started agent, then 1,000 and 10,000 `stream?follow=true` connections on a "
        "file that does not change (the script raises the descriptor limit first). RSS of the "
        "agent process and its CPU use (percent of one core, heartbeats included) over the "
        "measuring window, split into as many sub-windows as runs; medians reported, plus RSS "
        "per follower above the no-follower baseline and the time to open them all. A count that "
        "would need more descriptors than the agent's hard limit allows (about one per follower) "
        "is measured at the largest multiple of 500 that fits, and the row says so."
    ),
)
