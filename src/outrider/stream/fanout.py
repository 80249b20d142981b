"""Sharing one read and one encode among the followers of the same file.

Followers of one file (same inode) that produce the same output (same ``File``
value, or both plain) meet in a :class:`Hub`. Whoever reads first hands the
encoded bytes to every member that is exactly as far as the reader was and has
room; those members skip the read. A member that is behind, busy with an event
or over its memory bound ignores the offer and reads the file itself later (the
file is the buffer). Hubs also share truncation: once any member notices the
file was truncated, every member restarts from 0.
"""

from __future__ import annotations

from typing import Protocol


class Member(Protocol):
    """What a hub needs from a follower."""

    def take_shared(
        self, start: int, end: int, chunk: bytes, at_eof: bool, truncations: int, fingerprint: bytes
    ) -> None:
        """Accept ``chunk`` (the output for file bytes ``[start, end)``) if it fits; else ignore it.

        ``fingerprint`` is the reader's :attr:`~outrider.stream.tail.TailReader.fingerprint` at ``end``.
        """


HubKey = tuple[int, int, bytes | None]
"""``(st_dev, st_ino, File JSON or None for plain output)``."""


class Hub:
    """The followers of one file that produce the same output."""

    __slots__ = ("key", "members", "truncations")

    def __init__(self, key: HubKey) -> None:
        self.key = key
        self.members: list[Member] = []
        self.truncations = 0
        """How many truncations members have noticed; a member behind this count restarts from 0."""

    def publish(
        self, source: Member, start: int, end: int, chunk: bytes, at_eof: bool, fingerprint: bytes
    ) -> None:
        """Offer what ``source`` just read and encoded to every other member."""
        for member in self.members:
            if member is not source:
                member.take_shared(start, end, chunk, at_eof, self.truncations, fingerprint)


class Hubs:
    """Every hub of one agent, created on the first join and dropped with the last member."""

    def __init__(self) -> None:
        self._hubs: dict[HubKey, Hub] = {}

    def join(self, key: HubKey, member: Member) -> Hub:
        hub = self._hubs.get(key)
        if hub is None:
            hub = self._hubs[key] = Hub(key)
        hub.members.append(member)
        return hub

    def leave(self, hub: Hub, member: Member) -> None:
        try:
            hub.members.remove(member)
        except ValueError:
            return
        if not hub.members and self._hubs.get(hub.key) is hub:
            del self._hubs[hub.key]

    def stats(self) -> dict[str, int]:
        """Counters for metrics: files with followers, and followers sharing a file with another."""
        return {
            "hubs": len(self._hubs),
            "sharing_followers": sum(len(h.members) for h in self._hubs.values() if len(h.members) > 1),
        }
