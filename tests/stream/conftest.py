"""Fixtures for the streaming core: both implementations of each hot path, both event loops, leak checks."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable, Iterator
from types import ModuleType
from typing import Any, TypeVar

import pytest
import uvloop

T = TypeVar("T")
Runner = Callable[[Callable[[], Awaitable[T]]], T]

FD_DIR = "/proc/self/fd"

LOOP_FACTORIES: dict[str, Callable[[], asyncio.AbstractEventLoop]] = {
    "asyncio": asyncio.new_event_loop,
    "uvloop": uvloop.new_event_loop,
}

# libuv opens a process-wide pipe with the first loop; open it now so the fd check
# of the first uvloop test does not count it as a leak.
uvloop.new_event_loop().close()


def pick(implementations: dict[str, ModuleType], name: str, module: str) -> ModuleType:
    """The implementation ``name`` of a hot path, or a skip naming the unbuilt extension."""
    if name not in implementations:
        pytest.skip(f"native outrider._native.{module} is not built (python setup.py build_ext --inplace)")
    return implementations[name]


@pytest.fixture(params=sorted(LOOP_FACTORIES))
def run(request: pytest.FixtureRequest) -> Iterator[Runner[Any]]:
    """Run a coroutine function on a fresh event loop; the test body runs once per loop kind.

    The loop must end with no other task left and no call to its exception handler.
    """
    errors: list[dict[str, Any]] = []

    def runner(main: Callable[[], Awaitable[T]]) -> T:
        async def checked() -> T:
            loop = asyncio.get_running_loop()
            loop.set_exception_handler(lambda _loop, context: errors.append(context))
            async with asyncio.timeout(20):
                result = await main()
            others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            assert not others, f"tasks left running: {others}"
            return result

        with asyncio.Runner(loop_factory=LOOP_FACTORIES[request.param]) as r:
            value = r.run(checked())
        assert not errors, f"event loop exception handler called: {errors}"
        return value

    yield runner


@pytest.fixture(autouse=True)
def fds_unchanged() -> Iterator[None]:
    """Every test must close whatever it opens (files, watches, inotify instances)."""
    before = sorted(os.listdir(FD_DIR))
    yield
    assert sorted(os.listdir(FD_DIR)) == before
