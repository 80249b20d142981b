"""Scenario 7: log capture throughput of a fast writer, against the same writer piped into ``cat > file``."""

from __future__ import annotations

import json
import subprocess
import urllib.parse

from bench.agent import http_get
from bench.context import Context, Scenario, interleave
from bench.model import Row, Side
from bench.plan import MIB, human_bytes
from bench.scenarios import _jobs
from bench.tools import ToolError

TASK = "writer"
MB = 1e6
# The writer times itself, so both sides measure the same thing: how fast its pipe is drained.
# Before the clock starts it writes and deletes a file of the same size: on a VM that hands
# free pages back to its host (virtio-balloon free page reporting), page cache built from
# pages freed more than ~2 s earlier costs a host fault per page and is 10x slower to fill.
# Whichever side happened to find recently freed pages used to win by 3-4x; warming the
# allocator the same way on both sides leaves only the capture path to compare.
WRITER = (
    "dd if=/dev/zero of={warm} bs=1M count={count} status=none; rm -f {warm}; "
    "s=$(date +%s%N); dd if=/dev/zero bs=1M count={count} status=none; e=$(date +%s%N); "
    "echo $((e-s)) > {timing}"
)


def _writer(count: int, timing: str) -> str:
    return WRITER.format(count=count, timing=timing, warm=f"{timing}.warm")


def _captured_bytes(agent_url: str, alloc_id: str) -> int:
    query = urllib.parse.urlencode({"path": "alloc/logs"})
    status, body = http_get(f"{agent_url}/v1/client/fs/ls/{alloc_id}?{query}")
    if status != 200:
        raise ToolError(f"ls alloc/logs answered {status}: {body[:200]!r}")
    return sum(e["Size"] for e in json.loads(body) if e["Name"].startswith(f"{TASK}.stdout."))


def measure(ctx: Context, server: str) -> list[Row]:
    agent = ctx.agents.get(server)
    ws = ctx.ws
    total = ctx.plan.capture_bytes
    count = total // MIB
    per_file_mb = count // 10 + 1  # ten files hold everything: nothing is purged
    scratch = ws.fresh_dir("capture")
    runs = {"n": 0}

    def outrider() -> dict[str, float]:
        runs["n"] += 1
        job_id = f"bench-capture-{runs['n']}"
        timing = scratch / f"{job_id}.ns"
        body = _jobs.job_body(job_id, TASK, "/bin/sh", ["-c", _writer(count, str(timing))], 10, per_file_mb)
        _jobs.register(agent.url, body)
        try:
            alloc = _jobs.wait_dead(agent.url, job_id, TASK, timeout=120.0)
            captured = _captured_bytes(agent.url, alloc["ID"])
            if captured != total:
                raise ToolError(f"captured {captured} of {total} bytes")
            seconds = int(timing.read_text()) / 1e9
        finally:
            _jobs.deregister(agent.url, job_id)
        return {"MB/s": total / seconds / MB}

    def pipe() -> dict[str, float]:
        timing = scratch / "pipe.ns"
        out = scratch / "pipe.out"
        subprocess.run(
            ["/bin/sh", "-c", f"{{ {_writer(count, str(timing))}; }} | cat > {out}"], check=True, timeout=120
        )
        size = out.stat().st_size
        out.unlink()
        if size != total:
            raise ToolError(f"cat wrote {size} of {total} bytes")
        return {"MB/s": total / (int(timing.read_text()) / 1e9) / MB}

    samples = interleave(
        ctx, f"log capture {human_bytes(total)} [{server}]", [("outrider", outrider), ("pipe", pipe)]
    )
    return [
        Row(
            scenario="log_capture",
            case=f"{human_bytes(total)} from dd bs=1M",
            server=server,
            metric="writer throughput",
            unit="MB/s",
            better="higher",
            outrider=Side("outrider", samples["outrider"]["MB/s"]),
            peer=Side("writer piped to cat > file", samples["pipe"]["MB/s"]),
            checks={"captured_bytes_per_run": total},
        )
    ]


SCENARIO = Scenario(
    name="log_capture",
    title="log capture throughput",
    peer="the same writer piped into `cat > file`",
    needs=("jobs",),
    per_server=False,
    measure=measure,
    about=(
        "A batch job whose `raw_exec` task runs `dd if=/dev/zero bs=1M` (1 GiB in the full run) "
        "to stdout, timing itself (after writing and deleting a same-sized scratch file, so both "
        "sides fill page cache from equally warm free memory); the agent captures it into rotated files under `alloc/logs`. "
        "Peer: the same shell line piped into `cat > file`. The rate is bytes over the writer's own "
        "elapsed time (a fast writer waits only for its pipe to be drained); every run must leave "
        "exactly the bytes written in the log files (checked with `fs/ls`)."
    ),
)
