"""Request bodies decoded with Go ``encoding/json`` semantics, for every endpoint that reads JSON.

What is kept from Go's decoder: only the first JSON value is read (trailing
bytes are never looked at), object keys match struct fields case-insensitively
(with Go's folding: the long s U+017F is ``s`` and the Kelvin sign is ``k``), unknown keys
are ignored, a repeated key is decoded again (the last one wins), ``null``
leaves a scalar field unchanged, decoding goes on after a type mismatch and the
first mismatch is reported at the end, with Go's wording. What is not: Go's
syntax error texts; those are replaced by Python's description with the offset.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from outrider.gostrconv import fold_ascii

__all__ = [
    "GoJSONError",
    "Pairs",
    "StructDecoder",
    "go_string",
    "kind_of",
    "parse_first_value",
]


class GoJSONError(ValueError):
    """The body cannot be decoded; ``str()`` is the error text Nomad answers with."""


class Pairs(list):  # type: ignore[type-arg]
    """A decoded JSON object: its (key, value) pairs in document order, duplicates kept."""


def _reject_constant(name: str) -> Any:
    # Python's decoder accepts NaN and Infinity; JSON (and Go) do not.
    if name.startswith("-"):
        raise ValueError("invalid character 'I' in numeric literal")
    raise ValueError(f"invalid character {name[0]!r} looking for beginning of value")


_WHITESPACE = " \t\n\r"
_DECODER = json.JSONDecoder(object_pairs_hook=Pairs, parse_constant=_reject_constant)
# Python's decoder pairs valid surrogate escapes itself, so any left in a string are unpaired.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def kind_of(value: object) -> str:
    """Go's name for a JSON value's kind, as its UnmarshalTypeError prints it."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Pairs):
        return "object"
    if isinstance(value, list):
        return "array"
    return "null"


def go_string(text: str) -> str:
    """Go's decoder turns an unpaired surrogate escape (``\\ud800``) into U+FFFD; Python's keeps it."""
    return _LONE_SURROGATE.sub("\ufffd", text)


def parse_first_value(raw: bytes) -> object:
    """The first JSON value of ``raw``; ``EOF`` when there is none, ``unexpected EOF`` when it is cut short."""
    # Go replaces invalid UTF-8 inside strings with U+FFFD; elsewhere it is a syntax error either way.
    text = raw.decode("utf-8", "replace")
    start = len(text) - len(text.lstrip(_WHITESPACE))
    if start == len(text):
        raise GoJSONError("EOF")
    try:
        value, _end = _DECODER.raw_decode(text, start)
    except RecursionError:
        # Go's scanner gives up at 10000 levels with this text; Python's decoder at about 1000.
        raise GoJSONError("exceeded max depth") from None
    except json.JSONDecodeError as exc:
        if exc.pos >= len(text):
            raise GoJSONError("unexpected EOF") from None
        raise GoJSONError(f"invalid JSON at offset {exc.pos}: {exc.msg}") from None
    except ValueError as exc:
        raise GoJSONError(str(exc)) from None
    return value


class StructDecoder:
    """Decodes one JSON object into named Go struct fields, keeping Go's matching and error rules.

    ``fields`` are the Go field names (ASCII). Use :meth:`items` to walk the
    pairs that name a field, and the typed helpers to convert each value; the
    first type mismatch is raised by :meth:`finish`.
    """

    def __init__(self, package: str, struct: str, fields: tuple[str, ...]) -> None:
        self.package = package
        self.struct = struct
        self._by_fold = {name.lower(): name for name in fields}
        self._errors: list[GoJSONError] = []

    def items(self, value: object) -> Iterator[tuple[str, object]]:
        """``(field, value)`` for each key of ``value`` that names a field, in document order."""
        if value is None:
            return
        if not isinstance(value, Pairs):
            raise GoJSONError(
                f"json: cannot unmarshal {kind_of(value)} into Go value of type {self.package}.{self.struct}"
            )
        for key, item in value:
            folded = fold_ascii(key)
            field = self._by_fold.get(folded) if folded is not None else None
            if field is not None:
                yield field, item

    def mismatch(self, value: object, field: str, go_type: str) -> None:
        self._errors.append(
            GoJSONError(
                f"json: cannot unmarshal {kind_of(value)} into Go struct field "
                f"{self.struct}.{field} of type {go_type}"
            )
        )

    def string(self, value: object, field: str, current: str) -> str:
        if value is None:
            return current
        if isinstance(value, str):
            return go_string(value)
        self.mismatch(value, field, "string")
        return current

    def boolean(self, value: object, field: str, current: bool) -> bool:
        if value is None:
            return current
        if isinstance(value, bool):
            return value
        self.mismatch(value, field, "bool")
        return current

    def strings(self, value: object, field: str, current: list[str] | None) -> list[str] | None:
        """A ``[]string``: ``null`` resets it, each element is checked on its own."""
        if value is None:
            return None
        if not isinstance(value, list) or isinstance(value, Pairs):
            self.mismatch(value, field, "[]string")
            return current
        out = []
        for item in value:
            out.append(self.string(item, field, ""))
        return out

    def finish(self) -> None:
        """Raise the first type mismatch met, as Go's decoder does once it reached the end."""
        if self._errors:
            raise self._errors[0]
