"""``python -m bench.soak``: many followers and a mixed request load for a bounded time, sampling the agent.

One agent (dev mode, loopback, the per-client connection cap off) serves:

- a ``raw_exec`` task that writes about 10 KB/s to stdout into 64 KiB log files (a
  rotation every few seconds), and an external allocation whose file the soak appends
  to every 100 ms;
- ``--followers`` followers (1,000 by default), half on the task's ``fs/logs``
  (``follow=true``), half on the external file's ``fs/stream``, open for the whole run;
- a mixed request load (``--rate`` requests a second, one connection each): ``stat``,
  ``ls``, ``cat``, ``readat``, ``logs`` and ``stream`` without follow, followers that
  leave after their first bytes, metadata reads and writes, host and allocation stats,
  jobs, allocations, nodes, metrics, bad parameters (400) and unknown paths (404).

Every ``--interval`` seconds it samples the agent's RSS, open descriptors, threads,
child processes and CPU use, from ``/v1/metrics`` its open streams and requests in
flight, the load's p99 and longest answer time since the last sample, and the
machine's load average, into ``samples.csv``; ``summary.md`` gives each series' first, lowest, highest and last
value after the warm-up and its slope over the second half of the run, plus every error:
a load answer other than the expected status, a refused or timed-out request, a
follower that ended. Everything runs on 127.0.0.1 and stops by itself.

Examples::

    python -m bench.soak                       # 10 minutes, 1,000 followers
    python -m bench.soak --duration 180 --out /tmp/soak
    python -m bench.soak --record              # and write the summary into bench/RESULTS.md
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import math
import os
import random
import sys
import tempfile
import time
import urllib.parse
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from bench.client import RawResponse, close_all, open_many
from bench.launcher import LaunchedAgent, start_agent
from bench.machine import describe, one_line
from bench.report import SOAK_HEADING, replace_section
from bench.scenarios._jobs import deregister, register, wait_allocation
from bench.workspace import raise_fd_limit
from outrider.fs.allocdir import build_alloc_dir

RESULTS_MD = Path(__file__).resolve().parent / "RESULTS.md"
JOB_ID = "soak-writer"
TASK = "writer"
STREAMED = "alloc/data/appended.log"
# About 10 KB/s: five 100-byte lines every 50 ms, into 64 KiB files.
WRITER = "line=$(printf '%099d' 0); while :; do for i in 1 2 3 4 5; do echo $line; done; sleep 0.05; done"
WARM_UP = 30.0
FIELDS = (
    "t",
    "rss_mb",
    "fds",
    "threads",
    "children",
    "streams",
    "in_flight",
    "cpu_pct",
    "p99_ms",
    "max_ms",
    "loadavg",
    "requests",
    "errors",
    "followers",
)
SERIES = ("rss_mb", "fds", "threads", "children", "streams", "in_flight", "cpu_pct", "p99_ms", "loadavg")


@dataclass
class Load:
    """What the request load did."""

    sent: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    """Seconds each answered request took since the last sample."""


async def call(host: str, port: int, method: str, path: str, body: bytes = b"", timeout: float = 10.0) -> int:
    """One request on its own connection (``Connection: close``); the response's status."""
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    try:
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n"
            f"Content-Length: {len(body)}\r\nContent-Type: application/json\r\n\r\n"
        )
        writer.write(head.encode() + body)
        status_line = await asyncio.wait_for(reader.readline(), timeout)
        await asyncio.wait_for(reader.read(), timeout)
        return int(status_line.split(b" ", 2)[1])
    finally:
        writer.close()


async def leave_early(host: str, port: int, path: str, timeout: float = 10.0) -> int:
    """A follower that leaves as soon as its response starts."""
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    try:
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
        status_line = await asyncio.wait_for(reader.readline(), timeout)
        return int(status_line.split(b" ", 2)[1])
    finally:
        writer.close()


