"""Scenario 8: ``logs?follow=true`` across rotation at a high write rate: every byte delivered, and the lag."""

from __future__ import annotations

import asyncio
import hashlib
import sys
import time
from pathlib import Path

import uvloop

from bench.agent import AgentProcess
from bench.client import ChunkedDecoder, RawResponse
from bench.context import Context, Scenario, interleave
from bench.model import Row, Side
from bench.plan import human_bytes
from bench.scenarios import _jobs, _logwriter
from bench.scenarios._followers import percentile
from bench.tools import ToolError

TASK = "chatty"
# Enough files to hold the whole run, so a reader that falls behind by more than
# one rotation is measured as lag, not as bytes purged before it could read them.
MAX_FILES = 400
MAX_FILE_MB = 1
SEED = 8080
WRITER = Path(_logwriter.__file__)


async def _follow(
    agent: AgentProcess, alloc_id: str, total: int, go: Path, timeout: float
) -> tuple[str, list[tuple[int, int]]]:
    """Follow the task's stdout in plain mode until ``total`` bytes arrived; return (sha256, arrivals)."""
    host, port = agent.host_port
    path = (
        f"/v1/client/fs/logs/{alloc_id}?task={TASK}&type=stdout&follow=true&plain=true&origin=start&offset=0"
    )
    digest = hashlib.sha256()
    arrivals: list[tuple[int, int]] = []  # (monotonic ns, bytes so far)
    state = {"got": 0}
    complete = asyncio.get_running_loop().create_future()

    def sink(data: bytes) -> None:
        digest.update(data)
        state["got"] += len(data)
        arrivals.append((time.monotonic_ns(), state["got"]))
        if state["got"] >= total and not complete.done():
            complete.set_result(None)

    loop = asyncio.get_running_loop()
    deadline = time.monotonic() + 30
    while True:
        proto = RawResponse(host, path)
        decoder = ChunkedDecoder(sink)

        def on_body(
            data: bytes, _now: int, proto: RawResponse = proto, decoder: ChunkedDecoder = decoder
        ) -> None:
            # Only a 200 carries the log; an early 404 (no log file yet) is retried.
            if proto.status == 200:
                decoder.feed(data)

        proto.on_body = on_body
        await loop.create_connection(lambda proto=proto: proto, host, port)  # type: ignore[misc]
        status = await asyncio.wait_for(asyncio.shield(proto.headers_seen), 10)
        if status == 200:
            break
        proto.close()
        if time.monotonic() > deadline:
            raise ToolError(f"logs answered {status} for 30s")
        await asyncio.sleep(0.02)  # the task has not started, or not written its log file yet
    try:
        go.touch()
        await asyncio.wait_for(asyncio.shield(complete), timeout)
    except TimeoutError:
        raise ToolError(f"follower got {state['got']} of {total} bytes in {timeout:.0f}s") from None
    finally:
        proto.close()
    return digest.hexdigest(), arrivals


def measure(ctx: Context, server: str) -> list[Row]:
    agent = ctx.agents.get(server)
    plan = ctx.plan
    rate = plan.rotation_rate
    total = int(rate * plan.rotation_seconds)
    expected = hashlib.sha256(b"".join(_logwriter.stream(SEED, total))).hexdigest()
    scratch = ctx.ws.fresh_dir("rotation")
    runs = {"n": 0, "intact": 0}

    def run() -> dict[str, float]:
        runs["n"] += 1
        job_id = f"bench-rotation-{runs['n']}"
        go, times = scratch / f"{job_id}.go", scratch / f"{job_id}.times"
        args = [str(WRITER), str(SEED), str(total), str(rate), str(go), str(times)]
        _jobs.register(agent.url, _jobs.job_body(job_id, TASK, sys.executable, args, MAX_FILES, MAX_FILE_MB))
        try:
            alloc = _jobs.wait_allocation(agent.url, job_id)
            digest, arrivals = uvloop.run(_follow(agent, alloc["ID"], total, go, plan.rotation_seconds + 60))
            _jobs.wait_dead(agent.url, job_id, TASK, timeout=30)
            start, end = (int(x) for x in times.read_text().split())
        finally:
            _jobs.deregister(agent.url, job_id)
        intact = digest == expected
        runs["intact"] += intact
        # The lag of an arrival: how long after its last byte's piece was due to be written it
        # came. The first piece is written before the follower connects, so it is left out.
        chunk = _logwriter.CHUNK
        lags = sorted(
            (t - _logwriter.due_ns(start, (got - 1) // chunk * chunk, rate)) / 1e6
            for t, got in arrivals
            if got > chunk
        )
        return {
            "p50": percentile(lags, 50),
            "p99": percentile(lags, 99),
            "max": lags[-1],
            # The last byte can arrive a hair before the writer reads its clock after the write.
            "drain": max(0.0, (arrivals[-1][0] - end) / 1e6),
            "intact": float(intact),
        }

    samples = interleave(
        ctx, f"logs follow across rotation, {human_bytes(rate)}/s [{server}]", [("outrider", run)]
    )
    mine = samples["outrider"]
    checks = {
        "runs_with_every_byte": f"{runs['intact']}/{runs['n']}",
        "sha256": expected,
        "bytes_per_run": total,
        "rotated_files_per_run": total // (MAX_FILE_MB * 1024 * 1024),
    }
    case = f"{human_bytes(rate)}/s, {MAX_FILE_MB} MB files x{MAX_FILES}"
    rows = [
        Row(
            "logs_rotation",
            case,
            "runs with every byte (sha256)",
            "fraction",
            "higher",
            Side("outrider", mine["intact"]),
            server=server,
            checks=checks,
        ),
    ]
    for key, metric in (
        ("p50", "lag p50"),
        ("p99", "lag p99"),
        ("max", "lag max"),
        ("drain", "last byte after writer end"),
    ):
        rows.append(
            Row("logs_rotation", case, metric, "ms", "lower", Side("outrider", mine[key]), server=server)
        )
    return rows


SCENARIO = Scenario(
    name="logs_rotation",
    title="logs follow across rotation",
    peer="none (correctness and lag are absolute)",
    needs=("jobs", "logs"),
    per_server=False,
    measure=measure,
    about=(
        "A batch job whose task writes a known stream of text lines (seeded, 100 MiB/s for 3 s in "
        "the full run) with `max_file_size` 1 MB and `max_files` 400, so the log rotates about "
        "every 10 ms and nothing is purged before the follower could read it. One client follows `logs?follow=true&plain=true&origin=start` from before the "
        "first byte, decodes the chunked body and hashes it: the sha256 must equal the writer's. "
        "Lag is how long after its scheduled write time each delivered piece arrived (p50, p99, "
        "max), and how long after the writer's last write the last byte arrived."
    ),
)
