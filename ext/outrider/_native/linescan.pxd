# Backward newline scanning (see linescan.pyx; pure twin: outrider/stream/linescan_py.py).

cdef extern from "string.h" nogil:
    void *memrchr(const void *s, int c, size_t n)
