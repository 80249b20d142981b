"""Outrider's log options against the Unix tools, side by side in one run, on a real agent.

``python -m bench.logs_options`` starts an agent and, for each log size (10 MiB, 100 MiB
and 1 GiB by default), runs a ``raw_exec`` task (:mod:`bench.logs_writer`) that writes
that many bytes of lines to stdout in 1 MiB writes, so every byte goes through the
agent's log capture into rotated 10 MB files with their capture-time index. The task
then waits; once the bulk is on disk the benchmark notes the time ``T`` (RFC 3339, UTC)
and lets the task write a final part of 1,000 lines. Then, interleaved (A B A B ...):

- ``tail_lines=100`` with curl against GNU ``tail -n 100`` of the concatenated files;
- ``filter=RE`` over the whole log with curl against ``grep -E RE`` on the same bytes,
  as MB/s of log read;
- ``since=T``: the final part only. A literal ``since=1m`` would need each task to spend
  a minute writing its last lines; an RFC 3339 time at a known capture moment takes the
  same path (the index lookup for ``T``, then reading from there) and selects a known
  part, so the answer is checked as well as timed.

Each command is timed as a whole process (curl or the tool), start to exit, so both
sides pay one ``exec``. The first answer of each kind is compared with the tool's
output byte for byte. Last, a job of 20 allocations each writing a timestamped line
every 50 ms is followed with ``GET /v1/job/<id>/logs?follow=true`` and, at the same
time, one of its allocations with ``/v1/client/fs/logs``: latency from the line's send
time to its arrival, p50/p99.

Everything runs on 127.0.0.1, bounded in size and time, and stops by itself.
``--record`` writes the table into the "Logs beyond Nomad" section of
``bench/RESULTS.md`` (a full ``python -m bench`` run keeps that section).
"""

from __future__ import annotations

import argparse
import datetime
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from pathlib import Path
from typing import Any

import httpx

from bench import logs_writer
from bench.launcher import LaunchedAgent, start_agent
from bench.report import LOGS_HEADING, replace_section
from bench.scenarios import _jobs
from bench.scenarios._followers import percentile

MIB = 1024 * 1024
TASK = "w"
FILE_MB = 10
FINAL_LINES = 1000
PATTERN = "level=ERROR code=5[0-9]{2}"
RESULTS = Path(__file__).with_name("RESULTS.md")
WRITER = Path(logs_writer.__file__)
SEND_TIME = re.compile(rb"t=(\d+)")


