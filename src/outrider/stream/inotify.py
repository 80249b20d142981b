"""Linux inotify: the active implementation (native unless missing or ``OUTRIDER_PURE=1``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from outrider._impl import select
from outrider.stream import inotify_py
from outrider.stream.inotify_py import (
    IN_ATTRIB,
    IN_CREATE,
    IN_DELETE,
    IN_DELETE_SELF,
    IN_IGNORED,
    IN_MODIFY,
    IN_MOVE_SELF,
    IN_MOVED_FROM,
    IN_MOVED_TO,
    IN_Q_OVERFLOW,
    Event,
)

_active, IMPLEMENTATIONS = select("inotify", inotify_py)

if TYPE_CHECKING:
    from outrider.stream.inotify_py import add_watch, init, parse_events, read_events, rm_watch
else:
    init = _active.init
    add_watch = _active.add_watch
    rm_watch = _active.rm_watch
    parse_events = _active.parse_events
    read_events = _active.read_events

__all__ = [
    "IMPLEMENTATIONS",
    "IN_ATTRIB",
    "IN_CREATE",
    "IN_DELETE",
    "IN_DELETE_SELF",
    "IN_IGNORED",
    "IN_MODIFY",
    "IN_MOVED_FROM",
    "IN_MOVED_TO",
    "IN_MOVE_SELF",
    "IN_Q_OVERFLOW",
    "Event",
    "add_watch",
    "init",
    "parse_events",
    "read_events",
    "rm_watch",
]
