"""``outrider alloc logs``: a task's stdout or stderr, whole, tailed or followed.

The flags and their meaning are Nomad's (``command/alloc_logs.go``). The bytes are
written exactly as the task wrote them (the API's ``plain=true`` output), and a
follow ends, with exit code 0, when the task has ended for good (the agent ends the
stream). ``-f`` alone follows stdout and stderr from their ends onto our stdout and
stderr, as Nomad's CLI does; ``-n`` and ``-c`` imply ``-tail``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import IO

import click

from outrider.cli.client import Client, Response, path_of
from outrider.cli.errors import CLIError
from outrider.cli.lookup import AllocRef, pick_task, resolve_target
from outrider.cli.options import (
    alloc_task_arguments,
    api_command,
    client_of,
    job_option,
    ui_of,
    verbose_option,
)
from outrider.cli.streams import IDLE_FLUSH, LastLines, pump, tail_options, tail_window


@api_command("logs", short_help="Print or follow the logs of a task.")
@click.option(
    "-f", "--follow", "follow", is_flag=True, help="Keep printing what the task writes until it ends."
)
@click.option("-stderr", "--stderr", "stderr", is_flag=True, help="Show stderr instead of stdout.")
@click.option(
    "-stdout", "--stdout", "stdout", is_flag=True, help="Show stdout (the default, except with -f alone)."
)
@tail_options
@job_option
@verbose_option()
@alloc_task_arguments("The task (same as the TASK argument).")
@click.pass_context
def logs(
    ctx: click.Context,
    follow: bool,
    stderr: bool,
    stdout: bool,
    tail: bool,
    lines: int | None,
    count_bytes: int | None,
    task_flag: str | None,
    by_job: bool,
    verbose: bool,
    alloc_id: str,
    task: str | None,
) -> None:
    """Print the logs of a task of allocation ALLOC (an ID or a unique prefix).

    TASK may be left out when the allocation has one task.
    """
    client = client_of(ctx)
    ref = resolve_target(client, ui_of(ctx), alloc_id, by_job, verbose)
    name = pick_task(ref, task_flag or task)
    tail = tail or lines is not None or count_bytes is not None
    if follow and not (stderr or stdout or tail):
        _follow_both(client, ref, name)
        return
    if stderr and stdout:
        raise CLIError("-stdout and -stderr cannot be used together without -f alone", "pick one stream")
    _single(client, ref, name, "stderr" if stderr else "stdout", follow, tail, lines, count_bytes)


def _logs(
    client: Client, ref: AllocRef, task: str, kind: str, follow: bool, origin: str, offset: int
) -> Response:
    params = {
        "task": task,
        "type": kind,
        "plain": True,
        "follow": follow,
        "origin": origin,
        "offset": offset,
        "namespace": ref.namespace,
    }
    return client.request("GET", path_of("/v1/client/fs/logs", ref.id), params, timeout=None)


def _single(
    client: Client,
    ref: AllocRef,
    task: str,
    kind: str,
    follow: bool,
    tail: bool,
    lines: int | None,
    count_bytes: int | None,
) -> None:
    if not tail:
        with _logs(client, ref, task, kind, follow, "start", 0) as response:
            copy(response.chunks(), sys.stdout.buffer)
        return
    offset, keep = tail_window(lines, count_bytes)
    with _logs(client, ref, task, kind, follow, "end", offset) as response:
        copy_tail(response.chunks(), sys.stdout.buffer, keep, offset, follow)


def _follow_both(client: Client, ref: AllocRef, task: str) -> None:
    # Nomad's tailMultipleFiles: both streams from one byte before their ends.
    out = _logs(client, ref, task, "stdout", True, "end", 1)
    try:
        err = _logs(client, ref, task, "stderr", True, "end", 1)
    except BaseException:
        out.close()
        raise
    with out, err:
        sinks = {"stdout": sys.stdout.buffer, "stderr": sys.stderr.buffer}
        sources = [
            ("stdout", _after_first_newline(out.chunks())),
            ("stderr", _after_first_newline(err.chunks())),
        ]
        for tag, data in pump(sources, None):
            if data:
                sinks[tag].write(data)
                sinks[tag].flush()


def _after_first_newline(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """Drop the byte asked for before the end when it is the newline that ended the last line."""
    first = True
    for data in chunks:
        if first and data:
            first = False
            if data.startswith(b"\n"):
                data = data[1:]
        if data:
            yield data


def copy(chunks: Iterator[bytes], sink: IO[bytes]) -> None:
    """Write every chunk as it arrives."""
    for data in chunks:
        sink.write(data)
        sink.flush()


def copy_tail(chunks: Iterator[bytes], sink: IO[bytes], keep: int | None, window: int, follow: bool) -> None:
    """Write the last ``keep`` lines of the first ``window`` bytes, then (following) everything after."""
    if keep is None:
        copy(chunks, sink)
        return
    lines = LastLines(keep, window)
    source = pump([("data", chunks)], IDLE_FLUSH) if follow else (("data", c) for c in chunks)
    for _tag, data in source:
        out = lines.feed(data) if data else lines.flush()
        if out:
            sink.write(out)
            sink.flush()
    sink.write(lines.flush())
    sink.flush()
