"""The one error path: a status code and a plain-text body with no trailing newline.

Nomad writes its errors the same way in ``command/agent/http.go`` ``wrap``.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from outrider.errors import APIError

__all__ = ["ERROR_MEDIA_TYPE", "APIError", "error_response", "handle_api_error", "unknown_alloc"]

ERROR_MEDIA_TYPE = "text/plain; charset=utf-8"


def unknown_alloc(alloc_id: str) -> APIError:
    from outrider.gostrconv import quote

    return APIError(404, f"Unknown allocation {quote(alloc_id)}")


def invalid_method() -> APIError:
    """A method the endpoint does not serve: 405, as Nomad's handlers answer it."""
    return APIError(405, "Invalid method")


def not_run_here(alloc_id: str) -> APIError:
    """A lifecycle request for an allocation this agent serves but does not run (external or collected)."""
    from outrider.gostrconv import quote

    return APIError(400, f"allocation {quote(alloc_id)} is not run by this agent")


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
