"""``/v1/client/fs/stream/<alloc_id>``: tail and follow one file as Nomad frames.

Nomad's handlers: ``command/agent/fs_endpoint.go`` ``Stream``, ``client/fs_endpoint.go`` ``stream``.

Parameters are validated in the reference's order (alloc id, path, follow,
offset, origin) with its texts, but a malformed value is a 400, as everywhere
in Outrider. The file is opened before the response starts, so a missing,
secret or non-regular file keeps its real status code. After that, the
streaming core (:mod:`outrider.stream`) sends data the moment it is written,
shares reads among followers of the same file and turns truncation,
replacement and deletion into exactly one event frame each.
"""

from __future__ import annotations

from starlette.requests import Request

from outrider.acl import authorizer as auth
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
from outrider.stream import FileFollower, StreamResponse, TailReader, json_string
from outrider.stream.tail_open import open_alloc_tail

# Go sniffs the first frame of the reference's response as text (``command/agent/fs_endpoint.go`` ``Stream``).
STREAM_MEDIA_TYPE = "text/plain; charset=utf-8"


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
        reader = open_alloc_tail(service, alloc, path, rel, origin_end=origin_end, offset=offset)
    except OSError as exc:
        raise open_error(exc, rel) from None

    def reopen() -> TailReader:
        return open_alloc_tail(service, alloc, path, rel, origin_end=False, offset=0)

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
