"""Errors that carry the status code and text Nomad answers them with.

Any layer may raise one; the HTTP layer (:mod:`outrider.http.errors`) writes it as
the status and a plain-text body, as Nomad's ``command/agent/http.go`` ``wrap``
does for a ``CodedError`` and for ``structs.ErrPermissionDenied``.
"""

from __future__ import annotations

import errno

NO_ROOM = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
"""The errno values of a write the file system has no room for (full disk, quota, file size limit)."""


class APIError(Exception):
    """An error answered as ``status`` with ``message`` as the whole body."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers


def permission_denied() -> APIError:
    """Nomad's ``structs.ErrPermissionDenied``: 403 with the bare text ``Permission denied``."""
    return APIError(403, "Permission denied")
