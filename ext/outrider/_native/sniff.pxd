# Go net/http DetectContentType (net/http/sniff.go): declarations shared with other native modules.

cpdef str detect_content_type(object data)

# Sniff a raw buffer without touching Python objects, for native callers that
# already hold the first bytes of a file (readat, cat).
cdef str detect_raw(const unsigned char* data, Py_ssize_t n)
