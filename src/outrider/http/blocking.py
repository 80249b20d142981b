"""Nomad's blocking queries (``?index=``, ``?wait=``) on any watched index.

A read with ``?index=N`` is held while the data's index is still ``N`` or older,
up to ``?wait=`` (default 5 minutes, at most 10, plus Nomad's jitter of up to a
sixteenth), and answered as soon as it moves. A stopping agent answers at once.
A client that hangs up while it waits ends the wait at once, so its connection
is released then and not when the index moves (Go's server cancels the
request's context the same way).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from typing import Protocol

from starlette.requests import Request
from starlette.types import Receive

from outrider.agent import Agent
from outrider.config import parse_duration
from outrider.http.params import Query

DEFAULT_WAIT = 300.0
MAX_WAIT = 600.0


class Watched(Protocol):
    """An index that readers can wait on (the node's metadata, the jobs and allocations state)."""

    @property
    def modify_index(self) -> int: ...

    async def wait_for_change(self, index: int, timeout: float) -> None: ...


async def block(request: Request, query: Query, watched: Watched) -> None:
    """Wait while ``?index=`` is current, up to ``?wait=``; return at once without ``?index=``.

    The generic parameters were validated already (``check_generic``), so both parse.
    The request's body must not be needed afterwards: the wait reads the request's
    messages to notice the client leaving.
    """
    agent: Agent = request.app.state.agent
    raw_index = query.get("index")
    if not raw_index:
        return
    index = int(raw_index)
    if index < watched.modify_index:
        return
    wait = min(parse_duration(query.get("wait")) if query.get("wait") else DEFAULT_WAIT, MAX_WAIT)
    wait += random.uniform(0, wait / 16)  # Nomad's jitter spreads out simultaneous watchers.
    change = asyncio.ensure_future(watched.wait_for_change(index, wait))
    stopping = asyncio.ensure_future(agent.stopping.wait())
    departed = asyncio.ensure_future(_departure(request.receive))
    try:
        await asyncio.wait({change, stopping, departed}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for fut in (change, stopping, departed):
            fut.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await fut


async def _departure(receive: Receive) -> None:
    """Return once the client has gone; what is left of the request's body is dropped."""
    while (await receive())["type"] != "http.disconnect":
        pass
