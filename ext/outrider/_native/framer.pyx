# cython: language_level=3
"""Nomad ``StreamFrame`` encoder: many frames assembled straight into one bytes object.

Twin of :mod:`outrider.stream.framer_py`; both must return identical bytes. The
result is allocated once at its exact final size, every frame's keys and offset
are written in place, and each frame's base64 comes from pybase64's SIMD codec.
"""

from cpython.buffer cimport PyBUF_SIMPLE, PyBuffer_Release, PyObject_GetBuffer
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from libc.string cimport memcpy

from pybase64 import b64encode

HEARTBEAT = b"{}"
MAX_FRAME_DATA = MAX_FRAME_DATA_C

cdef bytes _DATA_KEY = b'"Data":"'
cdef bytes _FILE_KEY = b'"File":'
cdef bytes _EVENT_KEY = b'"FileEvent":"'
cdef bytes _OFFSET_KEY = b'"Offset":'


cdef bytes _check_event(str event):
    # Importing the pure twin for this would import outrider.stream, which imports us.
    cdef bytes raw
    cdef unsigned char c
    if event.isascii():
        raw = event.encode("ascii")
        for c in raw:
            if c < 0x20 or c == 0x22 or c == 0x5C or c == 0x7F:
                break
        else:
            return raw
    raise ValueError(f"frame event must be printable ASCII without quotes: {event!r}")


cdef Py_ssize_t _uint_len(unsigned long long value) noexcept nogil:
    cdef Py_ssize_t n = 1
    while value >= 10:
        value //= 10
        n += 1
    return n


cdef Py_ssize_t _put_uint(char *dst, unsigned long long value) noexcept nogil:
    cdef Py_ssize_t n = _uint_len(value)
    cdef Py_ssize_t i = n
    while i > 0:
        i -= 1
        dst[i] = <char>(48 + value % 10)
        value //= 10
    return n


cdef inline char *_put(char *dst, bytes src) noexcept:
    cdef Py_ssize_t n = PyBytes_GET_SIZE(src)
    memcpy(dst, PyBytes_AS_STRING(src), n)
    return dst + n


cdef inline char *_sep(char *dst, bint first) noexcept:
    if not first:
        dst[0] = b","
        return dst + 1
    return dst


cdef Py_ssize_t _frame_len(
    Py_ssize_t data_len, Py_ssize_t file_len, Py_ssize_t event_len, unsigned long long offset,
) noexcept:
    # "{" + fields joined by "," + "}"; each term mirrors one branch of _write_frame.
    cdef Py_ssize_t size = 2
    cdef int fields = 0
    if data_len:
        size += PyBytes_GET_SIZE(_DATA_KEY) + ((data_len + 2) // 3) * 4 + 1
        fields += 1
    if file_len:
        size += PyBytes_GET_SIZE(_FILE_KEY) + file_len
        fields += 1
    if event_len:
        size += PyBytes_GET_SIZE(_EVENT_KEY) + event_len + 1
        fields += 1
    if offset:
        size += PyBytes_GET_SIZE(_OFFSET_KEY) + _uint_len(offset)
        fields += 1
    if fields > 1:
        size += fields - 1
    return size


cdef char *_write_frame(
    char *dst, object piece, bytes file_json, bytes event_raw, unsigned long long offset,
) except NULL:
    cdef bint first = True
    cdef bytes encoded
    dst[0] = b"{"
    dst += 1
    if piece is not None:
        encoded = b64encode(piece)
        dst = _put(dst, _DATA_KEY)
        dst = _put(dst, encoded)
        dst[0] = b'"'
        dst += 1
        first = False
    if PyBytes_GET_SIZE(file_json):
        dst = _sep(dst, first)
        dst = _put(dst, _FILE_KEY)
        dst = _put(dst, file_json)
        first = False
    if PyBytes_GET_SIZE(event_raw):
        dst = _sep(dst, first)
        dst = _put(dst, _EVENT_KEY)
        dst = _put(dst, event_raw)
        dst[0] = b'"'
        dst += 1
        first = False
    if offset:
        dst = _sep(dst, first)
        dst = _put(dst, _OFFSET_KEY)
        dst += _put_uint(dst, offset)
    dst[0] = b"}"
    return dst + 1


def encode_frames(data, bytes file_json, str event, long long end_offset):
    """Return the frames carrying ``data``, back to back, as one bytes object."""
    cdef Py_buffer view
    cdef Py_ssize_t size, pos, piece_len, total
    cdef Py_ssize_t file_len = PyBytes_GET_SIZE(file_json)
    cdef long long start
    cdef bytes event_raw = _check_event(event) if event else b""
    cdef bytes result
    cdef char *dst
    cdef object pieces

    PyObject_GetBuffer(data, &view, PyBUF_SIMPLE)
    try:
        size = view.len
    finally:
        PyBuffer_Release(&view)
    if end_offset < size:
        raise ValueError(f"end offset {end_offset} is before the start of {size} bytes of data")
    if size == 0:
        if not PyBytes_GET_SIZE(event_raw):
            return b""
        total = _frame_len(0, file_len, PyBytes_GET_SIZE(event_raw), <unsigned long long>end_offset)
        result = PyBytes_FromStringAndSize(NULL, total)
        _write_frame(PyBytes_AS_STRING(result), None, file_json, event_raw, <unsigned long long>end_offset)
        return result
    start = end_offset - size
    total = 0
    pos = 0
    while pos < size:
        piece_len = min(MAX_FRAME_DATA_C, size - pos)
        total += _frame_len(piece_len, file_len, PyBytes_GET_SIZE(event_raw) if pos == 0 else 0,
                            <unsigned long long>(start + pos + piece_len))
        pos += piece_len
    result = PyBytes_FromStringAndSize(NULL, total)
    dst = PyBytes_AS_STRING(result)
    # One frame: hand the caller's object to the codec as is; slicing is only needed to split.
    pieces = data if size <= MAX_FRAME_DATA_C else memoryview(data).cast("B")
    pos = 0
    while pos < size:
        piece_len = min(MAX_FRAME_DATA_C, size - pos)
        dst = _write_frame(dst, pieces if piece_len == size else pieces[pos:pos + piece_len], file_json,
                           event_raw if pos == 0 else b"", <unsigned long long>(start + pos + piece_len))
        pos += piece_len
    return result
