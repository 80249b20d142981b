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
import time
from collections.abc import Callable

from starlette.requests import Request
from starlette.routing import Route

from outrider.acl import authorizer as auth
from outrider.agent import Agent
from outrider.allocs import Allocation
from outrider.fs.allocdir import SecretPathError, open_log_dir, os_error_text
from outrider.fs.errors import PathEscapesError
from outrider.fs.logfiles import LOG_DIR, LOG_TYPES, LogFile, has_log_files
from outrider.fs.logtimes import TIMES_DIR
from outrider.gostrconv import quote
from outrider.http.errors import APIError, invalid_method
from outrider.http.methods import ANY_METHOD
from outrider.http.prologue import (
    authorize,
    authorize_namespace,
    begin,
    begin_alloc,
    lookup_live,
    parse_bool_field,
    parse_int_param,
    parse_origin_end,
)
from outrider.http.responses import safe_text
from outrider.http.subtrees import Handler
from outrider.jobs.views import job_status
from outrider.runner.handle import task_state_dir
from outrider.runner.taskstate import ZERO_TIME
from outrider.stream import StreamResponse
from outrider.stream.capture_times import CaptureTimes
from outrider.stream.job_logs import Discover, JobLogsSource
from outrider.stream.log_lines import LineReader, LogLinesSource
from outrider.stream.log_window import LogWindow
from outrider.stream.logquery import ALL_TYPES, LogQuery, LogQueryError, parse_log_query
from outrider.stream.logs import LogNotFoundError, LogsSource, LogStreamError
from outrider.stream.sender import Source

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


def _capture_times(agent: Agent, alloc: Allocation, task: str) -> CaptureTimes | None:
    """The capture-time indexes of a task Outrider runs (None when it has none yet)."""
    path = os.path.join(task_state_dir(agent.config.data_dir, alloc.id, task), TIMES_DIR)
    try:
        return CaptureTimes(os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC))
    except OSError:
        return None


def _line_source(
    agent: Agent,
    alloc: Allocation,
    dir_fd: int,
    task: str,
    lines: LogQuery,
    *,
    log_types: tuple[str, ...],
    follow: bool,
    plain: bool,
    finished: asyncio.Event | None,
    label: tuple[str, str] | None = None,
) -> LogLinesSource:
    """The sources of a request with line options: one reader per log type, merged and formatted.

    Owns ``dir_fd``; raises what :class:`LogsSource` raises, and LogQueryError for a bad cursor.
    """
    readers: list[LineReader] = []
    ends: list[tuple[LogFile, int] | None] = []
    try:
        for i, log_type in enumerate(log_types):
            times = None if alloc.external else _capture_times(agent, alloc, task)
            window = LogWindow(lines, times)
            try:
                source = LogsSource(
                    dir_fd if i == len(log_types) - 1 else os.dup(dir_fd),
                    task,
                    log_type,
                    origin_end=False,
                    offset=0,
                    follow=follow,
                    plain=True,
                    service=agent.streams,
                    finished=finished,
                    start=window,
                )
            except BaseException:
                if times is not None:
                    times.close()
                raise
            readers.append(LineReader(source, log_type, lines, stop=window.stop, times=times))
            ends.append(window.log_end)
    except BaseException:
        for reader in readers:
            reader.close()
        if len(readers) < len(log_types) - 1:
            os.close(dir_fd)
        raise
    return LogLinesSource(readers, lines, plain=plain, follow=follow, backlog_ends=ends, label=label)


