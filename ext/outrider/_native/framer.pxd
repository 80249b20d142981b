# Nomad StreamFrame encoder (framer.pyx); pure twin: outrider/stream/framer_py.py.

cdef enum:
    # Raw bytes per frame at most: the reference's streamFrameSize (client/fs_endpoint.go).
    MAX_FRAME_DATA_C = 65536

cdef Py_ssize_t _uint_len(unsigned long long value) noexcept nogil
cdef Py_ssize_t _put_uint(char *dst, unsigned long long value) noexcept nogil
