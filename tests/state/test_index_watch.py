"""The index that blocking queries wait on, alone and fed by the state database."""

from __future__ import annotations

import asyncio

from outrider.state.db import StateDB
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


def test_every_waiter_wakes_and_a_cancelled_one_does_not_stop_the_others() -> None:
    async def main() -> None:
        watch = IndexWatch(5)
        waiters = [asyncio.ensure_future(watch.wait_for_change(5, 5)) for _ in range(3)]
        await asyncio.sleep(0.01)
        waiters[0].cancel()
        watch.advanced(6)
        await asyncio.wait_for(asyncio.gather(*waiters[1:]), 1)
        assert waiters[0].cancelled()
        # A new waiter waits for the index after this one, not an event already set.
        later = asyncio.ensure_future(watch.wait_for_change(6, 5))
        await asyncio.sleep(0.01)
        assert not later.done()
        watch.advanced(7)
        await asyncio.wait_for(later, 1)

    asyncio.run(main())


def test_no_time_left_returns_at_once_even_before_the_index() -> None:
    async def main() -> None:
        watch = IndexWatch(1)
        await asyncio.wait_for(watch.wait_for_change(1, 0), 1)
        await asyncio.wait_for(watch.wait_for_change(1, -5), 1)
        assert watch.modify_index == 1

    asyncio.run(main())


def test_indexes_the_database_hands_out_wake_the_waiters(db: StateDB) -> None:
    # As the agent wires them: every committed index is reported to the watch.
    async def main() -> None:
        watch = IndexWatch(db.current_index())
        db.on_index = lambda _name, value: watch.advanced(value)
        start = watch.modify_index
        waiter = asyncio.ensure_future(watch.wait_for_change(start, 5))
        await asyncio.sleep(0.01)
        assert not waiter.done()
        value = db.next_index()
        await asyncio.wait_for(waiter, 1)
        assert watch.modify_index == value == start + 1 == db.current_index()

    asyncio.run(main())
