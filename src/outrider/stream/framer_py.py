"""Nomad ``StreamFrame`` encoding, pure-Python reference (twin of ``outrider._native.framer``).

A frame is ``{"Data":<base64>,"File":<str>,"FileEvent":<str>,"Offset":<int>}`` with
keys sorted, empty fields omitted and frames written back to back (``client/lib/streamframer/framer.go``).
Unlike the reference, every frame's ``Offset`` is the true file offset just past
its last data byte (``client/fs_endpoint.go`` ``streamFile`` overstates it).
"""

from __future__ import annotations

import re

import orjson
from pybase64 import b64encode

HEARTBEAT = b"{}"
"""The heartbeat frame: an object with every field empty."""

MAX_FRAME_DATA = 65536
"""Raw bytes carried by one frame at most (the reference's ``streamFrameSize``)."""

BytesLike = bytes | bytearray | memoryview

_SURROGATE = re.compile("[\ud800-\udfff]")


def json_string(value: str) -> bytes:
    """Quote ``value`` as a JSON string exactly as Nomad's encoder does (``nomad/structs/handlers.go``).

    ``<``, ``>`` and ``&`` stay as they are, U+2028/U+2029 are escaped, and every
    byte that was not valid UTF-8 (a ``surrogateescape`` code point) becomes ``\\ufffd``.
    """
    parts = (orjson.dumps(part)[1:-1] for part in _SURROGATE.split(value))
    body = b"\\ufffd".join(parts)
    if b"\xe2\x80" in body:
        body = body.replace(b"\xe2\x80\xa8", b"\\u2028").replace(b"\xe2\x80\xa9", b"\\u2029")
    return b'"' + body + b'"'


def check_event(event: str) -> bytes:
    """Return ``event`` as ASCII bytes, refusing text that would need JSON escaping."""
    if not event.isascii() or any(c < " " or c in '"\\\x7f' for c in event):
        raise ValueError(f"frame event must be printable ASCII without quotes: {event!r}")
    return event.encode("ascii")


def encode_frames(data: BytesLike, file_json: bytes, event: str, end_offset: int) -> bytes:
    """Return the frames carrying ``data``, back to back, as one bytes object.

    ``data`` ends at file offset ``end_offset``. It is split into frames of at most
    :data:`MAX_FRAME_DATA` bytes, each stamped with the offset just past its own
    last byte (omitted when 0). ``file_json`` is the already-quoted ``File`` value
    (see :func:`json_string`), or ``b""`` to omit the key. ``event`` goes on the
    first frame only. With no data, the result is an event-only frame when
    ``event`` is set, and empty otherwise (an empty frame would read as a heartbeat).
    """
    view = memoryview(data).cast("B")
    size = view.nbytes
    event_raw = check_event(event) if event else b""
    if end_offset < size:
        raise ValueError(f"end offset {end_offset} is before the start of {size} bytes of data")
    if size == 0:
        return _frame(None, file_json, event_raw, end_offset) if event_raw else b""
    start = end_offset - size
    return b"".join(
        _frame(view[pos : pos + MAX_FRAME_DATA], file_json, event_raw if pos == 0 else b"", start + pos)
        for pos in range(0, size, MAX_FRAME_DATA)
    )


def _frame(piece: memoryview | None, file_json: bytes, event_raw: bytes, piece_start: int) -> bytes:
    fields = []
    offset = piece_start
    if piece is not None:
        fields.append(b'"Data":"' + b64encode(piece) + b'"')
        offset += piece.nbytes
    if file_json:
        fields.append(b'"File":' + file_json)
    if event_raw:
        fields.append(b'"FileEvent":"' + event_raw + b'"')
    if offset:
        fields.append(b'"Offset":%d' % offset)
    return b"{" + b",".join(fields) + b"}"
