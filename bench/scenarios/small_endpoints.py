"""Scenario 6: requests per second of small endpoints against a bare Starlette constant on the same server."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import psutil

from bench.context import Context, Scenario, interleave
from bench.model import Row, Side
from bench.tools import ToolError, run_wrk, wrk_script
from bench.workspace import CHANGING_NAME, LISTING_DIR, PROBE_NAME

# How often the "being written" file changes: well inside the one second after
# which the agent would remember its content type.
TOUCH_EVERY = 0.02
CHANGING_CASE = "stat (file being written)"


@contextlib.contextmanager
def kept_changing(path: Path) -> Iterator[None]:
    """Move ``path``'s change time every :data:`TOUCH_EVERY` seconds until the block exits."""
    stop = threading.Event()

    def touch() -> None:
        while not stop.wait(TOUCH_EVERY):
            os.utime(path)

    thread = threading.Thread(target=touch, name="touch", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def cpu_seconds(pid: int) -> float:
    """CPU time (user and system) a process has used so far."""
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


def measure(ctx: Context, server: str) -> list[Row]:
    ws = ctx.ws
    agent = ctx.agents.get(server)
    bare = ctx.bare_app(server)
    plan = ctx.plan
    script = wrk_script(ws.root)
    endpoints = {
        "stat": (agent.fs_url("stat", ws.alloc_id, f"path={PROBE_NAME}"), "fs"),
        CHANGING_CASE: (agent.fs_url("stat", ws.alloc_id, f"path={CHANGING_NAME}"), "fs"),
        "ls": (agent.fs_url("ls", ws.alloc_id, f"path={LISTING_DIR}"), "fs"),
        "metadata": (f"{agent.url}/v1/client/metadata", "metadata"),
        "stats": (f"{agent.url}/v1/client/stats", "stats"),
    }
    served = {name: url for name, (url, cap) in endpoints.items() if agent.capabilities.get(cap) is None}

    def run(url: str, label: str, server_pid: int) -> dict[str, float]:
        changing = (
            kept_changing(ws.path(CHANGING_NAME)) if label == CHANGING_CASE else contextlib.nullcontext()
        )
        with changing:
            cpu_before = cpu_seconds(server_pid)
            result = run_wrk(ctx.tools["wrk"], url, plan.wrk_seconds, plan.connections, script)
            cpu = cpu_seconds(server_pid) - cpu_before
        if result.requests == 0 or result.failed:
            raise ToolError(f"{label}: {result.requests} requests, errors {result.errors}")
        return {
            "req/s": result.rate,
            "p99 ms": result.latency_us["p99"] / 1000,
            "cpu us": cpu / result.requests * 1e6,
        }

    assert bare.proc is not None
    agent_pid, bare_pid = agent.proc.pid, bare.proc.pid
    sides = [("bare", lambda: run(bare.url + "/", "bare", bare_pid))]
    sides += [(name, lambda url=url, name=name: run(url, name, agent_pid)) for name, url in served.items()]
    samples = interleave(ctx, f"small endpoints x{plan.connections} [{server}]", sides)
    rows = []
    for name, (_, cap) in endpoints.items():
        case = f"GET {name}"
        if name not in served:
            rows.append(
                Row(
                    "small_endpoints",
                    case,
                    "requests per second",
                    "req/s",
                    "higher",
                    Side("outrider"),
                    Side(bare.label),
                    server=server,
                    notes=f"not available: {agent.capabilities[cap]}",
                )
            )
            continue
        for metric, key, unit, better in (
            ("requests per second", "req/s", "req/s", "higher"),
            ("p99 latency", "p99 ms", "ms", "lower"),
            ("server CPU per request", "cpu us", "µs", "lower"),
        ):
            rows.append(
                Row(
                    "small_endpoints",
                    case,
                    metric,
                    unit,
                    better,  # type: ignore[arg-type]
                    Side("outrider", samples[name][key]),
                    Side(bare.label, samples["bare"][key]),
                    server=server,
                )
            )
    return rows


SCENARIO = Scenario(
    name="small_endpoints",
    title="small endpoints",
    peer="a bare Starlette app (one route returning a constant) on the same server and loop",
    needs=("fs",),
    per_server=True,
    measure=measure,
    about=(
        "wrk at 32 keep-alive connections for a fixed duration against `fs/stat` (of an unchanged "
        "file, and of one whose change time moves every 20 ms so its content type is sniffed on "
        "every request), `fs/ls` "
        "(16 entries), `/v1/client/metadata` and `/v1/client/stats`, interleaved with a bare "
        "Starlette app whose one route returns a constant, served in its own process by the "
        "same server code (`outrider.server.serve_asgi`) on uvloop. The ratio is the share of "
        "the server's bare request rate that each endpoint keeps. The server CPU per request "
        "(user and system time of the serving process over the run, divided by the requests "
        "answered) is the steadier figure on a shared machine: it does not move with the load "
        "other processes put on the cores. Endpoints the agent does not serve yet are listed as "
        "not available."
    ),
)
