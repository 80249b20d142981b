"""Token IDs: generating them, recognising them, and looking them up as Nomad's UUID index does.

Nomad's state store indexes AccessorID and SecretID with go-memdb's
``UUIDFieldIndex``, which compares the decoded bytes. So a lookup ignores
case and hyphen positions, and a malformed ID fails with that index's texts.
"""

from __future__ import annotations

import hashlib
import re
import secrets

UUID_RE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


class UUIDIndexError(ValueError):
    """The UUID index refused the argument; ``str()`` is go-memdb's text."""


def is_uuid(value: str) -> bool:
    """``helper.IsUUID``: 36 characters, 8-4-4-4-12 hex digits, any case."""
    return UUID_RE.fullmatch(value) is not None


def generate() -> str:
    """``uuid.Generate``: 16 random bytes as 8-4-4-4-12 lowercase hex (no RFC 4122 version bits)."""
    h = secrets.token_bytes(16).hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _hex_error(text: str) -> UUIDIndexError:
    # encoding/hex reports the first bad byte of the first bad pair, as a %#U rune.
    raw = text.encode("utf-8", "surrogateescape")
    for i in range(0, len(raw) - 1, 2):
        for b in raw[i : i + 2]:
            if chr(b) not in "0123456789abcdefABCDEF":
                shown = f"U+{b:04X}" + (f" '{chr(b)}'" if chr(b).isprintable() else "")
                return UUIDIndexError(f"Invalid UUID: encoding/hex: invalid byte: {shown}")
    return UUIDIndexError("Invalid UUID: encoding/hex: odd length hex string")


def index_key(value: str, enforce_length: bool = True) -> str:
    """The UUID index's key for ``value`` (lowercase hex, hyphens dropped), or :class:`UUIDIndexError`.

    ``enforce_length`` is a full-ID lookup; without it, a prefix lookup.
    """
    size = len(value.encode("utf-8", "surrogateescape"))
    if enforce_length and size != 36:
        raise UUIDIndexError("UUID must be 36 characters")
    if size > 36:
        raise UUIDIndexError(f"Invalid UUID length. UUID have 36 characters; got {size}")
    hyphens = value.count("-")
    if hyphens > 4:
        raise UUIDIndexError(f'UUID should have maximum of 4 "-"; got {hyphens}')
    sanitized = value.replace("-", "")
    if len(sanitized.encode("utf-8", "surrogateescape")) % 2:
        raise UUIDIndexError("Input (without hyphens) must be even length")
    if not re.fullmatch(r"[0-9a-fA-F]*", sanitized):
        raise _hex_error(sanitized)
    return sanitized.lower()


def canonical(key: str) -> str:
    """The 8-4-4-4-12 form of a 32-digit index key."""
    return f"{key[:8]}-{key[8:12]}-{key[12:16]}-{key[16:20]}-{key[20:]}"


def secret_digest(secret: str) -> bytes:
    """What the state keeps of a SecretID: the SHA-256 of its lower-cased form.

    Generated secrets are 128 random bits, so the digest cannot be turned back
    into one; lower-casing keeps Nomad's case-insensitive match.
    """
    return hashlib.sha256(secret.lower().encode("utf-8", "surrogateescape")).digest()
