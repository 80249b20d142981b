"""Nomad ``StreamFrame`` encoder (compiled twin of ``outrider.stream.framer_py``)."""

from outrider.stream.framer_py import BytesLike

HEARTBEAT: bytes
"""The heartbeat frame, ``b"{}"``."""

MAX_FRAME_DATA: int
"""Raw bytes carried by one frame at most (65536)."""

def encode_frames(data: BytesLike, file_json: bytes, event: str, end_offset: int) -> bytes:
    """Return the frames carrying ``data``, back to back, as one bytes object.

    Args:
        data: the raw bytes read from the file; any contiguous buffer.
        file_json: the ``File`` value already quoted as a JSON string
            (``outrider.stream.framer.json_string``), or ``b""`` to omit the key.
        event: ``FileEvent`` for the first frame (``"file truncated"``,
            ``"file deleted"``), or ``""``. Must be printable ASCII without quotes.
        end_offset: the file offset just past the last byte of ``data``.

    Returns:
        ``{"Data":…,"File":…,"FileEvent":…,"Offset":…}`` frames with keys sorted and
        empty fields omitted, each carrying at most 65536 raw bytes and stamped with
        its own true end offset (omitted when 0). With no data: an event-only frame
        when ``event`` is set, else ``b""``.

    Raises:
        ValueError: ``end_offset`` is smaller than ``len(data)``, or ``event`` needs escaping.
        TypeError: ``data`` does not support the buffer protocol.
    """
