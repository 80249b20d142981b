"""``outrider alloc fs``: list a directory, stat a file, print or follow it (Nomad's ``command/alloc_fs.go``).

PATH is relative to the allocation directory and defaults to its root. A directory
is listed, a file printed (``fs/cat``), tailed (``fs/readat`` from near its end) or
followed (``fs/stream``); ``-stat`` shows the path's metadata instead.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from outrider.cli.client import Client, Response, path_of
from outrider.cli.cmd_logs import copy, copy_tail
from outrider.cli.lookup import AllocRef, resolve_target
from outrider.cli.options import api_command, client_of, job_option, json_option, ui_of, verbose_option
from outrider.cli.streams import frame_data, tail_options, tail_window
from outrider.cli.ui import format_time, ibytes, print_json


@api_command("fs", short_help="List, stat, print or follow files in an allocation.")
@click.option(
    "-stat", "--stat", "stat", is_flag=True, help="Show the path's metadata instead of its contents."
)
@click.option("-f", "--follow", "follow", is_flag=True, help="Keep printing what is appended to the file.")
@tail_options
@click.option("-H", "--machine", "machine", is_flag=True, help="Sizes in bytes, for programs.")
@job_option
@verbose_option()
@json_option
@click.argument("alloc_id", metavar="ALLOC")
@click.argument("path", required=False, default="/")
@click.pass_context
def fs(
    ctx: click.Context,
    stat: bool,
    follow: bool,
    tail: bool,
    lines: int | None,
    count_bytes: int | None,
    machine: bool,
    by_job: bool,
    verbose: bool,
    as_json: bool,
    alloc_id: str,
    path: str,
) -> None:
    """Inspect the files of allocation ALLOC (an ID or a unique prefix) at PATH (default: its root)."""
    client, ui = client_of(ctx), ui_of(ctx)
    ref = resolve_target(client, ui, alloc_id, by_job, verbose)
    info = _call(client, ref, "stat", path).json()
    if stat:
        if as_json:
            print_json(info)
        else:
            ui.table([["Mode", "Size", "Modified Time", "Content Type", "Name"], _row(info, machine, True)])
        return
    if info.get("IsDir"):
        entries = _call(client, ref, "ls", path).json() or []
        if as_json:
            print_json(entries)
        else:
            ui.table([["Mode", "Size", "Modified Time", "Name"], *(_row(e, machine, False) for e in entries)])
        return
    _contents(client, ref, path, int(info.get("Size") or 0), follow, tail, lines, count_bytes)


def _contents(
    client: Client,
    ref: AllocRef,
    path: str,
    size: int,
    follow: bool,
    tail: bool,
    lines: int | None,
    count_bytes: int | None,
) -> None:
    sink = sys.stdout.buffer
    if not (tail or lines is not None or count_bytes is not None):
        if follow:
            with _call(client, ref, "stream", path, origin="start", offset=0, follow=True) as response:
                copy(frame_data(response), sink)
        else:
            with _call(client, ref, "cat", path) as response:
                copy(response.chunks(), sink)
        return
    window, keep = tail_window(lines, count_bytes)
    window = min(window, size)
    if follow:
        with _call(client, ref, "stream", path, origin="end", offset=window, follow=True) as response:
            copy_tail(frame_data(response), sink, keep, window, follow=True)
    else:
        with _call(client, ref, "readat", path, offset=size - window, limit=-1) as response:
            copy_tail(response.chunks(), sink, keep, window, follow=False)


def _call(client: Client, ref: AllocRef, op: str, path: str, **params: Any) -> Response:
    query = {"path": path, "namespace": ref.namespace, **params}
    return client.request("GET", path_of(f"/v1/client/fs/{op}", ref.id), query, timeout=None)


def _row(info: dict[str, Any], machine: bool, with_type: bool) -> list[Any]:
    name = info.get("Name", "") + ("/" if info.get("IsDir") else "")
    size = int(info.get("Size") or 0)
    row = [info.get("FileMode", ""), str(size) if machine else ibytes(size), format_time(info.get("ModTime"))]
    if with_type:
        row.append(info.get("ContentType", ""))
    row.append(name)
    return row
