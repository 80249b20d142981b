"""Scenario 3: ``stream?follow=false`` of a large file, in file bytes per second, against nginx and the pure twin."""

from __future__ import annotations

import re

import uvloop

from bench.client import fetch_raw
from bench.context import Context, Scenario, interleave
from bench.model import Row, Side
from bench.plan import human_bytes
from bench.tools import ToolError
from bench.workspace import BIG_NAME

MB = 1e6
_LAST_OFFSET = re.compile(rb'"Offset":(\d+)\}')


def _fetch(url_host: str, port: int, path: str, size: int, framed: bool, label: str) -> dict[str, float]:
    result = uvloop.run(fetch_raw(url_host, port, path, timeout=300.0))
    if result.status != 200:
        raise ToolError(f"{label}: status {result.status}")
    if framed:
        # The body is never decoded; the last frame's Offset must be the file's end.
        offsets = _LAST_OFFSET.findall(result.tail)
        if not offsets or int(offsets[-1]) != size:
            raise ToolError(f"{label}: stream ended at offset {offsets[-1:] or 'none'}, not {size}")
    elif result.body_bytes != size:
        raise ToolError(f"{label}: {result.body_bytes} of {size} bytes")
    return {"MB/s": size / result.seconds / MB, "wire MB/s": result.body_bytes / result.seconds / MB}


def measure(ctx: Context, server: str) -> list[Row]:
    ws = ctx.ws
    native = ctx.agents.get(server)
    pure = ctx.agents.get(server, pure=True)
    nginx = ctx.nginx()
    ws.warm(BIG_NAME)
    size = ws.big_size
    stream_path = f"/v1/client/fs/stream/{ws.alloc_id}?path={BIG_NAME}&follow=false"

    def agent_run(agent: object, label: str) -> dict[str, float]:
        host, port = agent.host_port  # type: ignore[attr-defined]
        return _fetch(host, port, stream_path, size, True, label)

    samples = interleave(
        ctx,
        f"stream {human_bytes(size)} [{server}]",
        [
            ("outrider", lambda: agent_run(native, "outrider")),
            ("nginx", lambda: _fetch("127.0.0.1", nginx.port, ws.nginx_path(BIG_NAME), size, False, "nginx")),
            ("pure", lambda: agent_run(pure, "pure twin")),
        ],
    )
    mine = Side("outrider", samples["outrider"]["MB/s"])
    wire = samples["outrider"]["wire MB/s"]
    note = f"under {server} the wire (base64 JSON frames) ran at {sum(wire) / len(wire):,.0f} MB/s on average"
    common = {
        "scenario": "stream",
        "case": human_bytes(size),
        "server": server,
        "metric": "file bytes per second",
        "unit": "MB/s",
        "better": "higher",
    }
    return [
        Row(
            **common,
            outrider=mine,
            peer=Side("nginx (raw file)", samples["nginx"]["MB/s"]),
            notes=note,
            peer_fixed=True,
        ),  # type: ignore[arg-type]
        Row(**common, outrider=mine, peer=Side("pure-Python twin", samples["pure"]["MB/s"])),  # type: ignore[arg-type]
    ]


SCENARIO = Scenario(
    name="stream",
    title="stream?follow=false of a large file",
    peer="nginx serving the raw file; the agent on its pure-Python twins (OUTRIDER_PURE=1)",
    needs=("stream",),
    per_server=True,
    measure=measure,
    about=(
        "`GET /v1/client/fs/stream?follow=false` of the large file, read by an asyncio client "
        "(uvloop) that counts raw bytes without decoding frames; the rate is *file* bytes per "
        "second (the wire carries base64 JSON, about 4/3 as many). Peers: nginx sending the raw "
        "file to the same client, and a second agent with `OUTRIDER_PURE=1`. Each run must end "
        "with a frame whose `Offset` is the file size."
    ),
)
