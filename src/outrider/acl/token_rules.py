"""Creating and updating a token (``nomad/acl_endpoint.go`` ``upsertTokens``, ``ACLToken.Canonicalize``
and ``Validate``): the checks, in order, and what is kept from the stored token."""

from __future__ import annotations

from dataclasses import dataclass

from outrider.acl.bodies import TokenRequest
from outrider.acl.errors import ACLRequestError, multierror
from outrider.acl.token import CLIENT, MANAGEMENT, ACLToken
from outrider.acl.uuids import generate, is_uuid
from outrider.goduration import format_duration

MAX_TOKEN_NAME = 256


@dataclass
class PreparedToken:
    """A token ready to store: its fields and the secret (the caller's or a new one), or ``None``
    when an update keeps the stored secret."""

    token: ACLToken
    secret: str | None


def canonicalize(req: TokenRequest, now_ns: int) -> tuple[ACLToken, str | None]:
    """``Canonicalize``: a new token gets IDs and a create time; a TTL without an expiration time
    sets one from the create time."""
    token = ACLToken(
        accessor_id=req.accessor_id,
        name=req.name,
        type=req.type,
        policies=req.policies,
        roles=req.roles,
        global_=req.global_,
        create_time=req.create_time,
        expiration_time=req.expiration_time,
        expiration_ttl=req.expiration_ttl,
    )
    secret: str | None = req.secret_id
    if not token.accessor_id:
        token.accessor_id = generate()
        secret = generate()
        token.create_time = None
    if token.create_time is None:
        token.create_time = now_ns
        if token.expiration_time is None and token.expiration_ttl != 0:
            token.expiration_time = now_ns + token.expiration_ttl
    return token, secret


def validation_errors(token: ACLToken, existing: ACLToken | None, min_ttl: int, max_ttl: int) -> list[str]:
    """``ACLToken.Validate``: every failure, in Nomad's order."""
    errors = []
    if len(token.name.encode("utf-8", "surrogateescape")) > MAX_TOKEN_NAME:
        errors.append("token name too long")
    if token.type == CLIENT:
        if not token.policies and not token.roles:
            errors.append("client token missing policies or roles")
    elif token.type == MANAGEMENT:
        if token.policies or token.roles:
            errors.append("management token cannot be associated with policies or roles")
    else:
        errors.append("token type must be client or management")
    if existing is None:
        errors += _creation_errors(token, min_ttl, max_ttl)
    else:
        if existing.global_ != token.global_:
            errors.append("cannot toggle global mode")
        if existing.expiration_ttl != token.expiration_ttl:
            errors.append("cannot update expiration TTL")
        # A stored token without an expiration cannot gain one either (Nomad crashes on this).
        if token.expiration_time is not None and token.expiration_time != existing.expiration_time:
            errors.append("cannot update expiration time")
    return errors


def _creation_errors(token: ACLToken, min_ttl: int, max_ttl: int) -> list[str]:
    errors = []
    if token.expiration_ttl < 0:
        errors.append(
            f"token expiration TTL '{format_duration(token.expiration_ttl)}' should not be negative"
        )
    if token.expiration_time is not None:
        assert token.create_time is not None
        if token.create_time > token.expiration_time:
            errors.append("expiration time cannot be before create time")
        expires_in = token.expiration_time - token.create_time
        if expires_in > max_ttl:
            errors.append(
                f"expiration time cannot be more than {format_duration(max_ttl)} in the future "
                f"(was {format_duration(expires_in)})"
            )
        elif expires_in < min_ttl:
            errors.append(
                f"expiration time cannot be less than {format_duration(min_ttl)} in the future "
                f"(was {format_duration(expires_in)})"
            )
    return errors


def prepare(
    req: TokenRequest, existing: ACLToken | None, now_ns: int, min_ttl: int, max_ttl: int
) -> PreparedToken:
    """Steps 1-5 of an upsert for a looked-up ``existing`` token (``None`` when there is none).

    Raises :class:`ACLRequestError` with Nomad's status and text.
    """
    if (
        req.accessor_id
        and existing is None
        and not (is_uuid(req.accessor_id) and is_uuid(req.secret_id) and req.type != MANAGEMENT)
    ):
        # Only a client token with caller-chosen IDs may be uploaded.
        raise ACLRequestError(400, f"cannot find token {req.accessor_id}")
    token, secret = canonicalize(req, now_ns)
    errors = validation_errors(token, existing, min_ttl, max_ttl)
    if errors:
        raise ACLRequestError(400, multierror("token 0 invalid: ", errors))
    for link in token.roles or ():
        # This agent has no roles, so every link is dangling.
        raise ACLRequestError(400, f"cannot find role {link.get('ID') or link.get('Name', '')}")
    token.hash = token.compute_hash()
    if existing is not None:
        # The secret, creation index and creation time never change on update.
        token.create_index = existing.create_index
        token.create_time = existing.create_time
        secret = None
    return PreparedToken(token, secret)
