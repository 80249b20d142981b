"""``/v1/client/fs/stream/<alloc_id>``: tail and follow one file as Nomad frames (spec §6).

Parameters are validated in the reference's order (alloc id, path, follow,
offset, origin) with its texts, but a malformed value is a 400, as everywhere
in Outrider. The file is opened before the response starts, so a missing,
secret or non-regular file keeps its real status code. After that, the
streaming core (:mod:`outrider.stream`) sends data the moment it is written,
shares reads among followers of the same file and turns truncation,
replacement and deletion into exactly one event frame each.
"""

from __future__ import annotations

import os

from starlette.requests import Request

from outrider.acl import authorizer as auth
from outrider.allocs import Allocation
from outrider.fs.allocdir import (
    open_in_alloc,
    open_regular,
    reopen_for_read,
)
from outrider.http.errors import APIError
from outrider.http.prologue import (
    authorize,
    begin_alloc,
    clean_or_error,
    lookup_live,
    open_error,
    parse_bool_field,
    parse_int_param,
    parse_origin_end,
    require_path,
)
from outrider.http.subtrees import Handler
from outrider.stream import FileFollower, StreamResponse, StreamService, TailReader, json_string

# Go sniffs the first frame of the reference's response as text (spec §5.8).
STREAM_MEDIA_TYPE = "text/plain; charset=utf-8"
MAX_FILE_OFFSET = (1 << 63) - 1


def open_tail(
    service: StreamService, alloc: Allocation, user_path: str, rel: str, origin_end: bool, offset: int
) -> TailReader:
    """Open ``rel`` beneath the allocation for following, positioned by ``origin``/``offset`` (spec §6 item 5).

    The reader also holds the resolved parent directory, so later checks of the
    name cannot be redirected outside the allocation. Raises OSError
    (:class:`NotRegularFileError`, ``SecretPathError``, ``FileNotFoundError``...).
    """
    with open_regular(alloc, user_path, rel) as (path_fd, st, resolved):
        parent_rel, _, name = resolved.rpartition("/")
        with open_in_alloc(alloc, parent_rel, os.O_PATH | os.O_DIRECTORY) as (dir_fd, _):
            parent_fd = os.dup(dir_fd)
        try:
            fd = reopen_for_read(path_fd)
        except BaseException:
            os.close(parent_fd)
            raise
    start = max(st.st_size - offset, 0) if origin_end else offset
    # The kernel fails a read that would end past the largest file offset (EINVAL), and
    # no file holds data there; starting just short of it reads nothing, as past any EOF.
    start = min(start, MAX_FILE_OFFSET - len(service.scratch))
    return service.reader(fd, parent_fd, name, start)


async def fs_stream(request: Request, alloc_id: str) -> StreamResponse:
    agent, query = begin_alloc(request, alloc_id)
    path = require_path(query)
    follow = parse_bool_field(query, "follow", default=True)
    offset = parse_int_param(query, "offset", "0")
    origin_end = parse_origin_end(query)
    alloc = lookup_live(agent, alloc_id)
    authorize(request, agent, alloc, auth.READ_FS)
    rel = clean_or_error(path)
    if offset < 0 and not origin_end:
        raise APIError(400, f"can't seek to offset {offset}: seek {rel or '/'}: invalid argument")
    service = agent.streams
    try:
        reader = open_tail(service, alloc, path, rel, origin_end, offset)
    except OSError as exc:
        raise open_error(exc, rel) from None

    def reopen() -> TailReader:
        return open_tail(service, alloc, path, rel, False, 0)

    follower = FileFollower(
        reader,
        file_json=json_string(path),
        follow=follow,
        service=service,
        reopen=reopen,
        reappear_grace=agent.config.rotation_grace,
    )
    return StreamResponse(
        follower,
        service,
        heartbeats=True,
        media_type=STREAM_MEDIA_TYPE,
        on_error=lambda exc: _stream_error_text(rel, exc),
    )


def _stream_error_text(rel: str, exc: Exception) -> str:
    return open_error(exc, rel).message if isinstance(exc, OSError) else str(exc)


FS_OPS: dict[str, Handler] = {"stream": fs_stream}  # type: ignore[dict-item]
