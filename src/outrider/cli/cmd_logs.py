"""``outrider alloc logs``: a task's stdout or stderr, whole, tailed or followed.

The flags and their meaning are Nomad's (``command/alloc_logs.go``). The bytes are
written exactly as the task wrote them (the API's ``plain=true`` output), and a
follow ends, with exit code 0, when the task has ended for good (the agent ends the
stream). ``-f`` alone follows stdout and stderr from their ends onto our stdout and
stderr, as Nomad's CLI does; ``-n`` and ``-c`` imply ``-tail``.

With Outrider's own options (``-all``, ``-since``, ``-timestamps``, ``-grep``; see
:mod:`outrider.cli.logopts`) the agent picks the lines: ``-n`` becomes
``tail_lines`` (exact, where Nomad's CLI guesses 120 bytes a line).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from typing import IO

import click

from outrider.cli.client import Client, Response, path_of
from outrider.cli.errors import CLIError
from outrider.cli.logopts import LineOptions, line_options, require_outrider
from outrider.cli.lookup import AllocRef, pick_task, resolve_target
from outrider.cli.options import (
    alloc_task_arguments,
    api_command,
    client_of,
    job_option,
    ui_of,
    verbose_option,
)
from outrider.cli.streams import (
    DEFAULT_TAIL_LINES,
    IDLE_FLUSH,
    LastLines,
    pump,
    tail_options,
    tail_window,
)


@api_command("logs", short_help="Print or follow the logs of a task.")
@click.option(
    "-f", "--follow", "follow", is_flag=True, help="Keep printing what the task writes until it ends."
)
@click.option("-stderr", "--stderr", "stderr", is_flag=True, help="Show stderr instead of stdout.")
@click.option(
    "-stdout", "--stdout", "stdout", is_flag=True, help="Show stdout (the default, except with -f alone)."
)
@tail_options
@line_options()
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
    merged: bool,
    since: str | None,
    timestamps: bool,
    grep: str | None,
    task_flag: str | None,
    by_job: bool,
    verbose: bool,
    alloc_id: str,
    task: str | None,
) -> None:
    """Print the logs of a task of allocation ALLOC (an ID or a unique prefix).

    TASK may be left out when the allocation has one task.
    """
    options = LineOptions(merged, since, timestamps, grep)
    if merged and (stderr or stdout):
        raise CLIError("-all cannot be used with -stdout or -stderr", "-all already shows both streams")
    if stderr and stdout:
        raise CLIError("-stdout and -stderr cannot be used together without -f alone", "pick one stream")
    if options.flags and count_bytes is not None:
        raise CLIError(f"-c cannot be used with {', '.join(options.flags)}", "count lines with -n instead")
    client = client_of(ctx)
    ref = resolve_target(client, ui_of(ctx), alloc_id, by_job, verbose)
    name = pick_task(ref, task_flag or task)
    if options.flags:
        require_outrider(client, options.flags)
        _by_line(client, ref, name, options, stderr, stdout, follow, tail, lines)
        return
    tail = tail or lines is not None or count_bytes is not None
    if follow and not (stderr or stdout or tail):
        _follow_both(client, ref, name)
        return
    _single(client, ref, name, "stderr" if stderr else "stdout", follow, tail, lines, count_bytes)


def _logs(
    client: Client,
    ref: AllocRef,
    task: str,
    kind: str,
    follow: bool,
    start: dict[str, str | int],
) -> Response:
    params = {
        "task": task,
        "type": kind,
        "plain": True,
        "follow": follow,
        **start,
        "namespace": ref.namespace,
    }
    return client.request("GET", path_of("/v1/client/fs/logs", ref.id), params, timeout=None)


def _by_line(
    client: Client,
    ref: AllocRef,
    task: str,
    options: LineOptions,
    stderr: bool,
    stdout: bool,
    follow: bool,
    tail: bool,
    lines: int | None,
) -> None:
    """Let the agent choose the lines: ``tail_lines`` for ``-n``, and the options as parameters."""
    start: dict[str, str | int] = dict(options.params())
    if tail or lines is not None:
        start["tail_lines"] = DEFAULT_TAIL_LINES if lines is None else lines
    elif follow and not options.since and not (options.merged or stderr or stdout):
        start["tail_lines"] = 0  # -f alone starts at the ends, as Nomad's does
    if options.merged or stderr or stdout or not follow:
        kind = "all" if options.merged else "stderr" if stderr else "stdout"
        with _logs(client, ref, task, kind, follow, start) as response:
            copy(response.chunks(), sys.stdout.buffer)
        return
    _follow_each(client, ref, task, start, lambda chunks: chunks)


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
        with _logs(client, ref, task, kind, follow, {"origin": "start", "offset": 0}) as response:
            copy(response.chunks(), sys.stdout.buffer)
        return
    offset, keep = tail_window(lines, count_bytes)
    with _logs(client, ref, task, kind, follow, {"origin": "end", "offset": offset}) as response:
        copy_tail(response.chunks(), sys.stdout.buffer, keep, offset, follow)


def _follow_both(client: Client, ref: AllocRef, task: str) -> None:
    # Nomad's tailMultipleFiles: both streams from one byte before their ends.
    _follow_each(client, ref, task, {"origin": "end", "offset": 1}, _after_first_newline)


def _follow_each(
    client: Client,
    ref: AllocRef,
    task: str,
    start: dict[str, str | int],
    trim: Callable[[Iterator[bytes]], Iterator[bytes]],
) -> None:
    """Follow stdout and stderr at once onto our stdout and stderr."""
    out = _logs(client, ref, task, "stdout", True, start)
    try:
        err = _logs(client, ref, task, "stderr", True, start)
    except BaseException:
        out.close()
        raise
    with out, err:
        sinks = {"stdout": sys.stdout.buffer, "stderr": sys.stderr.buffer}
        sources = [("stdout", trim(out.chunks())), ("stderr", trim(err.chunks()))]
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
