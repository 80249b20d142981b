"""What one small request costs inside the app, without a server or a network in the way.

``python -m bench.request_cost`` builds the agent's ASGI app as the server would
serve it (behind :meth:`outrider.conn_guard.ConnectionGuard.asgi`, on uvloop),
and the bare Starlette app of :mod:`bench.bare_app` behind the same wrapper,
then calls each with one request after another from a minimal ASGI loop: the
small-endpoint scenario's requests (``fs/stat``, ``fs/ls`` of 16 entries,
metadata, stats) and the ``readat`` scenario's (4 KiB and 64 KiB). It prints the best of several rounds in microseconds per
request and the ratio to the bare route; ``--profile NAME`` prints a cProfile
of one endpoint instead. A server adds the same cost to both sides, so this
shows what Outrider's own code adds per request, steadily even on a busy machine.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import tempfile
import time
from typing import Any

import uvloop
from starlette.types import ASGIApp, Message

from bench.bare_app import build as build_bare
from bench.workspace import BIG_NAME, LISTING_DIR, PROBE_NAME, Workspace
from outrider.agent import Agent
from outrider.config import AgentConfig, Limits
from outrider.conn_guard import ConnectionGuard
from outrider.fs.sniff_cache import SETTLED_NS
from outrider.http.app import build_app

ROUNDS = 7
Call = tuple[ASGIApp, str, bytes]


def _scope(path: str, query: bytes) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "server": ("127.0.0.1", 4646),
        "client": ("127.0.0.1", 50000),
        "scheme": "http",
        "method": "GET",
        "root_path": "",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "headers": [(b"host", b"127.0.0.1:4646"), (b"user-agent", b"bench")],
        "state": {},
    }


async def _call(app: ASGIApp, path: str, query: bytes) -> int:
    """One request; its status."""
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(_scope(path, query), receive, send)
    return int(sent[0]["status"])


async def _per_request(call: Call, count: int) -> float:
    start = time.perf_counter()
    for _ in range(count):
        await _call(*call)
    return (time.perf_counter() - start) / count * 1e6


def _calls(agent_app: ASGIApp, bare_app: ASGIApp, alloc_id: str) -> dict[str, Call]:
    fs = f"/v1/client/fs/{{}}/{alloc_id}"
    return {
        "bare": (bare_app, "/", b""),
        "stat": (agent_app, fs.format("stat"), f"path={PROBE_NAME}".encode()),
        "ls": (agent_app, fs.format("ls"), f"path={LISTING_DIR}".encode()),
        "metadata": (agent_app, "/v1/client/metadata", b""),
        "stats": (agent_app, "/v1/client/stats", b""),
        "readat4k": (agent_app, fs.format("readat"), f"path={BIG_NAME}&offset=4096&limit=4096".encode()),
        "readat64k": (agent_app, fs.format("readat"), f"path={BIG_NAME}&offset=65536&limit=65536".encode()),
    }


async def _measure(calls: dict[str, Call], count: int, profile: str | None) -> dict[str, float]:
    for name, call in calls.items():
        status = await _call(*call)
        if status != 200:
            raise SystemExit(f"{name}: answered {status}")
        await _per_request(call, 200)
    if profile is not None:
        profiler = cProfile.Profile()
        profiler.enable()
        await _per_request(calls[profile], count)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(40)
        return {}
    best: dict[str, float] = {}
    for _ in range(ROUNDS):
        for name, call in calls.items():
            best[name] = min(best.get(name, float("inf")), await _per_request(call, count))
    return best


async def _run(count: int, profile: str | None) -> dict[str, float]:
    ws = Workspace(big_file=1 << 20)
    try:
        with tempfile.TemporaryDirectory() as data_dir:
            agent = Agent(AgentConfig(data_dir=data_dir, alloc_dir=str(ws.alloc_dir)).finalize())
            guard = ConnectionGuard(Limits(http_max_conns_per_client=0, http_read_header_timeout=0))
            calls = _calls(guard.asgi(build_app(agent)), guard.asgi(build_bare()), ws.alloc_id)
            # The probe's content type is remembered only once its change time has settled.
            await asyncio.sleep(SETTLED_NS / 1e9 + 0.1)
            await agent.start()
            try:
                return await _measure(calls, count, profile)
            finally:
                await agent.stop()
                agent.close()
    finally:
        ws.remove()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.request_cost", description=__doc__)
    parser.add_argument("--requests", type=int, default=2000, help="requests per round and endpoint")
    parser.add_argument(
        "--profile", choices=["bare", "stat", "ls", "metadata", "stats", "readat4k", "readat64k"]
    )
    args = parser.parse_args()
    best = uvloop.run(_run(args.requests, args.profile))
    for name, micros in best.items():
        print(f"{name:10s} {micros:7.1f} µs/request  {micros / best['bare']:5.2f}x bare")


if __name__ == "__main__":
    main()
