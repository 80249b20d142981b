"""The index that blocking queries wait on."""

from __future__ import annotations

import asyncio

from outrider.state.index_watch import IndexWatch


def test_waits_until_the_index_passes_the_one_asked_for() -> None:
    async def main() -> None:
        watch = IndexWatch(10)
        await asyncio.wait_for(watch.wait_for_change(9, 5), 1)  # already past: at once
        waiter = asyncio.ensure_future(watch.wait_for_change(12, 5))
        watch.advanced(11)
        await asyncio.sleep(0.01)
        assert not waiter.done(), "11 is not past 12"
        watch.advanced(11)  # not newer: nothing happens
        watch.advanced(13)
        await asyncio.wait_for(waiter, 1)
        assert watch.modify_index == 13

    asyncio.run(main())


def test_gives_up_after_the_wait() -> None:
    async def main() -> None:
        watch = IndexWatch(3)
        loop = asyncio.get_running_loop()
        started = loop.time()
        await watch.wait_for_change(3, 0.05)
        assert loop.time() - started >= 0.04 and watch.modify_index == 3

    asyncio.run(main())
