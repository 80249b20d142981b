# Directory listing with each entry's lstat (listing.pyx); pure twin: outrider/fs/listing_py.py.

cpdef list list_dir(int dir_fd)
