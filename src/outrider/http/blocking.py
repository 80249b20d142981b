"""Nomad's blocking queries (``?index=``, ``?wait=``) on any watched index.

A read with ``?index=N`` is held while the data's index is still ``N`` or older,
up to ``?wait=`` (default 5 minutes, at most 10, plus Nomad's jitter of up to a
sixteenth), and answered as soon as it moves. A stopping agent answers at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from typing import Protocol

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


async def block(agent: Agent, query: Query, watched: Watched) -> None:
    """Wait while ``?index=`` is current, up to ``?wait=``; return at once without ``?index=``.

    The generic parameters were validated already (``check_generic``), so both parse.
    """
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
    try:
        await asyncio.wait({change, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for fut in (change, stopping):
            fut.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await fut
