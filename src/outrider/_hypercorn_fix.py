"""Close idle keep-alive connections as soon as the client closes them.

hypercorn (0.17, 0.18) ignores the peer's EOF on an idle HTTP/1.1 connection:
the socket stays open until ``keep_alive_timeout`` runs out, so every client
that connects, makes a request and hangs up pins a descriptor for that long.
The agent serves many short-lived clients (probes, CLIs, the web UI), so it
closes such connections at once instead.
"""

from __future__ import annotations

from typing import Any

_applied = False


def apply() -> None:
    """Patch hypercorn's HTTP/1.1 protocol once; a no-op if its shape has changed."""
    global _applied
    if _applied:
        return
    try:
        from hypercorn.events import Closed
        from hypercorn.protocol.h11 import H11Protocol
    except ImportError:
        return
    original = H11Protocol.handle

    async def handle(self: Any, event: Any) -> None:
        idle = getattr(self, "stream", None) is None
        await original(self, event)
        if isinstance(event, Closed) and idle:
            await self.send(Closed())

    H11Protocol.handle = handle  # type: ignore[method-assign]
    _applied = True
