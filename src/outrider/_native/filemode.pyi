"""Go ``os.FileMode.String()`` for Linux modes, compiled (pure twin: ``outrider.fs.filemode_py``)."""

def file_mode_string(st_mode: int) -> str:
    """Render a Linux ``st_mode`` the way Go's ``os.FileMode.String()`` does.

    Type letters come first in Go's order ``d a l T L D p S u g c t ?`` (a
    directory is ``d``, a symlink ``L``, a FIFO ``p``, a socket ``S``, a block
    device ``D``, a character device ``D`` plus ``c``, setuid ``u``, setgid
    ``g``, sticky ``t``), then ``rwxrwxrwx`` with ``-`` for each clear bit. A
    single ``-`` leads when there is no type letter, e.g. ``-rw-r--r--``.

    Only the low 16 bits of ``st_mode`` are read; an unknown file type adds no
    letter, as in Go's ``stat_linux.go``.
    """
