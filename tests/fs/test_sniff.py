"""Go ``http.DetectContentType`` port (``net/http/sniff.go``) and Nomad's ``wrapUntrustedContent`` rule.

Every table test runs on each implementation; hypothesis checks that native
and pure agree on random input, bare and behind every signature.
"""

from __future__ import annotations

from types import ModuleType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outrider.fs import sniff
from tests import twins
from tests.twins import TWINS, pick

HTML = "text/html; charset=utf-8"
TEXT = "text/plain; charset=utf-8"
OCTET = "application/octet-stream"


@pytest.fixture(scope="module", params=TWINS)
def impl(request: pytest.FixtureRequest) -> ModuleType:
    return pick(sniff.IMPLEMENTATIONS, request.param, "sniff")


@pytest.fixture(scope="module")
def both() -> tuple[ModuleType, ModuleType]:
    return twins.both(sniff.IMPLEMENTATIONS, "sniff")


# Go's own net/http sniff_test.go table.
GO_TABLE = [
    (b"", TEXT),
    (b"\x01\x02\x03", OCTET),
    (b"<HtMl><bOdY>blah blah blah</body></html>", HTML),
    (b"<HTML></HTML>", HTML),
    (b"   <!DOCTYPE HTML>...", HTML),
    (b"\r\n<html>...", HTML),
    ("This is not HTML. It has ☃ though.".encode(), TEXT),
    (b"\n<?xml!", "text/xml; charset=utf-8"),
    (b"\x00\x00\x01\x00", "image/x-icon"),
    (b"\x00\x00\x02\x00", "image/x-icon"),
    (b"BM...", "image/bmp"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a...", "image/gif"),
    (b"RIFF\x00\x00\x00\x00WEBPVP", "image/webp"),
    (b"\x89PNG\x0d\x0a\x1a\x0a", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"MThd\x00\x00\x00\x06\x00\x01", "audio/midi"),
    (b"ID3\x03\x00\x00\x00\x00\x0f", "audio/mpeg"),
    (b"RIFFb\xb8\x00\x00WAVEfmt \x12\x00\x00\x00\x06", "audio/wave"),
    (b"RIFF,\x00\x00\x00WAVEfmt \x12\x00\x00\x00\x06", "audio/wave"),
    (
        b"FORM\x00\x00\x00\x00AIFFCOMM\x00\x00\x00\x12\x00\x01\x00\x00\x57\x55\x00\x10\x40\x0d\xf3\x34",
        "audio/aiff",
    ),
    (
        b"OggS\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00\x7e\x46\x00\x00\x00\x00\x00\x00\x1f\xf6\xb4\xfc"
        b"\x01\x1e\x01\x76\x6f\x72",
        "application/ogg",
    ),
    (b"owow\x00", OCTET),
    (b"oooS\x00", OCTET),
    (b"oggS\x00", OCTET),
    (b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom<\x06t\xbfmdat", "video/mp4"),
    (b"RIFF,O\n\x00AVI LIST\xc3\x80", "video/avi"),
    (b"RIFF,\n\x00\x00AVI LIST\xc3\x80", "video/avi"),
    (b"\x00\x01\x00\x00\x00\x17\x01\x00\x00\x04\x01\x60\x4f", "font/ttf"),
    (b"\x00\x01\x00\x00\x00\x0e\x00\x80\x00\x03\x00\x60\x46", "font/ttf"),
    (b"\x4f\x54\x54\x4f\x00\x0e\x00\x80\x00\x03\x00\x60\x42\x41\x53\x45", "font/otf"),
    (b"\x77\x4f\x46\x46\x00\x01\x00\x00\x00\x00\x30\x54\x00\x0d\x00\x00", "font/woff"),
    (b"\x77\x4f\x46\x32\x00\x01\x00\x00\x00", "font/woff2"),
    (b"\x00\x61\x73\x6d\x01\x00", "application/wasm"),
    (b"Rar!\x1a\x07\x00", "application/x-rar-compressed"),
    (b"Rar!\x1a\x07\x01\x00", "application/x-rar-compressed"),
    (b"Rar \x1a\x07\x00", OCTET),
    (b"Rar \x1a\x07\x01\x00", OCTET),
]


@pytest.mark.parametrize(("data", "expected"), GO_TABLE)
def test_go_table(impl: ModuleType, data: bytes, expected: str) -> None:
    assert impl.detect_content_type(data) == expected


# One example per signature of Go's ``net/http/sniff.go``, plus the boundaries of each rule.
EDGE_CASES = [
    # html: every tag, any case, needs a tag-terminating byte (space or '>').
    *[(tag + b">", HTML) for tag in (b"<!DOCTYPE HTML", b"<HEAD", b"<SCRIPT", b"<IFRAME", b"<H1")],
    *[(tag + b" x", HTML) for tag in (b"<div", b"<FONT", b"<table", b"<a", b"<Style", b"<TITLE")],
    *[(tag + b">", HTML) for tag in (b"<b", b"<body", b"<br", b"<p", b"<!--")],
    (b"<!-->", HTML),
    (b"<!-- comment -->", HTML),
    (b"<!--x-->", TEXT),
    (b"<html", TEXT),
    (b"<htmlx>", TEXT),
    (b"<html\t>", TEXT),
    (b"<h2>", TEXT),
    (b"<!doctype html>", HTML),
    (b"<!DOCTYPE  HTML>", TEXT),
    (b" \t\n\x0c\r<p>", HTML),
    (b"\x0b<p>", OCTET),
    (b"<\xc8TML>", TEXT),
    (b"<script>alert(document.domain);</script>", HTML),
    # xml: after whitespace, case-sensitive, no terminator needed.
    (b"<?xml", "text/xml; charset=utf-8"),
    (b"  <?xml version='1.0'?>", "text/xml; charset=utf-8"),
    (b"<?XML", TEXT),
    # Exact prefixes do not skip whitespace.
    (b"%PDF-1.7", "application/pdf"),
    (b" %PDF-1.7", TEXT),
    (b"%!PS-Adobe-3.0", "application/postscript"),
    (b"%!PS-Adobe", TEXT),
    # BOMs: Go's patterns are 4 bytes, so a lone BOM sniffs as text.
    (b"\xfe\xff\x00a", "text/plain; charset=utf-16be"),
    (b"\xff\xfe\x00\x00", "text/plain; charset=utf-16le"),
    (b"\xef\xbb\xbfhi", TEXT),
    (b"\xfe\xff", TEXT),
    (b"\xff\xfe\x00", OCTET),
    (b"\xef\xbb\xbf", TEXT),
    # Images and media.
    (b"\x89PNG\r\n\x1a", OCTET),
    (b"RIFF\x00\x00\x00\x00WEBPV", OCTET),
    (b"RIFFabcdWEBPVP8 ", "image/webp"),
    (b"FORMxxxxAIFF", "audio/aiff"),
    (b"FORMxxxxAIF", TEXT),
    (b"OggS", TEXT),
    (b"MThd\x00\x00\x00\x07", OCTET),
    (b"RIFFxxxxAVI ", "video/avi"),
    (b"RIFFxxxxWAVE", "audio/wave"),
    (b"\x1a\x45\xdf\xa3", "video/webm"),
    # mp4: box size multiple of 4 and within the sample; brand at 12 is skipped.
    (b"\x00\x00\x00\x0cftypmp41", "video/mp4"),
    (b"\x00\x00\x00\x10ftypisomXXXXmp42", OCTET),
    (b"\x00\x00\x00\x14ftypisomXXXXmp42", "video/mp4"),
    (b"\x00\x00\x00\x10ftypisommp42mp42", OCTET),
    (b"\x00\x00\x00\x0dftypmp41\x00", OCTET),
    (b"\x00\x00\x01\x00ftypmp41", "image/x-icon"),
    (b"\x00\x00\x00\x40ftypmp41", OCTET),
    (b"\x00\x00\x00\x00ftypmp41", OCTET),
    (b"\x00\x00\x00\x0cftypmp4", OCTET),
    # Fonts.
    (b"\x00" * 34 + b"LP", "application/vnd.ms-fontobject"),
    (b"a" * 34 + b"LP, plain text", "application/vnd.ms-fontobject"),
    (b"\x00" * 34 + b"L", OCTET),
    (b"ttcf", "font/collection"),
    # Archives.
    (b"\x1f\x8b\x08\x00", "application/x-gzip"),
    (b"\x1f\x8b\x07", OCTET),
    (b"PK\x03\x04", "application/zip"),
    (b"PK\x05\x06", OCTET),
    (b"PK\x03", OCTET),
    # Text versus binary.
    (b'{"a": 1}\n', TEXT),
    (b"\x1b[31mred\x1b[0m", TEXT),
    (b"tab\tnl\nff\x0ccr\r", TEXT),
    (b"\x7f\x80\xff", TEXT),
    (b"a\x00b", OCTET),
    (b"a\x1cb", OCTET),
    (b"a" * 511 + b"\x00", OCTET),
    (b"a" * 512 + b"\x00", TEXT),
    (b" " * 512 + b"<html>", TEXT),
    (b" " * 506 + b"<html>", HTML),
    (b" " * 507 + b"<html>", TEXT),
]


@pytest.mark.parametrize(("data", "expected"), EDGE_CASES)
def test_edge_cases(impl: ModuleType, data: bytes, expected: str) -> None:
    assert impl.detect_content_type(data) == expected


def test_buffer_types(impl: ModuleType) -> None:
    data = b"xx<html>yy"
    assert impl.detect_content_type(bytearray(data[2:])) == HTML
    assert impl.detect_content_type(memoryview(data)[2:]) == HTML
    assert impl.detect_content_type(memoryview(b"<XhXtXmXlX>X")[::2]) == HTML
    assert impl.detect_content_type(memoryview(b"")) == TEXT


def test_rejects_str(impl: ModuleType) -> None:
    with pytest.raises(TypeError):
        impl.detect_content_type("<html>")


def test_selector_exports_active_implementation() -> None:
    assert "pure" in sniff.IMPLEMENTATIONS
    assert sniff.detect_content_type in {m.detect_content_type for m in sniff.IMPLEMENTATIONS.values()}


@pytest.mark.parametrize(
    ("sniffed", "expected"),
    [
        (HTML, "text/plain"),
        ("text/html", "text/plain"),
        ("text/xhtml", "text/plain"),
        ("text/xhtml+xml; charset=utf-8", "text/plain"),
        (TEXT, TEXT),
        ("text/xml; charset=utf-8", "text/xml; charset=utf-8"),
        ("image/png", "image/png"),
        (OCTET, OCTET),
    ],
)
def test_untrusted_content_type(sniffed: str, expected: str) -> None:
    assert sniff.untrusted_content_type(sniffed) == expected


def test_untrusted_script_file_is_plain_text(impl: ModuleType) -> None:
    # Nomad's TestHTTP_FS_Cat_XSS body.
    body = b"<script>alert(document.domain);</script>"
    assert sniff.untrusted_content_type(impl.detect_content_type(body)) == "text/plain"


SIGNATURES = [
    b"%PDF-",
    b"%!PS-Adobe-",
    b"\xfe\xff",
    b"\xff\xfe",
    b"\xef\xbb\xbf",
    b"\x00\x00\x01\x00",
    b"\x00\x00\x02\x00",
    b"BM",
    b"GIF87a",
    b"GIF89a",
    b"RIFF",
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff",
    b"FORM",
    b"ID3",
    b"OggS\x00",
    b"MThd\x00\x00\x00\x06",
    b"\x1a\x45\xdf\xa3",
    b"\x00\x01\x00\x00",
    b"OTTO",
    b"ttcf",
    b"wOFF",
    b"wOF2",
    b"\x1f\x8b\x08",
    b"PK\x03\x04",
    b"Rar!\x1a\x07\x00",
    b"Rar!\x1a\x07\x01\x00",
    b"\x00asm",
    b"\x00" * 34 + b"LP",
]
TAGS = [
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
    b"<?xml",
]
RIFF_KINDS = [b"WEBPVP", b"AVI ", b"WAVE", b"AIFF"]


@st.composite
def mixed_case(draw: st.DrawFn, tag: bytes) -> bytes:
    flips = draw(st.lists(st.booleans(), min_size=len(tag), max_size=len(tag)))
    return bytes(b ^ 0x20 if flip and 0x41 <= b <= 0x5A else b for b, flip in zip(tag, flips, strict=True))


@st.composite
def near_signature(draw: st.DrawFn) -> bytes:
    """Random bytes behind a signature, a whitespace-led tag, a RIFF/FORM header or an ftyp box."""
    tail = draw(st.binary(max_size=600))
    kind = draw(st.sampled_from(["sig", "tag", "riff", "mp4"]))
    if kind == "sig":
        return draw(st.sampled_from(SIGNATURES)) + tail
    if kind == "tag":
        ws = draw(st.text(alphabet="\t\n\x0c\r \x0b", max_size=4)).encode()
        tag = draw(mixed_case(draw(st.sampled_from(TAGS))))
        end = draw(st.sampled_from([b" ", b">", b"", b"x", b"\t"]))
        return ws + tag + end + tail
    if kind == "riff":
        head = draw(st.sampled_from([b"RIFF", b"FORM"]))
        return head + draw(st.binary(min_size=4, max_size=4)) + draw(st.sampled_from(RIFF_KINDS)) + tail
    # Mostly well-formed sizes (multiples of 4), sometimes anything.
    size = draw(st.one_of(st.integers(2, 16).map(lambda k: 4 * k), st.integers(0, 80)))
    brands = draw(st.lists(st.sampled_from([b"mp41", b"mp42", b"isom", b"avc1", b"mp4\x00"]), max_size=12))
    return size.to_bytes(4, "big") + b"ftyp" + b"".join(brands) + tail


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=1100))
def test_parity_random_bytes(both: tuple[ModuleType, ModuleType], data: bytes) -> None:
    native, pure = both
    assert native.detect_content_type(data) == pure.detect_content_type(data)


@settings(max_examples=600, deadline=None)
@given(near_signature())
def test_parity_near_signatures(both: tuple[ModuleType, ModuleType], data: bytes) -> None:
    native, pure = both
    assert native.detect_content_type(data) == pure.detect_content_type(data)
    assert native.detect_content_type(memoryview(data)) == pure.detect_content_type(bytearray(data))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=100), st.binary(max_size=600))
def test_only_first_512_bytes_matter(both: tuple[ModuleType, ModuleType], head: bytes, tail: bytes) -> None:
    head = (head * 6)[:512].ljust(512, b"a")
    for impl in both:
        assert impl.detect_content_type(head + tail) == impl.detect_content_type(head)
