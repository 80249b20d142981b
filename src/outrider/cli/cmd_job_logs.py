"""``outrider job logs``: the logs of every allocation of a job, each line prefixed, as ``stern`` shows pods.

The agent does the work (``GET /v1/job/<id>/logs``, an Outrider endpoint): it reads
or follows every allocation of the job, lets allocations placed later join a follow,
and prefixes each line with ``<alloc ID, first 8>/<task>: ``. On a terminal each
allocation's prefix gets its own colour; elsewhere the bytes pass through untouched.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from typing import IO

import click

from outrider.cli.client import path_of
from outrider.cli.cmd_job import resolve_job
from outrider.cli.errors import CLIError
from outrider.cli.logopts import LineOptions, line_options, require_outrider
from outrider.cli.options import api_command, client_of, ui_of

# Colours that read on dark and light terminals alike, handed out per allocation in order seen.
_PALETTE = ("36", "33", "32", "35", "34", "91", "96", "93", "92", "95")
_PREFIX = re.compile(rb"([0-9a-f]{8})/[^\n]*?: ")


class PrefixPainter:
    """Colours the ``<alloc>/<task>: `` prefix at the start of each line, one colour per allocation.

    Chunks may end anywhere, inside a prefix too: the start of a line is held until
    its prefix is whole (a prefix is short; a line without one passes after 256 bytes).
    """

    _HOLD = 256

    def __init__(self) -> None:
        self.colours: dict[bytes, bytes] = {}
        self.pending = b""
        self.at_line_start = True

    def feed(self, data: bytes) -> bytes:
        out = bytearray()
        data = self.pending + data
        self.pending = b""
        pos = 0
        while pos < len(data):
            if self.at_line_start:
                match = _PREFIX.match(data, pos)
                if (
                    match is None
                    and b"\n" not in data[pos : pos + self._HOLD]
                    and len(data) - pos < self._HOLD
                ):
                    self.pending = data[pos:]
                    break
                if match is not None:
                    out += self._paint(match.group(1), match.group(0))
                    pos = match.end()
                self.at_line_start = False
            end = data.find(b"\n", pos)
            if end < 0:
                out += data[pos:]
                break
            out += data[pos : end + 1]
            pos = end + 1
            self.at_line_start = True
        return bytes(out)

    def flush(self) -> bytes:
        held, self.pending = self.pending, b""
        return held

    def _paint(self, alloc: bytes, prefix: bytes) -> bytes:
        code = self.colours.get(alloc)
        if code is None:
            code = self.colours[alloc] = _PALETTE[len(self.colours) % len(_PALETTE)].encode()
        return b"\x1b[" + code + b"m" + prefix + b"\x1b[0m"


@api_command("logs", short_help="Print or follow the logs of every allocation of a job.")
@click.option("-f", "--follow", "follow", is_flag=True, help="Keep printing; allocations placed later join.")
@click.option("-stderr", "--stderr", "stderr", is_flag=True, help="Show stderr instead of stdout.")
@click.option(
    "-n", "--lines", "lines", type=int, metavar="LINES", help="Start at the last LINES lines of each task."
)
@click.option("-task", "--task", "task", metavar="TASK", help="Only this task (default: every task).")
@click.option(
    "-all-allocs",
    "--all-allocs",
    "terminal",
    is_flag=True,
    help="Also allocations that have stopped (as job status -all-allocs).",
)
@line_options(timestamps=False)
@click.argument("job_id", metavar="JOB")
@click.pass_context
def logs(
    ctx: click.Context,
    follow: bool,
    stderr: bool,
    lines: int | None,
    task: str | None,
    terminal: bool,
    merged: bool,
    since: str | None,
    grep: str | None,
    job_id: str,
) -> None:
    """Print the logs of every running allocation of job JOB (an ID or a unique prefix).

    Each line starts with the allocation's short ID and the task's name. Needs an
    Outrider agent (Nomad has no endpoint for a whole job's logs).
    """
    if merged and stderr:
        raise CLIError("-all cannot be used with -stderr", "-all already shows both streams")
    if lines is not None and lines < 0:
        raise CLIError("invalid size: -n takes a number of zero or more")
    client, ui = client_of(ctx), ui_of(ctx)
    require_outrider(client, ["job logs"])  # Nomad has no such endpoint
    job = resolve_job(client, ui, job_id)
    params: dict[str, str | int | bool] = {
        **LineOptions(merged, since, False, grep).params(),
        "type": "all" if merged else "stderr" if stderr else "stdout",
        "plain": True,
        "follow": follow,
        "namespace": job.get("Namespace") or "default",
    }
    if lines is not None:
        params["tail_lines"] = lines
    if task:
        params["task"] = task
    if terminal:
        params["all"] = True
    path = path_of("/v1/job", job["ID"]) + "/logs"
    with client.request("GET", path, params, timeout=None) as response:
        write(response.chunks(), sys.stdout.buffer, PrefixPainter() if ui.color else None)


def write(chunks: Iterator[bytes], sink: IO[bytes], painter: PrefixPainter | None) -> None:
    """Copy the stream as it arrives, colouring prefixes when ``painter`` is given."""
    for data in chunks:
        sink.write(painter.feed(data) if painter else data)
        sink.flush()
    if painter:
        sink.write(painter.flush())
        sink.flush()
