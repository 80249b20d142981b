"""Directory listing with each entry's ``lstat`` (compiled twin of ``outrider.fs.listing_py``)."""

from outrider.fs.listing_py import Entry

def list_dir(dir_fd: int) -> list[Entry]:
    """The entries of the directory open at ``dir_fd``, sorted by name bytes, each with its ``lstat``."""
