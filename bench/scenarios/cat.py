"""Scenario 1: ``cat`` of a large file against nginx serving the same file with sendfile."""

from __future__ import annotations

from bench.context import Context, Scenario, interleave
from bench.model import Row, Side
from bench.plan import human_bytes
from bench.tools import ToolError, curl_download
from bench.workspace import BIG_NAME

MB = 1e6


def measure(ctx: Context, server: str) -> list[Row]:
    agent = ctx.agents.get(server)
    nginx = ctx.nginx()
    ws = ctx.ws
    ws.warm(BIG_NAME)
    curl = ctx.tools["curl"]
    urls = {
        "outrider": agent.fs_url("cat", ws.alloc_id, f"path={BIG_NAME}"),
        "nginx": nginx.url + ws.nginx_path(BIG_NAME),
    }

    def run(label: str) -> dict[str, float]:
        got = curl_download(curl, urls[label])
        if got.status != 200 or got.size != ws.big_size:
            raise ToolError(f"{label}: status {got.status}, {got.size} of {ws.big_size} bytes")
        return {"MB/s": got.rate / MB}

    samples = interleave(
        ctx,
        f"cat {human_bytes(ws.big_size)} [{server}]",
        [("outrider", lambda: run("outrider")), ("nginx", lambda: run("nginx"))],
    )
    return [
        Row(
            scenario="cat",
            case=human_bytes(ws.big_size),
            server=server,
            metric="throughput",
            unit="MB/s",
            better="higher",
            outrider=Side("outrider", samples["outrider"]["MB/s"]),
            peer=Side(nginx.label, samples["nginx"]["MB/s"]),
            checks={"status": 200, "bytes_per_download": ws.big_size},
            peer_fixed=True,
        )
    ]


SCENARIO = Scenario(
    name="cat",
    title="cat of a large file",
    peer="nginx (sendfile) serving the same file",
    needs=("fs",),
    per_server=True,
    measure=measure,
    about=(
        "`GET /v1/client/fs/cat` of a file of real bytes (1 GiB in the full run), fetched with "
        "`curl -o /dev/null`, against nginx (one worker, `sendfile on`) serving the same inode. "
        "The file is read once first so both start from a warm page cache. Throughput in MB/s; "
        "every download must be a 200 of the full size."
    ),
)
