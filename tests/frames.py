"""Decoding stream and logs bodies the way Nomad's own clients do.

The Go ``api`` package (``api/fs.go`` ``AllocFS.Stream`` and ``AllocFS.Logs``) reads
back-to-back JSON frames with an incremental ``json.Decoder`` and drops heartbeats; the
web UI (``ui/app/utils/stream-frames.js``) splits the text on ``}{``. A body must decode
the same both ways.
"""

from __future__ import annotations

import base64
import json
from typing import Any


def split_frames(body: bytes) -> list[dict[str, Any]]:
    """Decode back-to-back JSON objects incrementally, as Go's ``json.Decoder`` does."""
    decoder = json.JSONDecoder()
    text = body.decode()
    frames, pos = [], 0
    while pos < len(text):
        obj, pos = decoder.raw_decode(text, pos)
        frames.append(obj)
    return frames


def split_like_web_ui(body: bytes) -> list[dict[str, Any]]:
    """Split on ``}{`` as the Nomad web UI does; base64 and our names never contain it."""
    text = body.decode()
    if not text:
        return []
    parts = text.replace("}{", "}\n{").split("\n")
    return [json.loads(p) for p in parts]


def go_client_frames(body: bytes) -> list[dict[str, Any]]:
    """Frames as the Go API client keeps them (heartbeats dropped); the web UI's split must agree."""
    frames = split_frames(body)
    assert frames == split_like_web_ui(body)
    return [f for f in frames if f]


def frame_data(frames: list[dict[str, Any]]) -> bytes:
    """The data the frames carry, in order."""
    return b"".join(base64.b64decode(f["Data"]) for f in frames if "Data" in f)
