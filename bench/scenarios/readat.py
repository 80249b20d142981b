"""Scenario 2: ``readat`` of random 4 KiB and 64 KiB ranges at 32 connections against nginx Range requests.

The bare app answering the same number of bytes on the same server runs in the same
rotation: the server's own ceiling for a response of that size, which no handler can beat.
"""

from __future__ import annotations

from bench.context import Context, Scenario, interleave
from bench.model import Row, Side
from bench.plan import human_bytes
from bench.tools import ToolError, WrkResult, run_wrk, wrk_script
from bench.workspace import BIG_NAME

SEED = 4646
LENGTHS = (4096, 65536)


def measure(ctx: Context, server: str) -> list[Row]:
    ctx.ws.warm(BIG_NAME)
    rows = []
    for length in LENGTHS:
        rows += _measure_length(ctx, server, length)
    return rows


def _measure_length(ctx: Context, server: str, length: int) -> list[Row]:
    agent = ctx.agents.get(server)
    nginx = ctx.nginx()
    bare = ctx.bare_app(server)
    ws = ctx.ws
    plan = ctx.plan
    script = wrk_script(ws.root, "ranges")
    size = str(ws.big_size)
    targets = {
        "outrider": (
            agent.url,
            ("readat", f"/v1/client/fs/readat/{ws.alloc_id}?path={BIG_NAME}", size, str(length), str(SEED)),
        ),
        "nginx": (nginx.url, ("range", ws.nginx_path(BIG_NAME), size, str(length), str(SEED))),
    }
    plain = wrk_script(ws.root)
    requests = {"outrider": 0, "nginx": 0, "bare": 0}

    def run(label: str) -> dict[str, float]:
        if label == "bare":
            url, args, lua = f"{bare.url}/bytes?n={length}", (), plain
        else:
            (url, args), lua = targets[label], script
        result = run_wrk(ctx.tools["wrk"], url, plan.wrk_seconds, plan.connections, lua, args)
        _check(label, result, length)
        requests[label] += result.requests
        return {"req/s": result.rate, "p99 ms": result.latency_us["p99"] / 1000}

    samples = interleave(
        ctx,
        f"readat {human_bytes(length)} x{plan.connections} [{server}]",
        [
            ("outrider", lambda: run("outrider")),
            ("nginx", lambda: run("nginx")),
            ("bare", lambda: run("bare")),
        ],
    )
    checks = {"errors": 0, "requests": requests, "seed": SEED}
    rows = []
    for metric, key, unit, better in (
        ("requests per second", "req/s", "req/s", "higher"),
        ("p99 latency", "p99 ms", "ms", "lower"),
    ):
        rows.append(
            Row(
                scenario="readat",
                case=f"{human_bytes(length)} ranges, {plan.connections} conns",
                server=server,
                metric=metric,
                unit=unit,
                better=better,  # type: ignore[arg-type]
                outrider=Side("outrider", samples["outrider"][key]),
                peer=Side("nginx (Range)", samples["nginx"][key]),
                checks=checks,
                peer_fixed=True,
            )
        )
    rows.append(
        Row(
            scenario="readat",
            case=f"{human_bytes(length)} ranges, {plan.connections} conns",
            server=server,
            metric="requests per second, against the server alone",
            unit="req/s",
            better="higher",
            outrider=Side("outrider", samples["outrider"]["req/s"]),
            peer=Side(f"{bare.label}, {human_bytes(length)} constant", samples["bare"]["req/s"]),
            checks=checks,
        )
    )
    return rows


def _check(label: str, result: WrkResult, length: int) -> None:
    if result.requests == 0 or result.failed:
        raise ToolError(f"{label}: {result.requests} requests, errors {result.errors}")
    if result.bytes < result.requests * length:
        raise ToolError(f"{label}: {result.bytes} bytes for {result.requests} ranges of {length}")


SCENARIO = Scenario(
    name="readat",
    title="readat of random ranges",
    peer="nginx Range requests on the same file",
    needs=("fs",),
    per_server=True,
    measure=measure,
    about=(
        "`GET /v1/client/fs/readat?offset=&limit=` of random 4 KiB and 64 KiB ranges of the large "
        "file at 32 keep-alive connections, driven by wrk with a Lua script (`bench/lua/ranges.lua`, "
        "`math.random` with a fixed seed, so both sides get the same offsets), against nginx "
        "answering the same ranges as `Range:` requests, and against the bare app on the same "
        "server answering that many pre-built bytes (the server's ceiling for that response). "
        "Requests per second and p99 latency; "
        "a run with any socket error or non-2xx answer, or fewer body bytes than ranges asked, fails."
    ),
)
