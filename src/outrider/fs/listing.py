"""Directory listings for ``fs/ls`` (Nomad's ``AllocDir.List``): names with their ``lstat`` in one call.

Exports the active :func:`list_dir` (native when built, unless ``OUTRIDER_PURE=1``)
and ``IMPLEMENTATIONS``. The native twin reads the directory and stats every
entry without building a ``DirEntry`` and a ``stat_result`` per name.
"""

from __future__ import annotations

from collections.abc import Callable

from outrider import _impl
from outrider.fs import listing_py
from outrider.fs.listing_py import Entry

_active, IMPLEMENTATIONS = _impl.select("listing", listing_py)

list_dir: Callable[[int], list[Entry]] = _active.list_dir

__all__ = ["IMPLEMENTATIONS", "Entry", "list_dir"]
