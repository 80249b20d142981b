"""Starting an awaitable at once, on both event loops: what finishes at once costs no task; the rest is awaited faithfully."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from outrider.stream import eager
from tests.stream.conftest import Runner


async def _value(x: int) -> int:
    return x * 2


async def _fails_at_once() -> None:
    raise KeyError("at once")


async def _waits(fut: asyncio.Future[int], log: list[str]) -> int:
    log.append("before")
    try:
        value = await fut
    finally:
        log.append("finally")
    log.append("after")
    return value + 1


def test_an_awaitable_that_never_waits_finishes_in_the_caller(run: Runner[Any]) -> None:
    async def main() -> None:
        tasks_before = len(asyncio.all_tasks())
        finished, result = eager.start(_value(21))
        assert finished and result == 42
        assert len(asyncio.all_tasks()) == tasks_before

    run(main)


def test_an_exception_raised_at_once_propagates_to_the_caller(run: Runner[Any]) -> None:
    async def main() -> None:
        with pytest.raises(KeyError, match="at once"):
            eager.start(_fails_at_once())

    run(main)


def test_an_awaitable_that_waits_is_finished_by_a_task_with_its_result(run: Runner[Any]) -> None:
    async def main() -> None:
        fut: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        log: list[str] = []
        finished, task = eager.start(_waits(fut, log))
        assert not finished and isinstance(task, asyncio.Task)
        assert log == ["before"]  # it ran up to its first wait in the caller
        await asyncio.sleep(0)
        assert not task.done()
        fut.set_result(9)
        assert await task == 10
        assert log == ["before", "finally", "after"]

    run(main)


def test_an_exception_after_the_wait_reaches_the_awaitable_and_the_task(run: Runner[Any]) -> None:
    async def main() -> None:
        fut: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        log: list[str] = []
        finished, task = eager.start(_waits(fut, log))
        assert not finished and isinstance(task, asyncio.Task)
        fut.set_exception(ConnectionResetError("peer left"))
        with pytest.raises(ConnectionResetError, match="peer left"):
            await task
        assert log == ["before", "finally"]

    run(main)


def test_cancelling_the_task_cancels_the_awaitable(run: Runner[Any]) -> None:
    async def main() -> None:
        fut: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        log: list[str] = []
        finished, task = eager.start(_waits(fut, log))
        assert not finished and isinstance(task, asyncio.Task)
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert fut.cancelled()  # the task cancelled what the awaitable was waiting on
        assert log == ["before", "finally"]

    run(main)


def test_a_bare_yield_and_several_waits_are_driven_like_await(run: Runner[Any]) -> None:
    async def several(futs: list[asyncio.Future[int]]) -> int:
        total = 0
        await asyncio.sleep(0)  # a bare yield: the task just runs it again
        for f in futs:
            total += await f
        return total

    async def main() -> None:
        loop = asyncio.get_running_loop()
        futs: list[asyncio.Future[int]] = [loop.create_future() for _ in range(3)]
        finished, task = eager.start(several(futs))
        assert not finished and isinstance(task, asyncio.Task)
        for i, f in enumerate(futs):
            await asyncio.sleep(0)
            f.set_result(i + 1)
        assert await task == 6

    run(main)
