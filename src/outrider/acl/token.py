"""An ACL token (``nomad/structs/acl.go`` ``ACLToken``): fields, hash, expiry and its two JSON shapes.

The SecretID is not a field: the state keeps only its digest, and an answer
shows it only where the caller has just been given it or has just sent it.
Times are integer nanoseconds since the Unix epoch, UTC; ``None`` is Go's zero
time (``CreateTime``) or nil (``ExpirationTime``).
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import re
import time
from dataclasses import dataclass
from typing import Any

from outrider.goduration import format_duration
from outrider.gostrconv import format_rfc3339nano_utc

CLIENT = "client"
MANAGEMENT = "management"
ZERO_TIME = "0001-01-01T00:00:00Z"


@dataclass
class ACLToken:
    accessor_id: str
    name: str = ""
    type: str = CLIENT
    policies: list[str] | None = None
    roles: list[dict[str, str]] | None = None
    global_: bool = False
    hash: bytes | None = None
    create_time: int | None = None
    expiration_time: int | None = None
    expiration_ttl: int = 0
    create_index: int = 0
    modify_index: int = 0

    def is_management(self) -> bool:
        return self.type == MANAGEMENT

    def is_expired(self, now_ns: int | None = None) -> bool:
        """``IsExpired``: an expiration time strictly before now."""
        if self.expiration_time is None:
            return False
        return self.expiration_time < (time.time_ns() if now_ns is None else now_ns)

    def compute_hash(self) -> bytes:
        """``SetHash``: BLAKE2b-256 of Name, Type, each policy, global/local and each role ID."""
        h = hashlib.blake2b(digest_size=32)
        h.update(self.name.encode("utf-8", "surrogateescape"))
        h.update(self.type.encode("utf-8", "surrogateescape"))
        for policy in self.policies or ():
            h.update(policy.encode("utf-8", "surrogateescape"))
        h.update(b"global" if self.global_ else b"local")
        for role in self.roles or ():
            h.update(role.get("ID", "").encode("utf-8", "surrogateescape"))
        return h.digest()

    def stub(self) -> dict[str, Any]:
        """The ``ACLTokenListStub`` of ``GET /v1/acl/tokens`` (codec JSON: sorted keys, zero time null)."""
        return {
            "AccessorID": self.accessor_id,
            "CreateIndex": self.create_index,
            "CreateTime": _time(self.create_time),
            "ExpirationTime": _time(self.expiration_time),
            "Global": self.global_,
            "Hash": _b64(self.hash),
            "ModifyIndex": self.modify_index,
            "Name": self.name,
            "Policies": self.policies,
            "Roles": self.roles,
            "Type": self.type,
        }

    def to_json(self, secret: str) -> bytes:
        """The single-token answer, encoded as Nomad's custom marshaller does with ``encoding/json``:
        declaration order with ``ExpirationTTL`` first, the TTL as a Go duration, HTML characters
        escaped, a zero ``CreateTime`` written out."""
        doc = {
            "ExpirationTTL": format_duration(self.expiration_ttl) if self.expiration_ttl else "",
            "AccessorID": self.accessor_id,
            "SecretID": secret,
            "Name": self.name,
            "Type": self.type,
            "Policies": self.policies,
            "Roles": self.roles,
            "Global": self.global_,
            "Hash": _b64(self.hash),
            "CreateTime": ZERO_TIME if self.create_time is None else format_rfc3339nano_utc(self.create_time),
            "ExpirationTime": _time(self.expiration_time),
            "CreateIndex": self.create_index,
            "ModifyIndex": self.modify_index,
        }
        return go_encoding_json(doc)

    def to_state(self) -> str:
        """The row kept in the state DB: every field (there is no secret among them)."""
        row = dataclasses.asdict(self)
        row["hash"] = _b64(self.hash)
        return json.dumps(row, ensure_ascii=False)

    @classmethod
    def from_state(cls, text: str) -> ACLToken:
        row = json.loads(text)
        row["hash"] = None if row["hash"] is None else base64.b64decode(row["hash"])
        return cls(**row)


def _time(ns: int | None) -> str | None:
    return None if ns is None else format_rfc3339nano_utc(ns)


def _b64(raw: bytes | None) -> str | None:
    return None if raw is None else base64.b64encode(raw).decode("ascii")


_GO_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
_GO_ESCAPED = re.compile("[<>&\u2028\u2029]")
_SURROGATES = re.compile("[\ud800-\udfff]")


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        # Bytes that are not UTF-8 come out as U+FFFD, as Go's encoder writes them.
        return _SURROGATES.sub("\ufffd", value)
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    return value


def go_encoding_json(doc: Any) -> bytes:
    """Go ``encoding/json`` output for ``doc`` (keys in the given order): compact, with ``<``, ``>``,
    ``&``, U+2028 and U+2029 escaped. Those characters occur only inside strings here, since every
    key is a Go field name."""
    text = json.dumps(_clean(doc), ensure_ascii=False, separators=(",", ":"))
    return _GO_ESCAPED.sub(lambda m: _GO_ESCAPES[m.group()], text).encode("utf-8")
