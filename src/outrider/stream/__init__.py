"""Streaming core: Nomad frame encoding, tail reading, the agent-wide watcher, fan-out and the response writer."""

from outrider.stream.fanout import Hub, Hubs
from outrider.stream.follower import MAX_PENDING, FileFollower
from outrider.stream.framer import (
    EVENT_DELETED,
    EVENT_TRUNCATED,
    HEARTBEAT,
    MAX_FRAME_DATA,
    encode_frames,
    json_string,
)
from outrider.stream.sender import HEARTBEAT_INTERVAL, Source, StreamResponse
from outrider.stream.service import READ_CHUNK, StreamService
from outrider.stream.tail import CheckResult, TailReader
from outrider.stream.watcher import Watch, Watcher

__all__ = [
    "EVENT_DELETED",
    "EVENT_TRUNCATED",
    "HEARTBEAT",
    "HEARTBEAT_INTERVAL",
    "MAX_FRAME_DATA",
    "MAX_PENDING",
    "READ_CHUNK",
    "CheckResult",
    "FileFollower",
    "Hub",
    "Hubs",
    "Source",
    "StreamResponse",
    "StreamService",
    "TailReader",
    "Watch",
    "Watcher",
    "encode_frames",
    "json_string",
]
