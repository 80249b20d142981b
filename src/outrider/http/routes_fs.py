"""``/v1/client/fs/{ls,stat,cat,readat}/<alloc_id>`` (``command/agent/fs_endpoint.go``).

Handlers share one shape, built from :mod:`outrider.http.prologue`: validate
parameters in the reference's order, look the allocation up, authorize, then
touch the file system only through :mod:`outrider.fs.allocdir`. Other fs
operations (``stream``, ``logs``) register in the ``FS_OPS`` table of their own
module; ``app.py`` merges them.
"""

from __future__ import annotations

import errno
import os
import stat as stat_mod
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from outrider.acl import authorizer as auth
from outrider.allocs import Allocation
from outrider.fs.allocdir import (
    open_fd_in_alloc,
    open_in_alloc,
    open_regular,
    os_error_text,
    reopen_for_read,
)
from outrider.fs.filemode import file_mode_string
from outrider.fs.listing import list_dir
from outrider.fs.readat import ChunkReader
from outrider.fs.safe_open import is_secret_path
from outrider.fs.sniff import detect_content_type
from outrider.fs.sniff_cache import SniffCache
from outrider.gostrconv import format_rfc3339nano
from outrider.http.errors import APIError
from outrider.http.files import FileRangeResponse
from outrider.http.prologue import (
    authorize,
    begin_alloc,
    clean_or_error,
    lookup,
    open_error,
    parse_int_param,
    require_path,
    status_for,
)
from outrider.http.responses import json_response, safe_text
from outrider.http.subtrees import Handler

DEFAULT_CONTENT_TYPE = "application/octet-stream"

# Content types of unchanged files: stat is polled, and re-reading the same 512
# bytes is most of its cost (see the module for why the key is safe).
_SNIFFED = SniffCache()


# -- files --------------------------------------------------------------------------------------


def file_info(name: str, mode: int, size: int, mtime_ns: int) -> dict[str, Any]:
    """An ``AllocFileInfo`` (``client/structs/structs.go``) without ``ContentType``, from a stat's fields."""
    return {
        "FileMode": file_mode_string(mode),
        "IsDir": stat_mod.S_ISDIR(mode),
        "ModTime": format_rfc3339nano(mtime_ns),
        "Name": safe_text(name),
        "Size": size,
    }


def open_file_for_read(alloc: Allocation, user_path: str, rel: str) -> tuple[int, int]:
    """Open a regular file for ``cat``/``readat``; return ``(fd, size)``.

    Errors are 4xx, checked in the order of ``client/fs_endpoint.go`` ``stream``.
    """
    try:
        with open_regular(alloc, user_path, rel) as (path_fd, st, _resolved):
            return reopen_for_read(path_fd), st.st_size
    except OSError as exc:
        raise open_error(exc, rel) from None


# -- handlers -----------------------------------------------------------------------------------


async def fs_ls(request: Request, alloc_id: str) -> Response:
    agent, query = begin_alloc(request, alloc_id)
    path = query.get("path") or "/"
    alloc = lookup(agent, alloc_id)
    authorize(request, agent, alloc, auth.READ_FS)
    rel = clean_or_error(path)
    try:
        with open_in_alloc(alloc, rel, os.O_RDONLY | os.O_DIRECTORY) as (dir_fd, _resolved):
            listing = _list(dir_fd)
    except OSError as exc:
        op = "readdirent" if exc.errno == errno.ENOTDIR else "open"
        raise APIError(status_for(exc, missing=404), os_error_text(op, rel, exc)) from None
    return json_response(listing, query)


def _list(dir_fd: int) -> list[dict[str, Any]]:
    # Sorted by name bytes; entries that vanish mid-listing are skipped (Nomad's ``List`` fails instead).
    return [file_info(name, mode, size, mtime) for name, mode, size, mtime in list_dir(dir_fd)]


async def fs_stat(request: Request, alloc_id: str) -> Response:
    agent, query = begin_alloc(request, alloc_id)
    path = require_path(query)
    alloc = lookup(agent, alloc_id)
    authorize(request, agent, alloc, auth.READ_FS)
    rel = clean_or_error(path)
    try:
        # The per-request hot path: a plain try/finally costs less than the context manager.
        path_fd, resolved = open_fd_in_alloc(alloc, rel)
        try:
            st = os.fstat(path_fd)
            content_type = _content_type(path_fd, st, resolved)
        finally:
            os.close(path_fd)
    except OSError as exc:
        raise APIError(status_for(exc, missing=404), os_error_text("stat", rel, exc)) from None
    name = rel.rsplit("/", 1)[-1] if rel else os.path.basename(alloc.path)
    if rel.endswith(".json"):
        content_type = "application/json"
    info = file_info(name, st.st_mode, st.st_size, st.st_mtime_ns)
    info["ContentType"] = content_type
    return json_response(info, query)


def _content_type(path_fd: int, st: os.stat_result, resolved: str) -> str:
    """Sniff up to 512 bytes of a regular file; never of FIFOs or devices, never inside secrets.

    Nomad's ``client/allocdir/alloc_dir.go`` ``Stat`` sniffs secret files too.
    """
    if not stat_mod.S_ISREG(st.st_mode) or st.st_size == 0 or is_secret_path(resolved) is not None:
        return DEFAULT_CONTENT_TYPE
    known = _SNIFFED.get(st)
    if known is not None:
        return known
    settled = _SNIFFED.settled(st)
    try:
        fd = reopen_for_read(path_fd)
    except OSError:
        return DEFAULT_CONTENT_TYPE
    try:
        head = ChunkReader(fd, 512).read_bytes(0, 512)
    except OSError:
        return DEFAULT_CONTENT_TYPE
    finally:
        os.close(fd)
    content_type = detect_content_type(head) if head else DEFAULT_CONTENT_TYPE
    if settled:
        _SNIFFED.put(st, content_type)
    return content_type


async def fs_cat(request: Request, alloc_id: str) -> Response | FileRangeResponse:
    agent, query = begin_alloc(request, alloc_id)
    path = require_path(query)
    alloc = lookup(agent, alloc_id)
    authorize(request, agent, alloc, auth.READ_FS)
    rel = clean_or_error(path)
    fd, size = open_file_for_read(alloc, path, rel)
    return FileRangeResponse(fd, 0, size)


async def fs_readat(request: Request, alloc_id: str) -> Response | FileRangeResponse:
    agent, query = begin_alloc(request, alloc_id)
    path = require_path(query)
    offset = parse_int_param(query, "offset", "")
    limit = parse_int_param(query, "limit", "0")
    alloc = lookup(agent, alloc_id)
    authorize(request, agent, alloc, auth.READ_FS)
    rel = clean_or_error(path)
    if offset < 0:
        raise APIError(400, f"can't seek to offset {offset}: seek {rel or '/'}: invalid argument")
    fd, size = open_file_for_read(alloc, path, rel)
    available = max(size - offset, 0)
    length = available if limit <= 0 else min(limit, available)
    return FileRangeResponse(fd, offset, length)


FS_OPS: dict[str, Handler] = {
    "ls": fs_ls,
    "stat": fs_stat,
    "cat": fs_cat,  # type: ignore[dict-item]
    "readat": fs_readat,  # type: ignore[dict-item]
}
