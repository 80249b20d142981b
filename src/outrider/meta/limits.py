"""Bounds on the dynamic node metadata, so that clients cannot grow it without end.

Nomad sets none; every metadata read and every node view carries the whole map,
so an unbounded one makes each of them as large as the largest writer wanted.
Sizes are UTF-8 bytes. Each key and value of a request is checked on its own,
then the dynamic map as the request would leave it (tombstones of static keys
count as keys): a request that only removes keys always fits.
"""

from __future__ import annotations

from collections.abc import Mapping

from outrider.gostrconv import quote
from outrider.meta.keys import MetaValidationError

MAX_KEY_BYTES = 256
MAX_VALUE_BYTES = 64 * 1024
MAX_KEYS = 1024
MAX_TOTAL_BYTES = 1024 * 1024
# A body holding the largest map, with room for JSON's escapes; decoding a bigger one
# (hundreds of thousands of tiny keys) would take the better part of a second.
MAX_BODY_BYTES = 2 * MAX_TOTAL_BYTES

_SHOWN = 64  # characters of an over-long key named in the error text


class MetaLimitError(MetaValidationError):
    """A request past one of the bounds; ``str()`` is the 400 response text."""


def _shown(key: str) -> str:
    return quote(key if len(key) <= _SHOWN else key[:_SHOWN] + "…")


def _size(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def check_entries(changes: Mapping[str, str | None]) -> None:
    """Refuse a request naming too many keys, then its first key or value (in request order) too long."""
    if len(changes) > MAX_KEYS:
        raise MetaLimitError(
            f"a metadata request may name at most {MAX_KEYS} keys; this one names {len(changes)}"
        )
    for key, value in changes.items():
        size = _size(key)
        if size > MAX_KEY_BYTES:
            raise MetaLimitError(
                f"metadata key {_shown(key)} is {size} bytes long; the limit is {MAX_KEY_BYTES} bytes"
            )
        if value is not None:
            size = _size(value)
            if size > MAX_VALUE_BYTES:
                raise MetaLimitError(
                    f"metadata value of {_shown(key)} is {size} bytes long; "
                    f"the limit is {MAX_VALUE_BYTES} bytes"
                )


def check_map(dynamic: Mapping[str, str | None]) -> None:
    """Refuse a dynamic map with too many keys or too many bytes of keys and values."""
    if len(dynamic) > MAX_KEYS:
        raise MetaLimitError(f"dynamic metadata would hold {len(dynamic)} keys; the limit is {MAX_KEYS} keys")
    total = sum(_size(k) + (0 if v is None else _size(v)) for k, v in dynamic.items())
    if total > MAX_TOTAL_BYTES:
        raise MetaLimitError(
            f"dynamic metadata would hold {total} bytes of keys and values; "
            f"the limit is {MAX_TOTAL_BYTES} bytes"
        )