async def fs_logs(request: Request, alloc_id: str) -> StreamResponse:
    """Stream a task's log (JSON frames, or raw bytes with ``plain=true``) from the requested position."""
    agent, query = begin_alloc(request, alloc_id)
    task = query.get("task")
    if not task:
        raise APIError(400, "must provide task name")
    follow = parse_bool_field(query, "follow", default=False)
    plain = parse_bool_field(query, "plain", default=False)
    log_type = query.get("type")
    if log_type not in LOG_TYPES and log_type != ALL_TYPES:
        raise APIError(400, "must provide log type (stdout/stderr)")
    offset = parse_int_param(query, "offset", "0")
    origin_end = parse_origin_end(query)
    # Outrider's line options come after Nomad's own checks, so Nomad's errors keep their order.
    try:
        lines = parse_log_query(query, log_type=log_type, follow=follow, plain=plain, now_ns=time.time_ns())
    except LogQueryError as exc:
        raise APIError(400, str(exc)) from None
    alloc = lookup_live(agent, alloc_id)
    authorize(request, agent, alloc, auth.READ_LOGS, auth.READ_FS)
    if alloc.external and lines is not None and (lines.merged or lines.timestamps):
        option = "type=all" if lines.merged else "timestamps"
        raise APIError(
            400, f"{option} needs capture times, which Outrider records only for the tasks it runs"
        )

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
    ndjson = lines is not None and lines.ndjson
    source: Source
    try:
        if lines is not None and lines.per_line:
            log_types = LOG_TYPES if lines.merged else (log_type,)
            source = _line_source(
                agent,
                alloc,
                dir_fd,
                task,
                lines,
                log_types=log_types,
                follow=follow,
                plain=plain,
                finished=finished,
            )
        else:
            source = LogsSource(
                dir_fd,
                task,
                log_type,
                origin_end=origin_end,
                offset=offset,
                follow=follow,
                plain=plain,
                service=service,
                finished=finished,
                start=None if lines is None else LogWindow(lines, None),
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


# -- /v1/job/<job_id>/logs ------------------------------------------------------------------------

MAX_STREAMS_DEFAULT = 50
MAX_STREAMS_LIMIT = 1000


def _job_log_opener(
    agent: Agent,
    alloc: Allocation,
    task: str,
    lines: LogQuery,
    log_types: tuple[str, ...],
    follow: bool,
    plain: bool,
) -> Callable[[], LogLinesSource | None]:
    def open_stream() -> LogLinesSource | None:
        state = agent.runner.task_states(alloc.id).get(task)
        if state is None or state.get("StartedAt") in (None, "", ZERO_TIME):
            return None  # not started (yet)
        try:
            dir_fd = open_log_dir(alloc)
        except OSError:
            return None  # collected meanwhile
        try:
            return _line_source(
                agent,
                alloc,
                dir_fd,
                task,
                lines,
                log_types=log_types,
                follow=follow,
                plain=plain,
                finished=agent.runner.task_finished(alloc.id, task),
                label=(alloc.id, task),
            )
        except (LogNotFoundError, LogStreamError, LogQueryError, OSError):
            return None  # no log (disabled, or gone): nothing of this task to read

    return open_stream


def _job_discover(
    agent: Agent,
    namespace: str,
    job_id: str,
    *,
    task: str | None,
    include_terminal: bool,
    make: Callable[[Allocation, str], Callable[[], LogLinesSource | None]],
) -> Discover:
    offered: set[tuple[str, str]] = set()

    def discover() -> tuple[list[Callable[[], LogLinesSource | None]], bool]:
        rec = agent.jobs.store.get(namespace, job_id)
        allocs = [a for a in agent.jobs.allocs_of(namespace, job_id) if not a.external and not a.destroyed]
        openers = []
        for alloc in allocs:
            if alloc.terminal and not include_terminal:
                continue
            for name in alloc.tasks:
                if (task is None or name == task) and (alloc.id, name) not in offered:
                    offered.add((alloc.id, name))
                    openers.append(make(alloc, name))
        # Over once the job is dead (stopped, purged, or every allocation finished), as Nomad's
        # job status says it: no allocation of it will be placed or run again.
        over = rec is None or job_status(rec, allocs) == "dead"
        return openers, over

    return discover


async def job_logs(request: Request) -> StreamResponse:
    """Every allocation's logs of one job: plain lines prefixed ``<alloc8>/<task>: ``, or ndjson with AllocID and Task.

    Outrider's own endpoint (no Nomad counterpart); read-logs on the job's namespace.
    """
    if request.method not in ("GET", "HEAD"):
        raise invalid_method()
    agent, query = begin(request)
    job_id: str = request.path_params["job_id"]
    # Undecodable bytes cannot name a namespace (as the jobs API reads it).
    namespace = safe_text(query.get("namespace")) or "default"
    follow = parse_bool_field(query, "follow", default=False)
    plain = parse_bool_field(query, "plain", default=False)
    include_terminal = parse_bool_field(query, "all", default=False)
    log_type = query.get("type")
    if log_type not in LOG_TYPES and log_type != ALL_TYPES:
        raise APIError(400, "must provide log type (stdout/stderr)")
    for name in ("offset", "origin", "before"):
        if query.get(name):
            raise APIError(
                400, f"{name} cannot be used on a job's logs: positions belong to one allocation's files"
            )
    max_streams = MAX_STREAMS_DEFAULT
    if query.get("max_streams"):
        max_streams = parse_int_param(query, "max_streams", "")
        if not 1 <= max_streams <= MAX_STREAMS_LIMIT:
            raise APIError(400, f"max_streams must be between 1 and {MAX_STREAMS_LIMIT}, got {max_streams}")
    try:
        lines = parse_log_query(query, log_type=log_type, follow=follow, plain=plain, now_ns=time.time_ns())
    except LogQueryError as exc:
        raise APIError(400, str(exc)) from None
    lines = lines or LogQuery()
    if not plain and not lines.ndjson:
        raise APIError(
            400, "a job's logs are plain=true or format=ndjson: frames name one allocation's files"
        )
    authorize_namespace(request, agent, namespace, auth.READ_LOGS)
    if agent.jobs.store.get(namespace, job_id) is None:
        raise APIError(404, "job not found")
    task = query.get("task") or None
    log_types = LOG_TYPES if lines.merged else (log_type,)

    def make(alloc: Allocation, name: str) -> Callable[[], LogLinesSource | None]:
        return _job_log_opener(agent, alloc, name, lines, log_types, follow, plain)

    discover = _job_discover(
        agent, namespace, job_id, task=task, include_terminal=include_terminal, make=make
    )
    source = JobLogsSource(discover, follow=follow, max_streams=max_streams)
    return StreamResponse(
        source,
        agent.streams,
        heartbeats=False,
        media_type=NDJSON_MEDIA_TYPE if lines.ndjson else PLAIN_MEDIA_TYPE,
        headers=((b"x-content-type-options", b"nosniff"),),
        on_error=str,
    )


FS_OPS: dict[str, Handler] = {"logs": fs_logs}  # type: ignore[dict-item]

# Before the jobs API's /v1/job/{rest:path}, which answers every other method and path.
ROUTES = [Route("/v1/job/{job_id:path}/logs", job_logs, methods=ANY_METHOD)]
