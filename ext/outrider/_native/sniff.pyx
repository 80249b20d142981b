# cython: language_level=3
"""Exact port of Go's ``net/http.DetectContentType`` (``net/http/sniff.go``).

The pure-Python twin is ``outrider.fs.sniff_py``; both must agree byte for byte.
Signatures are tested in Go's table order and the first match wins (``net/http/sniff.go``).
"""

from libc.string cimport memcmp

cdef enum:
    SNIFF_LEN = 512

cdef str CT_HTML = "text/html; charset=utf-8"
cdef str CT_XML = "text/xml; charset=utf-8"
cdef str CT_TEXT = "text/plain; charset=utf-8"
cdef str CT_UTF16BE = "text/plain; charset=utf-16be"
cdef str CT_UTF16LE = "text/plain; charset=utf-16le"
cdef str CT_OCTET = "application/octet-stream"

# Go's htmlSig list, in order. "<!--" is an htmlSig too, so it also needs a
# tag-terminating byte after it.
cdef const char* HTML_TAGS[17]
cdef Py_ssize_t HTML_LENS[17]
HTML_TAGS[:] = [
    b"<!DOCTYPE HTML", b"<HTML", b"<HEAD", b"<SCRIPT", b"<IFRAME", b"<H1", b"<DIV", b"<FONT",
    b"<TABLE", b"<A", b"<STYLE", b"<TITLE", b"<B", b"<BODY", b"<BR", b"<P", b"<!--",
]
HTML_LENS[:] = [14, 5, 5, 7, 7, 3, 4, 5, 6, 2, 6, 6, 2, 5, 3, 2, 4]


cdef inline bint _is_ws(unsigned char b) noexcept nogil:
    return b == b'\t' or b == b'\n' or b == 0x0C or b == b'\r' or b == b' '


cdef inline bint _prefix(const unsigned char* d, Py_ssize_t n, const char* sig, Py_ssize_t k) noexcept nogil:
    return n >= k and memcmp(d, sig, k) == 0


cdef inline bint _at(const unsigned char* d, Py_ssize_t n, Py_ssize_t off, const char* sig, Py_ssize_t k) noexcept nogil:
    # A masked signature whose mask is 0xFF over [off, off+k) and 0x00 elsewhere
    # (Go's maskedSig), still requiring the whole pattern length to be present.
    return n >= off + k and memcmp(d + off, sig, k) == 0


cdef bint _html(const unsigned char* d, Py_ssize_t n, const char* tag, Py_ssize_t k) noexcept nogil:
    cdef Py_ssize_t i
    cdef unsigned char b, db
    if n < k + 1:
        return False
    for i in range(k):
        b = <unsigned char>tag[i]
        db = d[i]
        if b'A' <= b <= b'Z':
            db &= 0xDF
        if b != db:
            return False
    return d[k] == b' ' or d[k] == b'>'


cdef bint _mp4(const unsigned char* d, Py_ssize_t n) noexcept nogil:
    # WHATWG mimesniff 6.2.1: walk the ftyp box brands in 4-byte steps,
    # skipping the minor version at offset 12.
    cdef unsigned long long box
    cdef Py_ssize_t st
    if n < 12:
        return False
    box = (<unsigned long long>d[0] << 24) | (<unsigned long long>d[1] << 16) | \
          (<unsigned long long>d[2] << 8) | <unsigned long long>d[3]
    if <unsigned long long>n < box or box % 4 != 0:
        return False
    if memcmp(d + 4, b"ftyp", 4) != 0:
        return False
    st = 8
    while <unsigned long long>st < box:
        if st != 12 and memcmp(d + st, b"mp4", 3) == 0:
            return True
        st += 4
    return False