def requests_mix(alloc_id: str, owned_id: str, node_id: str) -> list[tuple[str, str, bytes, int | None]]:
    """``(method, path, body, expected status or None for "leave early")``, drawn uniformly."""
    q = urllib.parse.quote
    fs = f"/v1/client/fs/{{op}}/{alloc_id}?path={{path}}"
    return [
        ("GET", fs.format(op="stat", path=q(STREAMED)), b"", 200),
        ("GET", fs.format(op="ls", path="alloc/data"), b"", 200),
        ("GET", fs.format(op="cat", path="alloc/data/small.txt"), b"", 200),
        ("GET", fs.format(op="readat", path=q(STREAMED)) + "&offset=0&limit=4096", b"", 200),
        ("GET", fs.format(op="stream", path=q(STREAMED)) + "&follow=false&origin=end&offset=2048", b"", 200),
        ("GET", f"/v1/client/fs/logs/{owned_id}?task={TASK}&type=stdout&origin=end&offset=4096", b"", 200),
        ("GET", f"/v1/client/fs/logs/{owned_id}?task={TASK}&type=stdout&follow=true&origin=end", b"", None),
        ("GET", fs.format(op="stream", path=q(STREAMED)) + "&follow=true&origin=end", b"", None),
        ("GET", f"/v1/client/fs/ls/{owned_id}?path=alloc/logs", b"", 200),
        ("GET", "/v1/client/metadata", b"", 200),
        ("POST", "/v1/client/metadata", json.dumps({"Meta": {"soak": str(random.random())}}).encode(), 200),
        ("GET", "/v1/client/stats", b"", 200),
        ("GET", f"/v1/client/allocation/{owned_id}/stats", b"", 200),
        ("GET", "/v1/jobs", b"", 200),
        ("GET", f"/v1/job/{JOB_ID}/allocations", b"", 200),
        ("GET", "/v1/allocations", b"", 200),
        ("GET", f"/v1/allocation/{owned_id}", b"", 200),
        ("GET", f"/v1/node/{node_id}", b"", 200),
        ("GET", "/v1/metrics", b"", 200),
        ("GET", "/v1/agent/self", b"", 200),
        ("GET", fs.format(op="readat", path=q(STREAMED)) + "&offset=x", b"", 400),
        ("GET", fs.format(op="cat", path="../../etc/passwd"), b"", 400),
        ("GET", f"/v1/client/fs/ls/{uuid.uuid4()}", b"", 404),
        ("GET", "/v1/no/such/path", b"", 404),
    ]


async def run_load(host: str, port: int, mix: list[Any], rate: float, until: float, load: Load) -> None:
    """``rate`` requests a second drawn from ``mix``, each in its own task, until ``until``."""
    pending: set[asyncio.Task[None]] = set()
    rng = random.Random(7)

    async def one(method: str, path: str, body: bytes, expected: int | None) -> None:
        label = f"{method} {path.split('?')[0].rsplit('/', 1)[0] if 'fs/' in path else path.split('?')[0]}"
        try:
            began = time.monotonic()
            if expected is None:
                status = await leave_early(host, port, path)
                expected = 200
            else:
                status = await call(host, port, method, path, body)
        except (TimeoutError, OSError, IndexError, ValueError) as exc:
            load.errors[f"{label}: {type(exc).__name__}"] += 1
            return
        load.latencies.append(time.monotonic() - began)
        load.statuses[str(status)] += 1
        if status != expected:
            load.errors[f"{label}: {status} (expected {expected})"] += 1

    next_at = time.monotonic()
    while next_at < until:
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        next_at += 1.0 / rate
        load.sent += 1
        task = asyncio.ensure_future(one(*rng.choice(mix)))
        pending.add(task)
        task.add_done_callback(pending.discard)
    if pending:
        await asyncio.wait(pending, timeout=15)


async def append_forever(path: Path, until: float) -> None:
    with path.open("ab") as f:
        n = 0
        while time.monotonic() < until:
            n += 1
            f.write(f"appended line {n} {time.time():.3f}\n".encode())
            f.flush()
            await asyncio.sleep(0.1)


def metric_gauges(host: str, port: int) -> dict[str, float]:
    import urllib.request

    with urllib.request.urlopen(f"http://{host}:{port}/v1/metrics", timeout=10) as resp:
        doc = json.loads(resp.read())
    return {g["Name"]: g["Value"] for g in doc.get("Gauges") or [] if not g.get("Labels")}


