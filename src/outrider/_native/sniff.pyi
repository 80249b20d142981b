"""Go ``net/http.DetectContentType``, compiled (pure twin: ``outrider.fs.sniff_py``)."""

def detect_content_type(data: bytes | bytearray | memoryview) -> str:
    """Sniff the MIME type of ``data`` exactly as Go's ``http.DetectContentType`` does.

    Only the first 512 bytes are examined. Signatures are tried in Go's order
    (html tags and ``<?xml`` after leading whitespace, then exact and masked
    binary signatures, the mp4 ``ftyp`` box walk, fonts and archives); when
    none matches the result is ``text/plain; charset=utf-8`` if no byte is a
    binary control byte, else ``application/octet-stream``. Empty input gives
    ``text/plain; charset=utf-8``.

    ``data`` may be any one-dimensional buffer of unsigned bytes, strided or not.
    """
