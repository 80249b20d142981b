"""Scenario 4: append -> frame received latency at 1, 100 and 1,000 followers of one file."""

from __future__ import annotations

import asyncio
import os
import random
import time
from typing import Protocol

import uvloop

from bench.client import OnBody, RawResponse, close_all, open_many
from bench.context import Context, Scenario
from bench.model import Row, Side
from bench.peers import Floor
from bench.scenarios._followers import follow_path, percentile
from bench.tools import ToolError

APPEND_TIMEOUT = 2.0
FLOOR_LABEL = Floor.label
QUANTILES = (("p50", 50.0), ("p99", 99.0), ("p999", 99.9))


class Followed(Protocol):
    """What serves the followers: an agent or the floor (:class:`bench.peers.Floor`)."""

    @property
    def label(self) -> str: ...

    @property
    def host_port(self) -> tuple[str, int]: ...


class FollowerGroup:
    """N followers of one file on one agent (or the floor), kept open across rounds; each round appends and times."""

    def __init__(self, agent: Followed, alloc_id: str, rel: str, path: str, n: int) -> None:
        self.agent, self.alloc_id, self.rel, self.path, self.n = agent, alloc_id, rel, path, n
        self.armed = [False] * n
        self.arrivals: list[int] = []
        self.t0 = 0
        self.count = 0
        self.all_in = asyncio.Event()
        self.followers: list[RawResponse] = []
        self.rng = random.Random(n)

    def _on_body(self, i: int) -> OnBody:
        def on_body(data: bytes, now: int) -> None:
            # Heartbeats are "{}"; only a frame carrying Data answers the append.
            if self.armed[i] and b'"Data"' in data:
                self.armed[i] = False
                self.arrivals.append(now - self.t0)
                self.count += 1
                if self.count == self.n:
                    self.all_in.set()

        return on_body

    async def open(self) -> None:
        host, port = self.agent.host_port
        paths = [follow_path(self.alloc_id, self.rel)] * self.n
        self.followers = await open_many(host, port, paths, self._on_body)
        await asyncio.sleep(0.2)

    async def round(self, appends: int) -> dict[str, float]:
        self.arrivals = []
        missed = 0
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
        try:
            for k in range(appends):
                self.all_in.clear()
                self.count = 0
                self.armed[:] = [True] * self.n
                self.t0 = time.perf_counter_ns()
                os.write(fd, f"append {k:08d} {'.' * 40}\n".encode())
                try:
                    await asyncio.wait_for(self.all_in.wait(), APPEND_TIMEOUT)
                except TimeoutError:
                    missed += self.n - self.count
                self.armed[:] = [False] * self.n
                # An irregular gap, so appends do not line up with any timer in the agent.
                await asyncio.sleep(self.rng.uniform(0.001, 0.004))
        finally:
            os.close(fd)
        if missed == self.n * appends:
            raise ToolError(f"{self.agent.label}: no follower received any append")
        ms = sorted(a / 1e6 for a in self.arrivals)
        out = {name: percentile(ms, q) for name, q in QUANTILES}
        out["missed"] = float(missed)
        return out

    async def close(self) -> None:
        await close_all(self.followers)


def measure(ctx: Context, server: str) -> list[Row]:
    agents: dict[str, Followed] = {
        "outrider": ctx.agents.get(server),
        "pure": ctx.agents.get(server, pure=True),
        "floor": ctx.floor(),
    }
    rows = []
    for n in ctx.plan.follower_counts:
        rows += uvloop.run(_measure_count(ctx, server, agents, n))
    return rows


async def _measure_count(ctx: Context, server: str, agents: dict[str, Followed], n: int) -> list[Row]:
    ws = ctx.ws
    appends = max(20, ctx.plan.latency_samples // n)
    groups = {}
    for label, agent in agents.items():
        rel = f"alloc/data/follow-{server}-{label}-{n}.log"
        ws.path(rel).write_bytes(b"")
        groups[label] = FollowerGroup(agent, ws.alloc_id, rel, str(ws.path(rel)), n)
    samples: dict[str, dict[str, list[float]]] = {label: {} for label in groups}
    try:
        # Both groups stay open for every round (A B A B ...): the idle one costs its
        # agent only heartbeats, and opening 1,000 connections per round would dominate.
        for group in groups.values():
            await group.open()
        for r in range(ctx.plan.runs):
            shown = []
            for label, group in groups.items():
                result = await group.round(appends)
                for key, value in result.items():
                    samples[label].setdefault(key, []).append(value)
                shown.append(f"{label} p50={result['p50']:.3g}ms p99={result['p99']:.3g}ms")
            ctx.progress.say(
                f"follow latency, {n} followers x {appends} appends [{server}] round {r + 1}/{ctx.plan.runs}: "
                + " | ".join(shown)
            )
    finally:
        for group in groups.values():
            await group.close()
    missed = {label: int(sum(samples[label].get("missed", []))) for label in groups}
    rows = []
    for name, _ in QUANTILES:
        for peer, peer_label in (("pure", "pure-Python twin"), ("floor", FLOOR_LABEL)):
            rows.append(
                Row(
                    scenario="follow_latency",
                    case=f"{n:,} follower{'s' if n > 1 else ''}",
                    server=server,
                    metric=f"{name} append -> frame",
                    unit="ms",
                    better="lower",
                    outrider=Side("outrider", samples["outrider"][name]),
                    peer=Side(peer_label, samples[peer][name]),
                    checks={"appends_per_run": appends, "missed_frames": missed},
                )
            )
    return rows


SCENARIO = Scenario(
    name="follow_latency",
    title="follow latency",
    peer="the agent on its pure-Python twins (OUTRIDER_PURE=1); the floor (`bench/floor.py`)",
    needs=("stream",),
    per_server=True,
    measure=measure,
    about=(
        "N followers (`stream?follow=true&origin=end`) of one file; the suite appends a line, "
        "waits until every follower has received a frame carrying `Data`, then appends the next "
        "after an irregular 1-4 ms gap; both contenders' followers stay open for all rounds. Latency is append (before `write`) to frame arrival in the "
        "client, p50/p99/p999 per run, median over runs, at 1, 100 and 1,000 followers. The "
        "client is one asyncio process, so at 1,000 followers the last arrivals include its own "
        "time to read 1,000 sockets, for all contenders alike. Peers: the pure-Python twin, and the floor "
        "(`bench/floor.py`): a bare uvloop `asyncio.Protocol` server that frames each append once with "
        "the same framer and writes the same chunk to every follower's transport, the least Python on "
        "uvloop can do; Outrider/floor is the figure to drive down."
    ),
)
