"""What one agent tells the fleet about itself: its node record and one record per allocation it holds.

Both are JSON values in JetStream key-value buckets, keyed by node ID and allocation ID.
"""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar

import orjson

NODES_BUCKET = "outrider-nodes"
ALLOCS_BUCKET = "outrider-allocs"
ACL_BUCKET = "outrider-acl"

# The characters NATS allows in a key-value key (nats-server ``server/jetstream_kv.go`` keyValidRe).
_KEY = re.compile(r"[-/_=.a-zA-Z0-9]+")


def valid_key(key: str) -> bool:
    """Whether ``key`` may name a record; a hostile ID never reaches NATS."""
    return bool(_KEY.fullmatch(key)) and not key.startswith(".") and not key.endswith(".")


@dataclass(frozen=True)
class NodeRecord:
    """A fleet member as the others see it: enough to list it and to reach it."""

    id: str
    name: str
    datacenter: str
    node_pool: str
    node_class: str
    advertise: str
    version: str
    meta: dict[str, str] = field(default_factory=dict)
    status: str = "ready"
    # Wall-clock seconds of the owner's last refresh; a record older than the fleet's
    # "down" bound shows its node down.
    heartbeat: float = 0.0
    started_at: float = 0.0

    def encode(self) -> bytes:
        return orjson.dumps(asdict(self))

    @classmethod
    def decode(cls, raw: bytes) -> NodeRecord | None:
        """The record, or None for a value this version cannot read."""
        return _decode(cls, raw)

    def aged(self, down_after: float, now: float | None = None) -> NodeRecord:
        """This record with its status ``down`` when its last refresh is older than ``down_after`` seconds."""
        if (time.time() if now is None else now) - self.heartbeat <= down_after:
            return self
        return NodeRecord(**{**asdict(self), "status": "down"})


@dataclass(frozen=True)
class AllocRecord:
    """Which node holds an allocation, and what the listing needs without asking that node."""

    node_id: str
    namespace: str
    job_id: str

    def encode(self) -> bytes:
        return orjson.dumps(asdict(self))

    @classmethod
    def decode(cls, raw: bytes) -> AllocRecord | None:
        return _decode(cls, raw)


R = TypeVar("R", NodeRecord, AllocRecord)


def _decode(cls: type[R], raw: bytes) -> R | None:
    try:
        data: Any = orjson.loads(raw)
        return cls(**data) if isinstance(data, dict) else None
    except (orjson.JSONDecodeError, TypeError):
        return None