async def sample_loop(
    agent: LaunchedAgent,
    started: float,
    until: float,
    interval: float,
    load: Load,
    followers: list[RawResponse],
    rows: list[dict[str, float]],
) -> None:
    host, port = agent.host_port
    proc = psutil.Process(agent.proc.pid)
    last_cpu, last_at = agent.cpu_seconds(), time.monotonic()
    while True:
        now = time.monotonic()
        cpu = agent.cpu_seconds()
        cpu_pct = 100 * (cpu - last_cpu) / max(now - last_at, 1e-3)
        last_cpu, last_at = cpu, now
        window = sorted(load.latencies)
        load.latencies.clear()
        try:
            gauges = await asyncio.to_thread(metric_gauges, host, port)
        except OSError:
            gauges = {}
            load.errors["sampler: /v1/metrics unreachable"] += 1
        rows.append(
            {
                "t": round(now - started, 1),
                "rss_mb": round(proc.memory_info().rss / 2**20, 1),
                "fds": proc.num_fds(),
                "threads": proc.num_threads(),
                "children": len(proc.children(recursive=True)),
                "streams": gauges.get("outrider.stream.streams", math.nan),
                "in_flight": gauges.get("outrider.http.requests_in_flight", math.nan),
                "cpu_pct": round(cpu_pct, 1),
                "p99_ms": round(1000 * window[min(len(window) - 1, int(len(window) * 0.99))], 1)
                if window
                else math.nan,
                "max_ms": round(1000 * window[-1], 1) if window else math.nan,
                "loadavg": round(os.getloadavg()[0], 2),
                "requests": load.sent,
                "errors": sum(load.errors.values()),
                "followers": sum(1 for f in followers if not f.closed.done()),
            }
        )
        if now >= until:
            return
        await asyncio.sleep(min(interval, max(0.0, until - now)))


def slope_per_minute(points: list[tuple[float, float]]) -> float:
    """The least-squares slope of ``(seconds, value)`` points, per minute; NaN values are left out."""
    points = [(t, v) for t, v in points if not math.isnan(v)]
    if len(points) < 2:
        return 0.0
    n = len(points)
    mx = sum(t for t, _ in points) / n
    my = sum(v for _, v in points) / n
    den = sum((t - mx) ** 2 for t, _ in points)
    return 0.0 if den == 0 else 60 * sum((t - mx) * (v - my) for t, v in points) / den


def summarize(rows: list[dict[str, float]], load: Load, args: argparse.Namespace, ended: int) -> str:
    settled = [r for r in rows if r["t"] >= min(WARM_UP, rows[-1]["t"] / 3)] or rows
    half = [r for r in rows if r["t"] >= rows[-1]["t"] / 2]
    lines = [
        f"`python -m bench.soak --duration {args.duration:g} --followers {args.followers} --rate {args.rate:g}`: "
        f"{rows[-1]['t']:.0f} s, {args.followers} followers, {load.sent} requests "
        f"({', '.join(f'{k}: {v}' for k, v in sorted(load.statuses.items()))}), "
        f"{len(rows)} samples every {args.interval:g} s.",
        "",
        "| Series | after warm-up | lowest | highest | last | slope, second half (per minute) |",
        "|---|---|---|---|---|---|",
    ]
    for name in SERIES:
        values = [r[name] for r in settled if not math.isnan(r[name])] or [math.nan]
        lines.append(
            f"| {name} | {values[0]:g} | {min(values):g} | {max(values):g} | {values[-1]:g} | "
            f"{slope_per_minute([(r['t'], r[name]) for r in half]):+.2f} |"
        )
    errors = sum(load.errors.values())
    lines += ["", f"Followers that ended during the run: {ended}. Load errors: {errors}."]
    lines += [f"- {k}: {v}" for k, v in load.errors.most_common(20)]
    return "\n".join(lines) + "\n"


