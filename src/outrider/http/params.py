"""Query-string and token parsing (``command/agent/http.go`` ``parse``, ``parseToken``).

The query string is decoded with ``surrogateescape`` so a file name that is not
UTF-8 reaches the file system byte for byte.
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from starlette.requests import Request

from outrider.http.errors import APIError


class Query:
    """The request's query parameters; Go's ``Query().Get`` returns the first value."""

    __slots__ = ("_values",)

    def __init__(self, raw: bytes) -> None:
        values: dict[str, list[str]] = {}
        if raw and b"%" not in raw and b"+" not in raw:
            # Nothing is escaped (the usual query): decode once, then split. "&" and "=" are
            # ASCII, never part of a UTF-8 sequence, so this is the per-part decode's result.
            for pair in raw.decode("utf-8", "surrogateescape").split("&"):
                if pair:
                    key, _, value = pair.partition("=")
                    got = values.get(key)
                    if got is None:
                        values[key] = [value]
                    else:
                        got.append(value)
        elif raw:
            for pair in raw.split(b"&"):
                if not pair:
                    continue
                key, _, value = pair.partition(b"=")
                k = _decode(key)
                values.setdefault(k, []).append(_decode(value))
        self._values = values

    def first(self, key: str) -> str | None:
        """The first value, or None when the key is absent."""
        got = self._values.get(key)
        return got[0] if got else None

    def get(self, key: str, default: str = "") -> str:
        """The first value, or ``default`` when absent (Go: empty string)."""
        got = self._values.get(key)
        return got[0] if got else default

    def __contains__(self, key: str) -> bool:
        return key in self._values

    def has_any(self, keys: frozenset[str]) -> bool:
        """Whether any of ``keys`` is present."""
        return not keys.isdisjoint(self._values)


def _decode(part: bytes) -> str:
    if b"%" not in part and b"+" not in part:
        # Nothing to unescape: skip the generic unquoting, which costs more than the decode.
        return part.decode("utf-8", "surrogateescape")
    return unquote_to_bytes(part.replace(b"+", b" ")).decode("utf-8", "surrogateescape")


def query_of(request: Request) -> Query:
    cached = request.scope.get("outrider.query")
    if cached is None:
        cached = Query(request.scope.get("query_string", b""))
        request.scope["outrider.query"] = cached
    return cached


def token_of(request: Request) -> str:
    """The request's ACL secret, as ``command/agent/http.go`` ``parseToken`` finds it; never the query string.

    A non-empty ``X-Nomad-Token`` wins, trimmed, even when trimming leaves nothing
    (anonymous, e.g. a lone vertical tab); otherwise ``Authorization: Bearer <token>`` (first word after the
    scheme); any other scheme is ignored. The first value of each header counts.
    """
    # Scans the raw ASGI headers: every request asks, so skip building a Headers object.
    nomad: bytes | None = None
    auth: bytes | None = None
    for name, value in request.scope["headers"]:
        if name == b"x-nomad-token" and nomad is None:
            nomad = value
        elif name == b"authorization" and auth is None:
            auth = value
    # Go's header parsing drops spaces and tabs around a value; what else TrimSpace removes
    # (a vertical tab, say) still makes the header count, for an empty token.
    value = (nomad or b"").decode("latin-1").strip(" \t")
    if value:
        return value.strip()
    parts = (auth or b"").decode("latin-1").split(" ")
    if len(parts) >= 2 and parts[0].lower() == "bearer":
        rest = " ".join(parts[1:]).strip()
        return rest.split(" ")[0] if rest else ""
    return ""


def check_generic(query: Query) -> None:
    """Validate the parameters every Nomad handler parses, stopping at the first 400.

    Nomad's ``command/agent/http.go`` ``parse`` reports these errors but its handlers go on.
    """
    if not query.has_any(_GENERIC):
        # The usual request names none of them: one set test instead of four lookups.
        return
    stale = query.first("stale")
    if stale not in (None, "", "true", "false"):
        raise APIError(400, "Expect `true` or `false` for `stale` query string parameter")
    per_page = query.first("per_page")
    if per_page not in (None, "") and not _is_uint(per_page):
        raise APIError(400, "Expect a number for `per_page` query string parameter")
    wait = query.first("wait")
    if wait not in (None, ""):
        from outrider.config import ConfigError, parse_duration

        try:
            parse_duration(wait)
        except ConfigError:
            raise APIError(400, "Invalid wait time") from None
    index = query.first("index")
    if index not in (None, "") and not _is_uint(index):
        raise APIError(400, "Invalid index")


_GENERIC = frozenset({"stale", "per_page", "wait", "index"})


def _is_uint(text: str) -> bool:
    return text.isascii() and text.isdigit() and int(text) < 2**64
