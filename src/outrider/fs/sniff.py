"""Content sniffing as Go's ``net/http`` does it (``net/http/sniff.go``).

Exports the active :func:`detect_content_type` (native when built, else the
pure twin) and ``IMPLEMENTATIONS`` with every importable variant.
"""

from __future__ import annotations

from collections.abc import Callable

from outrider import _impl
from outrider.fs import sniff_py

__all__ = ["IMPLEMENTATIONS", "SNIFF_LEN", "detect_content_type", "untrusted_content_type"]

SNIFF_LEN = sniff_py.SNIFF_LEN

_active, IMPLEMENTATIONS = _impl.select("sniff", sniff_py)

detect_content_type: Callable[[bytes | bytearray | memoryview], str] = _active.detect_content_type

# Sniffed types that a browser would render as markup; Nomad's noxssrw wrapper
# downgrades them to plain text for cat/readat (``command/agent/http.go`` ``wrapUntrustedContent``).
_MARKUP_PREFIXES = ("text/html", "text/xhtml", "text/xhtml+xml")


def untrusted_content_type(sniffed: str) -> str:
    """Content-Type for untrusted file bodies: ``text/plain`` for markup, else ``sniffed``.

    >>> untrusted_content_type("text/html; charset=utf-8")
    'text/plain'
    >>> untrusted_content_type("image/png")
    'image/png'
    """
    if sniffed.startswith(_MARKUP_PREFIXES):
        return "text/plain"
    return sniffed
