"""Decoding a ``POST /v1/client/metadata`` body with Go ``encoding/json`` semantics.

What is kept from Go's decoder: field names match case-insensitively, unknown
fields are ignored, only the first JSON value is read (trailing bytes are never
looked at), a repeated ``Meta`` merges into the map decoded so far while a
``null`` resets it, and type errors use Go's wording. What is not: Go's syntax
error texts; those are replaced by Python's description with the offset.

The reference (``command/agent/meta_endpoint.go``) decodes the body into a struct
that embeds the query options, so ``AuthToken``, ``Region`` and ``Namespace`` in
the body act on the request. Outrider ignores them: a token comes only from the
headers.
"""

from __future__ import annotations

from dataclasses import dataclass

from outrider.gojson import GoJSONError, Pairs, go_string, kind_of, parse_first_value

EMPTY_BODY = "Request body is empty"
_STRUCT = "NodeMetaApplyRequest"


class MetaBodyError(ValueError):
    """The body cannot be decoded; ``str()`` is the 400 response text."""


@dataclass
class ApplyRequest:
    """The decoded body: ``meta`` keeps request order; ``None`` means absent or null."""

    meta: dict[str, str | None] | None
    node_id: str


def _type_error(kind: str, field: str | None, go_type: str) -> MetaBodyError:
    if field is None:
        return MetaBodyError(f"json: cannot unmarshal {kind} into Go value of type structs.{_STRUCT}")
    return MetaBodyError(
        f"json: cannot unmarshal {kind} into Go struct field {_STRUCT}.{field} of type {go_type}"
    )


def _parse_first_value(raw: bytes) -> object:
    try:
        return parse_first_value(raw)
    except GoJSONError as exc:
        raise MetaBodyError(str(exc)) from None


def _merge_meta(
    meta: dict[str, str | None] | None, item: object, errors: list[MetaBodyError]
) -> dict[str, str | None] | None:
    """Decode one ``Meta`` field into the map so far: Go reuses a non-nil map and nulls reset it."""
    if item is None:
        return None
    if not isinstance(item, Pairs):
        errors.append(_type_error(kind_of(item), "Meta", "map[string]*string"))
        return meta
    merged = {} if meta is None else meta
    for key, value in item:
        if value is None or isinstance(value, str):
            merged[go_string(key)] = None if value is None else go_string(value)
        else:
            errors.append(_type_error(kind_of(value), "Meta", "string"))
    return merged


def decode_apply_body(raw: bytes) -> ApplyRequest:
    """Decode the body, or raise :class:`MetaBodyError` with the 400 text."""
    if not raw:
        raise MetaBodyError(EMPTY_BODY)
    value = _parse_first_value(raw)
    if value is None:
        # A top-level null leaves the struct untouched, as in Go.
        return ApplyRequest(None, "")
    if not isinstance(value, Pairs):
        raise _type_error(kind_of(value), None, "")
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
                node_id = go_string(item)
            elif item is not None:
                errors.append(_type_error(kind_of(item), "NodeID", "string"))
    if errors:
        raise errors[0]
    return ApplyRequest(meta, node_id)
