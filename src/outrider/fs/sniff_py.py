"""Pure-Python port of Go's ``net/http.DetectContentType`` (``net/http/sniff.go``).

This is the reference twin of ``outrider._native.sniff``. The signature table
keeps Go's order and kinds (exact, masked, html, mp4, text) so the two can be
read side by side; the first signature that matches wins.
"""

from __future__ import annotations

SNIFF_LEN = 512

_CT_HTML = "text/html; charset=utf-8"
_CT_TEXT = "text/plain; charset=utf-8"
_CT_OCTET = "application/octet-stream"

_WS = frozenset(b"\t\n\x0c\r ")
# Go's textSig: any of these bytes makes the sample binary.
_BINARY = frozenset([*range(0x00, 0x09), 0x0B, *range(0x0E, 0x1B), *range(0x1C, 0x20)])


class _Exact:
    __slots__ = ("ct", "sig")

    def __init__(self, sig: bytes, ct: str) -> None:
        self.sig = sig
        self.ct = ct

    def match(self, data: bytes, first_non_ws: int) -> str:
        return self.ct if data.startswith(self.sig) else ""


class _Masked:
    __slots__ = ("ct", "mask", "pat", "skip_ws")

    def __init__(self, mask: bytes, pat: bytes, ct: str, skip_ws: bool = False) -> None:
        self.mask = mask
        self.pat = pat
        self.ct = ct
        self.skip_ws = skip_ws

    def match(self, data: bytes, first_non_ws: int) -> str:
        if self.skip_ws:
            data = data[first_non_ws:]
        if len(data) < len(self.pat):
            return ""
        for db, mb, pb in zip(data, self.mask, self.pat, strict=False):
            if db & mb != pb:
                return ""
        return self.ct


class _Html:
    __slots__ = ("tag",)

    def __init__(self, tag: bytes) -> None:
        self.tag = tag

    def match(self, data: bytes, first_non_ws: int) -> str:
        tag = self.tag
        data = data[first_non_ws:]
        if len(data) < len(tag) + 1:
            return ""
        # Go masks the data byte with 0xDF where the tag has an upper-case
        # letter and compares other bytes exactly. bytes.upper() only maps
        # a-z, so it gives the same answer on every position.
        if data[: len(tag)].upper() != tag:
            return ""
        # The tag must end with a tag-terminating byte: space or '>'.
        return _CT_HTML if data[len(tag)] in (0x20, 0x3E) else ""


class _Mp4:
    __slots__ = ()

    def match(self, data: bytes, first_non_ws: int) -> str:
        # WHATWG mimesniff 6.2.1: walk the ftyp box brands in 4-byte steps.
        if len(data) < 12:
            return ""
        box_size = int.from_bytes(data[:4], "big")
        if len(data) < box_size or box_size % 4 != 0:
            return ""
        if data[4:8] != b"ftyp":
            return ""
        for st in range(8, box_size, 4):
            if st == 12:
                # The major brand's minor version number.
                continue
            if data[st : st + 3] == b"mp4":
                return "video/mp4"
        return ""


class _Text:
    __slots__ = ()

    def match(self, data: bytes, first_non_ws: int) -> str:
        if _BINARY.isdisjoint(data[first_non_ws:]):
            return _CT_TEXT
        return ""


_FF4 = b"\xff\xff\xff\xff"
_RIFF_MASK = _FF4 + b"\x00\x00\x00\x00" + _FF4

