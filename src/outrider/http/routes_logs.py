"""``/v1/client/fs/logs/<alloc_id>``: a task's stdout or stderr across its rotated files.

Nomad's handlers: ``command/agent/fs_endpoint.go`` ``Logs``, ``client/fs_endpoint.go`` ``logs``.

Parameters are checked in the reference's order with its texts (all 400), then
the allocation, the capability (``read-logs`` or ``read-fs``), the task and the
first log file, each with its reference status, before the response starts.
The streaming itself is :class:`outrider.stream.logs.LogsSource`; an error after
the first byte is appended to the body as text, as the reference does
(``command/agent/fs_endpoint.go`` ``fsStreamImpl``).
"""

from __future__ import annotations

import asyncio
import os

from starlette.requests import Request

from outrider.acl import authorizer as auth
from outrider.agent import Agent
from outrider.allocs import Allocation
from outrider.fs.allocdir import SecretPathError, open_log_dir, os_error_text
from outrider.fs.errors import PathEscapesError
from outrider.fs.logfiles import LOG_DIR, LOG_TYPES, has_log_files
from outrider.gostrconv import quote
from outrider.http.errors import APIError
from outrider.http.prologue import (
    authorize,
    begin_alloc,
    lookup_live,
    parse_bool_field,
    parse_int_param,
    parse_origin_end,
)
from outrider.http.subtrees import Handler
from outrider.runner.taskstate import ZERO_TIME
from outrider.stream import StreamResponse
from outrider.stream.log_lines import LogLinesSource
from outrider.stream.logquery import LogQueryError, parse_log_query
from outrider.stream.logs import LogNotFoundError, LogsSource, LogStreamError
from outrider.stream.sender import Source
from outrider.stream.tail_lines import TailStart

# Set before streaming starts, without a charset (``command/agent/fs_endpoint.go`` ``Logs``).
# Plain logs are untrusted text: exactly text/plain, so no browser renders them (TestHTTP_FS_Logs_XSS).
PLAIN_MEDIA_TYPE = "text/plain"
FRAMES_MEDIA_TYPE = "application/json"
NDJSON_MEDIA_TYPE = "application/x-ndjson"


def _listing_error(exc: OSError) -> APIError:
    if isinstance(exc, SecretPathError | PathEscapesError):
        return APIError(403 if isinstance(exc, SecretPathError) else 400, str(exc))
    return APIError(500, f"failed to list entries: {os_error_text('open', LOG_DIR, exc)}")


def _check_task(agent: Agent, alloc: Allocation, task: str) -> asyncio.Event | None:
    """Check that a task Outrider runs exists and has started; return its "dead for good" event.

    Nomad's unknown-task and not-started checks in ``client/fs_endpoint.go`` ``logs``.
    """
    state = agent.runner.task_states(alloc.id).get(task)
    if state is None:
        raise APIError(400, f"unknown task name {quote(task)}")
    if state.get("StartedAt") in (None, "", ZERO_TIME):
        raise APIError(404, f"task {quote(task)} not started yet. No logs available")
    return agent.runner.task_finished(alloc.id, task)


def _external_dir(alloc: Allocation, task: str) -> int:
    """Check that a task of an external allocation exists and has started; return the log dir.

    Nomad's unknown-task and not-started checks in ``client/fs_endpoint.go`` ``logs``;
    here started means the task has a log file.
    """
    not_started = APIError(404, f"task {quote(task)} not started yet. No logs available")
    if task not in alloc.tasks:
        raise APIError(400, f"unknown task name {quote(task)}")
    try:
        dir_fd = open_log_dir(alloc)
    except FileNotFoundError:
        raise not_started from None
    except OSError as exc:
        raise _listing_error(exc) from None
    try:
        started = has_log_files(dir_fd, task)
    except OSError as exc:
        os.close(dir_fd)
        raise _listing_error(exc) from None
    if not started:
        os.close(dir_fd)
        raise not_started
    return dir_fd


async def fs_logs(request: Request, alloc_id: str) -> StreamResponse:
    """Stream a task's log (JSON frames, or raw bytes with ``plain=true``) from the requested position."""
    agent, query = begin_alloc(request, alloc_id)
    task = query.get("task")
    if not task:
        raise APIError(400, "must provide task name")
    follow = parse_bool_field(query, "follow", default=False)
    plain = parse_bool_field(query, "plain", default=False)
    log_type = query.get("type")
    if log_type not in LOG_TYPES:
        raise APIError(400, "must provide log type (stdout/stderr)")
    offset = parse_int_param(query, "offset", "0")
    origin_end = parse_origin_end(query)
    # Outrider's line options come after Nomad's own checks, so Nomad's errors keep their order.
    try:
        lines = parse_log_query(query, follow=follow, plain=plain)
    except LogQueryError as exc:
        raise APIError(400, str(exc)) from None
    alloc = lookup_live(agent, alloc_id)
    authorize(request, agent, alloc, auth.READ_LOGS, auth.READ_FS)

    finished: asyncio.Event | None = None
    if alloc.external:
        # No runner state: nothing says when the task is dead, so a follow never ends by itself.
        dir_fd = _external_dir(alloc, task)
    else:
        finished = _check_task(agent, alloc, task)
        try:
            dir_fd = open_log_dir(alloc)
        except OSError as exc:
            raise _listing_error(exc) from None

    service = agent.streams
    tail = None if lines is None or lines.tail_lines is None else TailStart(lines.tail_lines, lines.before)
    per_line = lines is not None and lines.per_line
    ndjson = lines is not None and lines.ndjson
    source: Source
    try:
        source = LogsSource(
            dir_fd,
            task,
            log_type,
            origin_end=origin_end,
            offset=offset,
            follow=follow,
            # The line pipeline cuts raw bytes into lines and formats them itself.
            plain=plain or per_line,
            service=service,
            finished=finished,
            start=tail,
        )
    except LogNotFoundError as exc:
        raise APIError(404, str(exc)) from None
    except LogStreamError as exc:
        raise APIError(500, str(exc)) from None
    except LogQueryError as exc:
        raise APIError(400, str(exc)) from None
    except OSError as exc:
        # Scanning back for tail_lines read a file that could not be read.
        raise APIError(500, f"failed to read logs: {exc.strerror}") from None
    if lines is not None and per_line:
        source = LogLinesSource(source, log_type, lines, plain=plain, stop=tail.stop if tail else None)
    return StreamResponse(
        source,
        service,
        # ndjson carries log lines only: a "{}" heartbeat would read as a record.
        heartbeats=not plain and not ndjson,
        media_type=NDJSON_MEDIA_TYPE if ndjson else PLAIN_MEDIA_TYPE if plain else FRAMES_MEDIA_TYPE,
        # Task output is untrusted: browsers must take text/plain at its word.
        headers=((b"x-content-type-options", b"nosniff"),) if plain or ndjson else (),
        on_error=str,
    )


FS_OPS: dict[str, Handler] = {"logs": fs_logs}  # type: ignore[dict-item]
