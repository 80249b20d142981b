"""Waiting, on the event loop, for a process to exit and for a pipe to close.

``pidfd`` makes both exact and free: the descriptor becomes readable when the
process exits, whether or not it is our child, and signalling through it cannot
hit a process that reused the pid. Where the kernel lacks pidfds, the pid is
polled instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal

from outrider.runner.handle import ProcessId

POLL_INTERVAL = 0.2
"""Seconds between checks when ``pidfd_open`` is unavailable."""


class Watched:
    """A process we may wait for and signal, pinned by a pidfd when the kernel has them."""

    def __init__(self, ident: ProcessId) -> None:
        self.ident = ident
        self._pidfd: int | None = None
        try:
            self._pidfd = os.pidfd_open(ident.pid)
        except (AttributeError, OSError):
            self._pidfd = None
        # Checked after opening: the pidfd now names the process, whatever happens to the pid.
        self.gone = not ident.alive()
        if self.gone:
            self.close()
            reap(ident.pid)

    async def wait(self) -> None:
        """Return once the process has exited (immediately when it already had)."""
        if self.gone:
            return
        if self._pidfd is None:
            while self.ident.alive():
                await asyncio.sleep(POLL_INTERVAL)
            self.gone = True
            return
        await _readable(self._pidfd)
        self.gone = True
        reap(self.ident.pid)

    def send(self, sig: int) -> bool:
        """Signal the process; False when it is gone."""
        if self.gone:
            return False
        try:
            if self._pidfd is not None:
                signal.pidfd_send_signal(self._pidfd, sig)
            elif self.ident.alive():
                os.kill(self.ident.pid, sig)
            else:
                return False
        except ProcessLookupError:
            return False
        return True

    def close(self) -> None:
        if self._pidfd is not None:
            os.close(self._pidfd)
            self._pidfd = None


def reap(pid: int) -> None:
    """Collect the exit status of ``pid`` if it is our child; a no-op for other processes."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


async def _readable(fd: int) -> None:
    """Return once ``fd`` polls readable."""
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[None] = loop.create_future()

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_reader(fd, wake)
    try:
        await ready
    finally:
        loop.remove_reader(fd)


async def read_to_eof(fd: int) -> bytes:
    """Read a non-blocking pipe until every writer closed it."""
    chunks: list[bytes] = []
    while True:
        try:
            chunk = os.read(fd, 4096)
        except BlockingIOError:
            await _readable(fd)
            continue
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
