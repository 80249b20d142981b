"""The one error path (spec §1.4): a status code and a plain-text body with no trailing newline."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

ERROR_MEDIA_TYPE = "text/plain; charset=utf-8"


class APIError(Exception):
    """An error answered as ``status`` with ``message`` as the whole body."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers


def unknown_alloc(alloc_id: str) -> APIError:
    from outrider.gostrconv import quote

    return APIError(404, f"Unknown allocation {quote(alloc_id)}")


def permission_denied() -> APIError:
    return APIError(403, "Permission denied")


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return Response(
        message.encode("utf-8", "surrogateescape"),
        status_code=status,
        media_type=ERROR_MEDIA_TYPE,
        headers=headers,
    )


async def handle_api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, APIError)
    return error_response(exc.status, exc.message, exc.headers)