cdef bint _is_text(const unsigned char* d, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    cdef unsigned char b
    for i in range(n):
        b = d[i]
        if b <= 0x08 or b == 0x0B or 0x0E <= b <= 0x1A or 0x1C <= b <= 0x1F:
            return False
    return True


cdef str detect_raw(const unsigned char* data, Py_ssize_t n):
    cdef Py_ssize_t ws = 0
    cdef Py_ssize_t i, m
    cdef const unsigned char* w
    if n > SNIFF_LEN:
        n = SNIFF_LEN
    while ws < n and _is_ws(data[ws]):
        ws += 1
    # Only the html and xml rules skip leading whitespace.
    w = data + ws
    m = n - ws
    if m > 0 and w[0] == b'<':
        for i in range(17):
            if _html(w, m, HTML_TAGS[i], HTML_LENS[i]):
                return CT_HTML
        if _prefix(w, m, b"<?xml", 5):
            return CT_XML

    if _prefix(data, n, b"%PDF-", 5):
        return "application/pdf"
    if _prefix(data, n, b"%!PS-Adobe-", 11):
        return "application/postscript"

    # Byte-order marks: Go's patterns are 4 bytes long with a zero mask at the
    # end, so a bare 2- or 3-byte BOM does not match.
    if n >= 4:
        if data[0] == 0xFE and data[1] == 0xFF:
            return CT_UTF16BE
        if data[0] == 0xFF and data[1] == 0xFE:
            return CT_UTF16LE
        if data[0] == 0xEF and data[1] == 0xBB and data[2] == 0xBF:
            return CT_TEXT

    if _prefix(data, n, b"\x00\x00\x01\x00", 4) or _prefix(data, n, b"\x00\x00\x02\x00", 4):
        return "image/x-icon"
    if _prefix(data, n, b"BM", 2):
        return "image/bmp"
    if _prefix(data, n, b"GIF87a", 6) or _prefix(data, n, b"GIF89a", 6):
        return "image/gif"
    if _prefix(data, n, b"RIFF", 4) and _at(data, n, 8, b"WEBPVP", 6):
        return "image/webp"
    if _prefix(data, n, b"\x89PNG\r\n\x1a\n", 8):
        return "image/png"
    if _prefix(data, n, b"\xff\xd8\xff", 3):
        return "image/jpeg"

    if _prefix(data, n, b"FORM", 4) and _at(data, n, 8, b"AIFF", 4):
        return "audio/aiff"
    if _prefix(data, n, b"ID3", 3):
        return "audio/mpeg"
    if _prefix(data, n, b"OggS\x00", 5):
        return "application/ogg"
    if _prefix(data, n, b"MThd\x00\x00\x00\x06", 8):
        return "audio/midi"
    if _prefix(data, n, b"RIFF", 4) and _at(data, n, 8, b"AVI ", 4):
        return "video/avi"
    if _prefix(data, n, b"RIFF", 4) and _at(data, n, 8, b"WAVE", 4):
        return "audio/wave"
    if _mp4(data, n):
        return "video/mp4"
    if _prefix(data, n, b"\x1a\x45\xdf\xa3", 4):
        return "video/webm"

    # Embedded OpenType: 34 ignored bytes, then "LP".
    if _at(data, n, 34, b"LP", 2):
        return "application/vnd.ms-fontobject"
    if _prefix(data, n, b"\x00\x01\x00\x00", 4):
        return "font/ttf"
    if _prefix(data, n, b"OTTO", 4):
        return "font/otf"
    if _prefix(data, n, b"ttcf", 4):
        return "font/collection"
    if _prefix(data, n, b"wOFF", 4):
        return "font/woff"
    if _prefix(data, n, b"wOF2", 4):
        return "font/woff2"

    if _prefix(data, n, b"\x1f\x8b\x08", 3):
        return "application/x-gzip"
    if _prefix(data, n, b"PK\x03\x04", 4):
        return "application/zip"
    if _prefix(data, n, b"Rar!\x1a\x07\x00", 7) or _prefix(data, n, b"Rar!\x1a\x07\x01\x00", 8):
        return "application/x-rar-compressed"
    if _prefix(data, n, b"\x00asm", 4):
        return "application/wasm"

    if _is_text(w, m):
        return CT_TEXT
    return CT_OCTET


cpdef str detect_content_type(object data):
    """Go ``http.DetectContentType`` over the first 512 bytes of ``data``."""
    cdef const unsigned char[:] view = data
    cdef Py_ssize_t n = view.shape[0]
    cdef unsigned char buf[SNIFF_LEN]
    cdef Py_ssize_t i
    if n > SNIFF_LEN:
        n = SNIFF_LEN
    if n == 0:
        return CT_TEXT
    if view.strides[0] == 1:
        return detect_raw(&view[0], n)
    # Strided views (e.g. memoryview(b)[::2]) are gathered into a flat copy.
    for i in range(n):
        buf[i] = view[i]
    return detect_raw(buf, n)
