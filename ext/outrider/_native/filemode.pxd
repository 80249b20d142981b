# Go os.FileMode.String() for Linux st_mode values (Go io/fs).

cpdef str file_mode_string(object st_mode)

# C-level entry for native callers holding a raw st_mode.
cdef str mode_string_raw(unsigned int st_mode)
