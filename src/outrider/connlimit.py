"""Nomad's per-client connection cap (``limits { http_max_conns_per_client }``).

Nomad wraps its HTTP listener with ``go-connlimit`` (``command/agent/http.go``
``connLimiter``): a new connection from an address that already holds the
maximum is answered with a raw 429 and closed before anything is read. The 429
is written at most 10 times a second (bursts of 100), so a flood costs no more
than closing its connections; past that rate they are closed without a word.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from outrider.metrics import REGISTRY

log = logging.getLogger("outrider.http")

TOO_MANY_MESSAGE = "Your IP is issuing too many concurrent connections, please rate limit your calls\n"
TOO_MANY_RESPONSE = (
    "HTTP/1.1 429 Too Many Requests\r\n"
    "Content-Type: text/plain\r\n"
    f"Content-Length: {len(TOO_MANY_MESSAGE)}\r\n"
    "Connection: close\r\n\r\n"
    f"{TOO_MANY_MESSAGE}"
).encode()

EXCEEDED = REGISTRY.counter(
    "nomad.agent.http.exceeded", help="connections refused for exceeding http_max_conns_per_client"
)

# Nomad's rate.NewLimiter(10, 100) for the 429 answers.
ANSWER_RATE = 10.0
ANSWER_BURST = 100


class TokenBucket:
    """``rate`` tokens a second, at most ``burst`` saved up (Go's ``rate.Limiter`` with ``Reserve``)."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = burst
        self._tokens = float(burst)
        self._at = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True


class PerClientLimit:
    """Counts what each client address holds and refuses one past ``limit`` (0: no limit).

    Used from the event loop's thread only. ``exempt(address)`` names addresses never
    capped (the other members of a fleet, which relay many clients' streams each); their
    connections are counted apart, so a member that leaves the fleet mid-connection
    releases what it took.
    """

    def __init__(self, limit: int, exempt: Callable[[str], bool] | None = None) -> None:
        self.limit = limit
        self.exempt = exempt
        self._held: dict[str, int] = {}
        self._exempted: dict[str, int] = {}
        self._answers = TokenBucket(ANSWER_RATE, ANSWER_BURST)

    def admit(self, address: str) -> bool:
        """Count one more for ``address``; False (nothing counted) when it already holds ``limit``."""
        if not self.limit:
            return True
        if self.exempt is not None and self.exempt(address):
            self._exempted[address] = self._exempted.get(address, 0) + 1
            return True
        held = self._held.get(address, 0)
        if held >= self.limit:
            EXCEEDED.inc()
            return False
        self._held[address] = held + 1
        return True

    def release(self, address: str) -> None:
        if not self.limit:
            return
        exempted = self._exempted.get(address, 0)
        if exempted:
            if exempted > 1:
                self._exempted[address] = exempted - 1
            else:
                del self._exempted[address]
            return
        held = self._held.get(address, 0) - 1
        if held > 0:
            self._held[address] = held
        else:
            self._held.pop(address, None)

    def note_refused(self, address: str) -> bool:
        """Log a refusal; True when it may cost a written 429, False when it should just be closed.

        Both are rate-limited together, as in Nomad.
        """
        if not self._answers.take():
            return False
        log.warning("too many concurrent connections", extra={"address": address, "limit": self.limit})
        return True
