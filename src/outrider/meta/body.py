"""Decoding a ``POST /v1/client/metadata`` body with Go ``encoding/json`` semantics (spec §13.3 step 1).

What is kept from Go's decoder: field names match case-insensitively, unknown
fields are ignored, only the first JSON value is read (trailing bytes are never
looked at), a repeated ``Meta`` merges into the map decoded so far while a
``null`` resets it, and type errors use Go's wording. What is not: Go's syntax
error texts; those are replaced by Python's description with the offset.

The reference decodes the body into a struct that embeds the query options, so
``AuthToken``, ``Region`` and ``Namespace`` in the body act on the request
(spec §1.6). Outrider ignores them: a token comes only from the headers
(spec §18 item 24).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

EMPTY_BODY = "Request body is empty"
_STRUCT = "NodeMetaApplyRequest"


class MetaBodyError(ValueError):
    """The body cannot be decoded; ``str()`` is the 400 response text."""


@dataclass
class ApplyRequest:
    """The decoded body: ``meta`` keeps request order; ``None`` means absent or null."""

    meta: dict[str, str | None] | None
    node_id: str


class _Pairs(list):  # type: ignore[type-arg]
    """A decoded JSON object: its (key, value) pairs in document order, duplicates kept."""


def _reject_constant(name: str) -> Any:
    # Python's decoder accepts NaN and Infinity; JSON (and Go) do not.
    if name.startswith("-"):
        raise ValueError("invalid character 'I' in numeric literal")
    raise ValueError(f"invalid character {name[0]!r} looking for beginning of value")


_WHITESPACE = " \t\n\r"


def _kind(value: object) -> str:
    """Go's name for a JSON value's kind, as its UnmarshalTypeError prints it."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, _Pairs):
        return "object"
    if isinstance(value, list):
        return "array"
    return "null"


# Python's decoder pairs valid surrogate escapes itself, so any left in a string are unpaired.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _go_string(text: str) -> str:
    """Go's decoder turns an unpaired surrogate escape (``\\ud800``) into U+FFFD; Python's keeps it."""
    return _LONE_SURROGATE.sub("\ufffd", text)


_DECODER = json.JSONDecoder(object_pairs_hook=_Pairs, parse_constant=_reject_constant)


def _type_error(kind: str, field: str | None, go_type: str) -> MetaBodyError:
    if field is None:
        return MetaBodyError(f"json: cannot unmarshal {kind} into Go value of type structs.{_STRUCT}")
    return MetaBodyError(
        f"json: cannot unmarshal {kind} into Go struct field {_STRUCT}.{field} of type {go_type}"
    )


def _parse_first_value(raw: bytes) -> object:
    # Go replaces invalid UTF-8 inside strings with U+FFFD; elsewhere it is a syntax error either way.
    text = raw.decode("utf-8", "replace")
    start = len(text) - len(text.lstrip(_WHITESPACE))
    if start == len(text):
        raise MetaBodyError("EOF")
    try:
        value, _end = _DECODER.raw_decode(text, start)
    except RecursionError:
        # Go's scanner gives up at 10000 levels with this text; Python's decoder at about 1000.
        raise MetaBodyError("exceeded max depth") from None
    except json.JSONDecodeError as exc:
        if exc.pos >= len(text):
            raise MetaBodyError("unexpected EOF") from None
        raise MetaBodyError(f"invalid JSON at offset {exc.pos}: {exc.msg}") from None
    except ValueError as exc:
        raise MetaBodyError(str(exc)) from None
    return value


def _merge_meta(
    meta: dict[str, str | None] | None, item: object, errors: list[MetaBodyError]
) -> dict[str, str | None] | None:
    """Decode one ``Meta`` field into the map so far: Go reuses a non-nil map and nulls reset it."""
    if item is None:
        return None
    if not isinstance(item, _Pairs):
        errors.append(_type_error(_kind(item), "Meta", "map[string]*string"))
        return meta
    merged = {} if meta is None else meta
    for key, value in item:
        if value is None or isinstance(value, str):
            merged[_go_string(key)] = None if value is None else _go_string(value)
        else:
            errors.append(_type_error(_kind(value), "Meta", "string"))
    return merged


def decode_apply_body(raw: bytes) -> ApplyRequest:
    """Decode the body, or raise :class:`MetaBodyError` with the 400 text."""
    if not raw:
        raise MetaBodyError(EMPTY_BODY)
    value = _parse_first_value(raw)
    if value is None:
        # A top-level null leaves the struct untouched, as in Go.
        return ApplyRequest(None, "")
    if not isinstance(value, _Pairs):
        raise _type_error(_kind(value), None, "")
    meta: dict[str, str | None] | None = None
    node_id = ""
    # Go keeps decoding after a type mismatch and reports the first one at the end.
    errors: list[MetaBodyError] = []
    for key, item in value:
        # Both field names are ASCII without the letters Go folds specially (k, s),
        # so an ASCII case-insensitive match is exactly encoding/json's.
        folded = key.lower() if key.isascii() else None
        if folded == "meta":
            meta = _merge_meta(meta, item, errors)
        elif folded == "nodeid":
            if isinstance(item, str):
                node_id = _go_string(item)
            elif item is not None:
                errors.append(_type_error(_kind(item), "NodeID", "string"))
    if errors:
        raise errors[0]
    return ApplyRequest(meta, node_id)
