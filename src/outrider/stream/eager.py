"""Start an awaitable at once and hand it to a task only if it has to wait.

This is Python 3.12's eager task start (``asyncio.Task(..., eager_start=True)``),
for the Python this agent supports. A stream that writes a frame to a server
whose socket has room finishes the server's ``send`` without suspending; running
it in the caller then costs no task, no scheduling and no wake-up, which at a
thousand followers of one file is most of what a frame costs beyond the write
itself. Only a ``send`` that really waits (a full socket, a lock) gets a task.

The task resumes the started awaitable by delegating to its iterator exactly as
``await`` would (PEP 380): values the task sends in, exceptions it throws in
(cancellation included) and closing all reach the awaitable unchanged.
"""

from __future__ import annotations

import asyncio
import types
from collections.abc import Awaitable, Generator
from typing import Any, TypeVar, cast

T = TypeVar("T")


def start(awaitable: Awaitable[T]) -> tuple[bool, T | asyncio.Task[T]]:
    """Run ``awaitable`` until it finishes or first suspends.

    Returns ``(True, result)`` when it finished (an exception it raised
    propagates from here), else ``(False, task)``: a task on the running loop
    that finishes it.
    """
    it = awaitable.__await__()
    try:
        first = it.send(None)
    except StopIteration as stop:
        return True, cast(T, stop.value)
    return False, asyncio.get_running_loop().create_task(_finish(cast(Generator[Any, Any, T], it), first))


async def _finish(it: Generator[Any, Any, T], first: object) -> T:
    return await _delegate(it, first)


@types.coroutine
def _delegate(it: Generator[Any, Any, T], first: object) -> Generator[Any, Any, T]:
    value = first
    while True:
        try:
            sent = yield value
        except GeneratorExit:
            it.close()
            raise
        except BaseException as exc:
            try:
                value = it.throw(exc)
            except StopIteration as stop:
                return cast(T, stop.value)
        else:
            try:
                value = it.send(sent)
            except StopIteration as stop:
                return cast(T, stop.value)