def _rfc3339(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _job(job_id: str, args: list[str], count: int, max_files: int) -> dict[str, Any]:
    body = _jobs.job_body(job_id, TASK, sys.executable, [str(WRITER), *args], max_files, FILE_MB)
    body["Job"]["TaskGroups"][0]["Count"] = count
    return body


def _log_files(agent: LaunchedAgent, alloc_id: str) -> list[Path]:
    logs = agent.alloc_dir / alloc_id / "alloc" / "logs"
    found = [p for p in logs.glob(f"{TASK}.stdout.*") if p.suffix[1:].isdigit()]
    return sorted(found, key=lambda p: int(p.suffix[1:]))


def _wait(probe: Any, what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not probe():
        if time.monotonic() > deadline:
            raise SystemExit(f"bench.logs_options: {what} not reached within {timeout:g} s")
        time.sleep(0.05)


def _run(cmd: list[str]) -> tuple[float, bytes]:
    """Run ``cmd`` to its exit: (wall seconds, its stdout).

    The output goes to a pipe, never ``/dev/null``: GNU grep stops at the first match when
    its output is ``/dev/null`` (as with ``-q``), which would not be a scan of the log.
    """
    env = {**os.environ, "LC_ALL": "C.UTF-8"}
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, env=env, timeout=600, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 1):  # grep answers 1 for no match
        raise SystemExit(f"{cmd[0]} exited {proc.returncode}: {proc.stderr[-500:]!r}")
    return elapsed, proc.stdout


class Log:
    """One task's rotated log of a given size, built through the agent's capture."""

    def __init__(self, agent: LaunchedAgent, root: Path, size_mib: int) -> None:
        self.agent, self.size = agent, size_mib * MIB
        self.job_id = f"logs-{size_mib}m-{uuid.uuid4().hex[:6]}"
        max_files = size_mib // FILE_MB + 10
        _jobs.register(
            agent.url,
            _job(self.job_id, ["bulk", str(self.size), str(FINAL_LINES), "../alloc/data/go"], 1, max_files),
        )
        self.alloc_id = _jobs.wait_allocation(agent.url, self.job_id)["ID"]
        _wait(
            lambda: sum(p.stat().st_size for p in _log_files(agent, self.alloc_id)) >= self.size,
            "bulk captured",
            300,
        )
        self.since = _rfc3339(datetime.datetime.now(datetime.UTC))
        time.sleep(0.05)
        (agent.alloc_dir / self.alloc_id / "alloc" / "data" / "go").write_bytes(b"")
        _jobs.wait_dead(agent.url, self.job_id, TASK, 60)
        self.files = _log_files(agent, self.alloc_id)
        self.concat = root / f"concat-{size_mib}.log"
        with self.concat.open("wb") as out:
            for part in self.files:
                with part.open("rb") as src:
                    shutil.copyfileobj(src, out, MIB)
        self.total = self.concat.stat().st_size

    def url(self, query: str) -> str:
        return (
            f"{self.agent.url}/v1/client/fs/logs/{self.alloc_id}?task={TASK}&type=stdout&plain=true&{query}"
        )


def _curl(url: str) -> tuple[float, bytes]:
    return _run(["curl", "-sf", url])


def _measure(log: Log, runs: int) -> dict[str, dict[str, list[float]]]:
    """Median-ready samples per measure, Outrider and the tool interleaved."""
    tail_url = log.url("tail_lines=100")
    filter_url = log.url("filter=" + urllib.parse.quote(PATTERN))
    since_url = log.url("since=" + urllib.parse.quote(log.since))
    tail_cmd = ["tail", "-n", "100", str(log.concat)]
    grep_cmd = ["grep", "-E", PATTERN, str(log.concat)]
    # Correctness first: the same bytes as the tools, and exactly the final part for since.
    for url, cmd in ((tail_url, tail_cmd), (filter_url, grep_cmd)):
        got, want = _curl(url)[1], _run(cmd)[1]
        if got != want:
            raise SystemExit(f"{url}: {len(got)} bytes differ from {cmd[0]}'s {len(want)}")
    since_body = _curl(since_url)[1]
    lines = since_body.count(b"\n")
    if lines != FINAL_LINES or not since_body.startswith(b"final seq=00000000\n"):
        raise SystemExit(f"since={log.since}: {lines} lines, not the final {FINAL_LINES}")
    samples: dict[str, dict[str, list[float]]] = {
        k: {"outrider": [], "tool": []} for k in ("tail", "filter", "since", "floor")
    }
    for _ in range(runs):
        samples["tail"]["outrider"].append(_curl(tail_url)[0])
        samples["tail"]["tool"].append(_run(tail_cmd)[0])
        samples["filter"]["outrider"].append(_curl(filter_url)[0])
        samples["filter"]["tool"].append(_run(grep_cmd)[0])
        samples["since"]["outrider"].append(_curl(since_url)[0])
        samples["floor"]["outrider"].append(_curl(f"{log.agent.url}/v1/client/metadata")[0])
    return samples


def _collect(url: str, start_ns: int, stop: threading.Event, into: list[float], errors: list[str]) -> None:
    """Read a plain follow, recording arrival minus send time (ms) of lines sent after ``start_ns``."""
    pending = b""
    try:
        with (
            httpx.Client(timeout=httpx.Timeout(10.0, read=None)) as client,
            client.stream("GET", url) as resp,
        ):
            if resp.status_code != 200:
                errors.append(f"{url}: {resp.status_code} {resp.read()[:200]!r}")
                return
            for chunk in resp.iter_raw():
                now = time.time_ns()
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    match = SEND_TIME.search(line)
                    if match and int(match.group(1)) >= start_ns:
                        into.append((now - int(match.group(1))) / 1e6)
                if stop.is_set():
                    return
    except httpx.HTTPError as exc:
        errors.append(f"{url}: {exc!r}")


def _follow(agent: LaunchedAgent, allocs: int, seconds: float, interval_ms: int) -> dict[str, list[float]]:
    job_id = f"logs-follow-{uuid.uuid4().hex[:6]}"
    _jobs.register(agent.url, _job(job_id, ["tick", str(interval_ms), str(seconds + 8)], allocs, 2))

    def running() -> bool:
        got = _jobs._call("GET", f"{agent.url}/v1/job/{job_id}/allocations") or []
        return len(got) == allocs and all(a.get("ClientStatus") == "running" for a in got)

    _wait(running, f"{allocs} allocations running", 60)
    one = _jobs.allocation(agent.url, job_id)
    assert one is not None
    urls = {
        "job": f"{agent.url}/v1/job/{job_id}/logs?type=stdout&plain=true&follow=true&tail_lines=0",
        "one": (
            f"{agent.url}/v1/client/fs/logs/{one['ID']}?task={TASK}&type=stdout&plain=true"
            "&follow=true&origin=end&offset=0"
        ),
    }
    start_ns = time.time_ns() + 2_000_000_000  # both streams connected and settled by then
    stop = threading.Event()
    got: dict[str, list[float]] = {k: [] for k in urls}
    errors: list[str] = []
    threads = [
        threading.Thread(target=_collect, args=(url, start_ns, stop, got[k], errors), daemon=True)
        for k, url in urls.items()
    ]
    for thread in threads:
        thread.start()
    time.sleep(seconds + 2)
    stop.set()
    for thread in threads:
        thread.join(15)
    _jobs.deregister(agent.url, job_id)
    if errors:
        raise SystemExit("; ".join(errors))
    return got


def _table(
    logs: list[Log],
    results: list[dict[str, dict[str, list[float]]]],
    follow: dict[str, list[float]],
    allocs: int,
) -> list[str]:
    med = statistics.median
    rows = [
        "| log | measure | Outrider | tool | Outrider ÷ tool | goal |",
        "|---|---|---|---|---|---|",
    ]
    for log, res in zip(logs, results, strict=True):
        size = f"{log.size // MIB} MiB ({len(log.files)} files)"
        o, t = med(res["tail"]["outrider"]) * 1e3, med(res["tail"]["tool"]) * 1e3
        rows.append(
            f"| {size} | `tail_lines=100` vs `tail -n 100`, ms | {o:.1f} | {t:.1f} | {o / t:.2f}x | ≤ 2x |"
        )
        o = log.total / 1e6 / med(res["filter"]["outrider"])
        t = log.total / 1e6 / med(res["filter"]["tool"])
        rows.append(f"| {size} | `filter=` vs `grep -E`, MB/s | {o:.0f} | {t:.0f} | {o / t:.2f}x | ≥ 0.5x |")
        o = med(res["since"]["outrider"]) * 1e3
        rows.append(f"| {size} | `since=` (last {FINAL_LINES} lines), ms | {o:.1f} | — | — | flat |")
        o = med(res["floor"]["outrider"]) * 1e3
        rows.append(
            f"| {size} | curl of `/v1/client/metadata` (any request's floor), ms | {o:.1f} | — | — | |"
        )
    for label, key in (
        (f"`/v1/job/<id>/logs?follow=true`, {allocs} allocations", "job"),
        ("`/v1/client/fs/logs` follow, one allocation", "one"),
    ):
        values = sorted(follow[key])
        rows.append(
            f"| follow | {label}: line latency p50 / p99 ms ({len(values)} lines) | "
            f"{percentile(values, 50):.2f} / {percentile(values, 99):.2f} | — | — | |"
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.logs_options", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--sizes-mib", default="10,100,1024", help="log sizes (default 10,100,1024)")
    parser.add_argument("--runs", type=int, default=5, help="timed requests per measure and side (default 5)")
    parser.add_argument("--allocs", type=int, default=20, help="allocations of the followed job (default 20)")
    parser.add_argument("--follow-seconds", type=float, default=20.0, help="latency window (default 20)")
    parser.add_argument(
        "--interval-ms", type=int, default=50, help="each allocation's line interval (default 50)"
    )
    parser.add_argument("--record", action="store_true", help="write the table into bench/RESULTS.md")
    args = parser.parse_args(argv)
    for tool in ("curl", "tail", "grep"):
        if shutil.which(tool) is None:
            raise SystemExit(f"bench.logs_options needs {tool}")
    sizes = [int(s) for s in args.sizes_mib.split(",") if s]
    root = Path(tempfile.mkdtemp(prefix="outrider-bench-logs-"))
    config = root / "agent.hcl"
    config.write_text("limits {\n  http_max_conns_per_client = 0\n}\n")
    agent = start_agent(root / "data", "--config", str(config), "--log-level", "warn", make=LaunchedAgent)
    try:
        logs: list[Log] = []
        results = []
        for size in sizes:
            print(f"building a {size} MiB log through the capture", file=sys.stderr)
            log = Log(agent, root, size)
            logs.append(log)
            print(f"measuring {size} MiB", file=sys.stderr)
            results.append(_measure(log, args.runs))
        print(f"following {args.allocs} allocations for {args.follow_seconds:g} s", file=sys.stderr)
        follow = _follow(agent, args.allocs, args.follow_seconds, args.interval_ms)
    finally:
        agent.stop()
        shutil.rmtree(root, ignore_errors=True)
    rows = _table(logs, results, follow, args.allocs)
    print("\n".join(rows))
    if args.record:
        command = " ".join(["python -m bench.logs_options", *(argv if argv is not None else sys.argv[1:])])
        _record(command, rows, args)
    return 0


def _record(command: str, rows: list[str], args: argparse.Namespace) -> None:
    body = "\n".join(
        [
            LOGS_HEADING,
            "",
            f"`{command.replace(' --record', '')}` ({datetime.date.today()}, {os.cpu_count()} cores, "
            f"shared with other work at the time). Medians of {args.runs} "
            "interleaved runs; each side timed as a whole process (curl, or the tool) from start to exit.",
            "",
            *rows,
            "",
        ]
    )
    text = RESULTS.read_text()
    RESULTS.write_text(replace_section(text, LOGS_HEADING, body))


if __name__ == "__main__":
    raise SystemExit(main())
