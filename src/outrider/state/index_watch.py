"""The state's index as blocking queries see it: the latest value and a way to wait for the next.

Nomad's reads take ``?index=N`` and hold the request until the data's index
passes ``N`` (or ``?wait=`` runs out), so watchers such as the web UI need not
poll. Every write of jobs and allocations takes a new index from the state DB
(:meth:`outrider.state.db.StateDB.next_index`), which reports it here.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable


class IndexWatch:
    """The latest index handed out, and an event for whoever waits on a newer one.

    Used from the event loop's thread only, like every writer of the index.
    """

    def __init__(self, current: int = 0) -> None:
        self.modify_index = current
        self._changed = asyncio.Event()

    def advanced(self, index: int) -> None:
        """Record that ``index`` was handed out; wake every waiter when it is newer."""
        if index <= self.modify_index:
            return
        self.modify_index = index
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def wait_for_change(self, index: int, timeout: float) -> None:
        """Return once :attr:`modify_index` exceeds ``index``, or after ``timeout`` seconds.

        A client may name an index ahead of ours: newer indexes that are still not
        past it keep it waiting, as Nomad's state store does.
        """
        await self.wait_until(lambda: self.modify_index > index, timeout)

    async def wait_until(self, done: Callable[[], bool], timeout: float) -> None:
        """Return once ``done()`` holds (checked at each new index), or after ``timeout`` seconds.

        For readers of a part of the state with an index of its own, such as a table.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not done():
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)