_SIGNATURES: tuple[_Exact | _Masked | _Html | _Mp4 | _Text, ...] = (
    *(
        _Html(tag)
        for tag in (
            b"<!DOCTYPE HTML",
            b"<HTML",
            b"<HEAD",
            b"<SCRIPT",
            b"<IFRAME",
            b"<H1",
            b"<DIV",
            b"<FONT",
            b"<TABLE",
            b"<A",
            b"<STYLE",
            b"<TITLE",
            b"<B",
            b"<BODY",
            b"<BR",
            b"<P",
            b"<!--",
        )
    ),
    _Masked(b"\xff" * 5, b"<?xml", "text/xml; charset=utf-8", skip_ws=True),
    _Exact(b"%PDF-", "application/pdf"),
    _Exact(b"%!PS-Adobe-", "application/postscript"),
    # UTF byte-order marks: 4-byte patterns, so a bare 2- or 3-byte BOM misses.
    _Masked(b"\xff\xff\x00\x00", b"\xfe\xff\x00\x00", "text/plain; charset=utf-16be"),
    _Masked(b"\xff\xff\x00\x00", b"\xff\xfe\x00\x00", "text/plain; charset=utf-16le"),
    _Masked(b"\xff\xff\xff\x00", b"\xef\xbb\xbf\x00", _CT_TEXT),
    # Images.
    _Exact(b"\x00\x00\x01\x00", "image/x-icon"),
    _Exact(b"\x00\x00\x02\x00", "image/x-icon"),
    _Exact(b"BM", "image/bmp"),
    _Exact(b"GIF87a", "image/gif"),
    _Exact(b"GIF89a", "image/gif"),
    _Masked(_RIFF_MASK + b"\xff\xff", b"RIFF\x00\x00\x00\x00WEBPVP", "image/webp"),
    _Exact(b"\x89PNG\r\n\x1a\n", "image/png"),
    _Exact(b"\xff\xd8\xff", "image/jpeg"),
    # Audio and video, in the order mimesniff prescribes.
    _Masked(_RIFF_MASK, b"FORM\x00\x00\x00\x00AIFF", "audio/aiff"),
    _Masked(b"\xff\xff\xff", b"ID3", "audio/mpeg"),
    _Masked(b"\xff" * 5, b"OggS\x00", "application/ogg"),
    _Masked(b"\xff" * 8, b"MThd\x00\x00\x00\x06", "audio/midi"),
    _Masked(_RIFF_MASK, b"RIFF\x00\x00\x00\x00AVI ", "video/avi"),
    _Masked(_RIFF_MASK, b"RIFF\x00\x00\x00\x00WAVE", "audio/wave"),
    _Mp4(),
    _Exact(b"\x1a\x45\xdf\xa3", "video/webm"),
    # Fonts. Embedded OpenType: 34 ignored bytes, then "LP".
    _Masked(b"\x00" * 34 + b"\xff\xff", b"\x00" * 34 + b"LP", "application/vnd.ms-fontobject"),
    _Exact(b"\x00\x01\x00\x00", "font/ttf"),
    _Exact(b"OTTO", "font/otf"),
    _Exact(b"ttcf", "font/collection"),
    _Exact(b"wOFF", "font/woff"),
    _Exact(b"wOF2", "font/woff2"),
    # Archives. RAR uses RAR Labs' signatures, as Go does.
    _Exact(b"\x1f\x8b\x08", "application/x-gzip"),
    _Exact(b"PK\x03\x04", "application/zip"),
    _Exact(b"Rar!\x1a\x07\x00", "application/x-rar-compressed"),
    _Exact(b"Rar!\x1a\x07\x01\x00", "application/x-rar-compressed"),
    _Exact(b"\x00asm", "application/wasm"),
    _Text(),
)


def detect_content_type(data: bytes | bytearray | memoryview) -> str:
    """Go ``http.DetectContentType`` over the first 512 bytes of ``data``.

    Always returns a MIME type; ``application/octet-stream`` when nothing
    more specific matches, ``text/plain; charset=utf-8`` for empty input.
    """
    sample = bytes(data[:SNIFF_LEN])
    first_non_ws = 0
    while first_non_ws < len(sample) and sample[first_non_ws] in _WS:
        first_non_ws += 1
    for sig in _SIGNATURES:
        ct = sig.match(sample, first_non_ws)
        if ct:
            return ct
    return _CT_OCTET
