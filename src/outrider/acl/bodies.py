"""The ACL API's request bodies, decoded with Go ``encoding/json`` rules (:mod:`outrider.gojson`).

Token bodies follow ``ACLToken.UnmarshalJSON``: ``ExpirationTTL`` is a Go
duration string or a number of nanoseconds, ``""`` and ``null`` mean zero, any
other kind is ignored; a bad duration fails after the rest was decoded.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass

from outrider.goduration import GoDurationError, parse_duration
from outrider.gojson import GoJSONError, Pairs, StructDecoder, parse_first_value
from outrider.gostrconv import quote

EMPTY_BODY = "Request body is empty"


class BodyError(ValueError):
    """The body cannot be decoded; ``str()`` is the 400 text."""


@dataclass
class TokenRequest:
    """What a token create or update body asked for."""

    accessor_id: str = ""
    secret_id: str = ""
    name: str = ""
    type: str = ""
    policies: list[str] | None = None
    roles: list[dict[str, str]] | None = None
    global_: bool = False
    create_time: int | None = None
    expiration_time: int | None = None
    expiration_ttl: int = 0


@dataclass
class PolicyRequest:
    name: str = ""
    description: str = ""
    rules: str = ""
    job_acl: dict[str, str] | None = None


def _first_value(raw: bytes) -> object:
    # An empty chunked body reaches here and is Go's "EOF"; a request without a body is refused
    # earlier with EMPTY_BODY.
    try:
        return parse_first_value(raw)
    except GoJSONError as exc:
        raise BodyError(str(exc)) from None


_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))"
)
_ZERO_TIME_NS = -62135596800 * 1_000_000_000


def parse_rfc3339(text: str) -> int | None:
    """Go's RFC 3339 ``time.Time`` JSON form as UTC nanoseconds; Go's zero time is ``None``.

    Raises :class:`ValueError` with Go's leading text when the string is not such a time.
    """
    m = _RFC3339.fullmatch(text)
    if m is None or not (1 <= int(m[2]) <= 12 and 1 <= int(m[3]) <= 31) or int(m[4]) > 23:
        raise ValueError(
            f'parsing time {quote(text)} as "2006-01-02T15:04:05Z07:00": cannot parse {quote(text)} as "2006"'
        )
    seconds = calendar.timegm((int(m[1]), int(m[2]), int(m[3]), int(m[4]), int(m[5]), int(m[6])))
    if m[9]:
        offset = (int(m[10]) * 60 + int(m[11])) * 60
        seconds -= offset if m[9] == "+" else -offset
    ns = seconds * 1_000_000_000 + int((m[7] or "").ljust(9, "0"))
    return None if ns == _ZERO_TIME_NS else ns


def _time(decoder: StructDecoder, value: object, name: str, current: int | None) -> tuple[int | None, bool]:
    """A time field: ``(value, ok)``; ``null`` keeps ``current``."""
    if value is None:
        return current, True
    if not isinstance(value, str):
        decoder.mismatch(value, name, "time.Time")
        return current, False
    try:
        return parse_rfc3339(value), True
    except ValueError as exc:
        raise BodyError(str(exc)) from None


def _ttl(value: object) -> int | str:
    """``ExpirationTTL``: nanoseconds, or a duration text still to parse."""
    if isinstance(value, bool) or value is None:
        return 0
    if isinstance(value, int | float):
        return int(value)  # Go converts float64 to Duration, truncating
    if isinstance(value, str):
        return value
    return 0


_TOKEN_FIELDS = (
    "AccessorID", "SecretID", "Name", "Type", "Policies", "Roles", "Global", "Hash",
    "CreateTime", "ExpirationTime", "ExpirationTTL", "CreateIndex", "ModifyIndex",
)  # fmt: skip


def decode_token(raw: bytes) -> TokenRequest:
    """A token create or update body; raises :class:`BodyError`."""
    value = _first_value(raw)
    decoder = StructDecoder("structs", "ACLToken", _TOKEN_FIELDS)
    out = TokenRequest()
    ttl: int | str = 0
    try:
        for name, item in decoder.items(value):
            if name in ("AccessorID", "SecretID", "Name", "Type"):
                attr = {"AccessorID": "accessor_id", "SecretID": "secret_id"}.get(name, name.lower())
                setattr(out, attr, decoder.string(item, name, getattr(out, attr)))
            elif name == "Policies":
                out.policies = decoder.strings(item, name, out.policies)
            elif name == "Roles":
                out.roles = _roles(decoder, item, out.roles)
            elif name == "Global":
                out.global_ = decoder.boolean(item, name, out.global_)
            elif name == "CreateTime":
                out.create_time, _ = _time(decoder, item, name, out.create_time)
            elif name == "ExpirationTime":
                # A pointer: null makes it nil.
                out.expiration_time = (
                    None if item is None else _time(decoder, item, name, out.expiration_time)[0]
                )
            elif name == "ExpirationTTL":
                ttl = _ttl(item)
        decoder.finish()
    except GoJSONError as exc:
        raise BodyError(str(exc)) from None
    if isinstance(ttl, str):
        try:
            ttl = parse_duration(ttl) if ttl else 0
        except GoDurationError as exc:
            raise BodyError(str(exc)) from None
    out.expiration_ttl = ttl
    return out


def _roles(
    decoder: StructDecoder, value: object, current: list[dict[str, str]] | None
) -> list[dict[str, str]] | None:
    if value is None:
        return None
    if not isinstance(value, list) or isinstance(value, Pairs):
        decoder.mismatch(value, "Roles", "[]*structs.ACLTokenRoleLink")
        return current
    links = []
    link_decoder = StructDecoder("structs", "ACLTokenRoleLink", ("ID", "Name"))
    for item in value:
        link = {"ID": "", "Name": ""}
        for name, field_value in link_decoder.items(item):
            link[name] = link_decoder.string(field_value, name, link[name])
        links.append(link)
    link_decoder.finish()
    return links


_POLICY_FIELDS = ("Name", "Description", "Rules", "JobACL")
_JOB_ACL_FIELDS = ("Namespace", "JobID", "Group", "Task")


def decode_policy_body(raw: bytes) -> PolicyRequest:
    """A policy create or update body; raises :class:`BodyError`."""
    value = _first_value(raw)
    decoder = StructDecoder("structs", "ACLPolicy", _POLICY_FIELDS)
    out = PolicyRequest()
    try:
        for name, item in decoder.items(value):
            if name == "JobACL":
                out.job_acl = _job_acl(item, out.job_acl)
            else:
                attr = name.lower()
                setattr(out, attr, decoder.string(item, name, getattr(out, attr)))
        decoder.finish()
    except GoJSONError as exc:
        raise BodyError(str(exc)) from None
    return out


def _job_acl(value: object, current: dict[str, str] | None) -> dict[str, str] | None:
    if value is None:
        return None
    decoder = StructDecoder("structs", "JobACL", _JOB_ACL_FIELDS)
    job_acl = dict(current) if current is not None else dict.fromkeys(_JOB_ACL_FIELDS, "")
    for name, item in decoder.items(value):
        job_acl[name] = decoder.string(item, name, job_acl[name])
    decoder.finish()
    return job_acl


def decode_bootstrap(raw: bytes) -> str:
    """The ``BootstrapSecret`` of a bootstrap body; other fields are ignored."""
    try:
        value = parse_first_value(raw)
        decoder = StructDecoder("structs", "ACLTokenBootstrapRequest", ("BootstrapSecret",))
        secret = ""
        for name, item in decoder.items(value):
            secret = decoder.string(item, name, secret)
        decoder.finish()
    except GoJSONError as exc:
        raise BodyError(f"failed to decode request body: {exc}") from None
    return secret