async def soak(args: argparse.Namespace, agent: LaunchedAgent, external: str, streamed: Path) -> str:
    host, port = agent.host_port
    url = agent.url
    owned = await asyncio.to_thread(wait_allocation, url, JOB_ID)
    node_id = owned["NodeID"]
    await asyncio.sleep(1.0)  # the task's first log file
    logs = f"/v1/client/fs/logs/{owned['ID']}?task={TASK}&type=stdout&follow=true&origin=end"
    stream = f"/v1/client/fs/stream/{external}?path={STREAMED}&follow=true&origin=end"
    paths = [logs if i % 2 else stream for i in range(args.followers)]
    started = time.monotonic()
    until = started + args.duration
    followers = await open_many(host, port, paths, batch=100, timeout=60)
    load = Load()
    rows: list[dict[str, float]] = []
    try:
        await asyncio.gather(
            append_forever(streamed, until),
            run_load(host, port, requests_mix(external, owned["ID"], node_id), args.rate, until, load),
            sample_loop(agent, started, until, args.interval, load, followers, rows),
        )
    finally:
        ended = sum(1 for f in followers if f.closed.done())
        await close_all(followers)
    out = Path(args.out)
    with (out / "samples.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    summary = summarize(rows, load, args, ended)
    (out / "summary.md").write_text(summary)
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=600.0, help="seconds of load (default 600)")
    parser.add_argument("--followers", type=int, default=1000, help="followers open for the whole run")
    parser.add_argument("--rate", type=float, default=50.0, help="requests a second of the mixed load")
    parser.add_argument("--interval", type=float, default=5.0, help="seconds between samples")
    parser.add_argument("--server", default="hypercorn", help="the agent's HTTP server")
    parser.add_argument(
        "--out", default=None, help="where samples.csv and summary.md go (default: a new temp dir)"
    )
    parser.add_argument(
        "--record",
        action="store_true",
        help=f"also write the summary into {RESULTS_MD} under {SOAK_HEADING!r}",
    )
    args = parser.parse_args(argv)
    args.out = args.out or tempfile.mkdtemp(prefix="outrider-soak-")
    Path(args.out).mkdir(parents=True, exist_ok=True)
    raise_fd_limit(4 * args.followers + 4096)
    root = Path(tempfile.mkdtemp(prefix="outrider-soak-work-"))
    config = root / "agent.hcl"
    config.write_text("limits {\n  http_max_conns_per_client = 0\n}\n")
    data_dir = root / "data"
    data_dir.mkdir()
    alloc_dir = data_dir / "alloc"
    external = str(uuid.uuid4())
    alloc_path = Path(build_alloc_dir(str(alloc_dir), external, ["web"]))
    (alloc_path / "alloc/data/small.txt").write_bytes(b"small\n" * 100)
    streamed = alloc_path / STREAMED
    streamed.write_bytes(b"")
    agent = start_agent(
        data_dir,
        "--config",
        str(config),
        "--server",
        args.server,
        "--log-level",
        "warn",
        make=LaunchedAgent,
    )
    try:
        body = {
            "Job": {
                "ID": JOB_ID,
                "Type": "service",
                "TaskGroups": [
                    {
                        "Name": "g",
                        "Count": 1,
                        "Tasks": [
                            {
                                "Name": TASK,
                                "Driver": "raw_exec",
                                "Config": {"command": "/bin/sh", "args": ["-c", WRITER]},
                                "LogConfig": {"MaxFiles": 3, "MaxFileSizeBytes": 65536},
                            }
                        ],
                    }
                ],
            }
        }
        register(agent.url, body)
        summary = asyncio.run(soak(args, agent, external, streamed))
    finally:
        deregister(agent.url, JOB_ID)
        code = agent.stop()
    print(summary)
    if args.record and code == 0:
        body = f"{SOAK_HEADING}\n\n{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {one_line(describe({}))}.\n\n{summary}"
        RESULTS_MD.write_text(replace_section(RESULTS_MD.read_text(), SOAK_HEADING, body))
    print(f"agent exit code {code}; samples in {args.out}/samples.csv", file=sys.stderr)
    return 0 if code == 0 else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
