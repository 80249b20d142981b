"""Resolving a request's token to an identity and ACL, and keeping compiled policies current."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.requests import Request

from outrider.acl.acl import ACLS_DISABLED, MANAGEMENT
from outrider.acl.bodies import PolicyRequest, TokenRequest
from outrider.acl.resolver import ACLResolver, TokenError
from outrider.acl.service import ACLService, ACLSettings
from outrider.acl.uuids import generate
from outrider.http.params import token_of
from outrider.state.db import StateDB


@pytest.fixture
def service(tmp_path: Path) -> Iterator[ACLService]:
    db = StateDB(str(tmp_path / "client" / "state.db"))
    yield ACLService(db, str(tmp_path), ACLSettings(enabled=True, token_min_expiration_ttl=1))
    db.close()


def policy(service: ACLService, name: str, rules: str) -> None:
    service.upsert_policy(PolicyRequest(name=name, rules=rules))


def client_token(service: ACLService, *policies: str, ttl: int = 0) -> str:
    written = service.upsert_token(TokenRequest(type="client", policies=list(policies), expiration_ttl=ttl))
    return written.secret


def request_with(headers: dict[str, str]) -> Request:
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    return Request({"type": "http", "headers": raw, "query_string": b"token=ignored"})


def test_disabled_means_everything_for_any_token(service: ACLService) -> None:
    resolver = ACLResolver(service.store, enabled=False)
    for secret in ("", "junk", generate()):
        identity = resolver.resolve(secret)
        assert identity.acl is ACLS_DISABLED and identity.token.accessor_id == "acls-disabled"


def test_anonymous_follows_the_anonymous_policy(service: ACLService) -> None:
    resolver = service.resolver
    assert not resolver.resolve("").acl.allow_namespace_operation("default", "read-job")
    policy(service, "anonymous", 'namespace "default" { policy = "read" }')
    anonymous = resolver.resolve(token_of(request_with({})))
    assert anonymous.token.accessor_id == "anonymous" and anonymous.secret == ""
    assert anonymous.acl.allow_namespace_operation("default", "read-job")


def test_tokens_from_headers_only(service: ACLService) -> None:
    secret = client_token(service, "p")
    assert service.resolver.resolve(token_of(request_with({"X-Nomad-Token": secret}))).secret == secret
    assert (
        service.resolver.resolve(token_of(request_with({"Authorization": f"Bearer {secret}"}))).secret
        == secret
    )
    assert service.resolver.resolve(token_of(request_with({}))).token.accessor_id == "anonymous"


def test_management(service: ACLService) -> None:
    root = service.bootstrap("")
    identity = service.resolver.resolve(root.secret)
    assert identity.acl is MANAGEMENT and identity.is_management and identity.token == root.token


@pytest.mark.parametrize(
    ("secret", "message", "status"),
    [
        (generate(), "Permission denied", 403),
        (
            "not-a-uuid",
            "failed to parse signed token: go-jose/go-jose: compact JWS format must have three parts",
            500,
        ),
        ("a.b.c", "failed to parse signed token: workload identities are not issued by this agent", 500),
    ],
)
def test_refusals(service: ACLService, secret: str, message: str, status: int) -> None:
    with pytest.raises(TokenError) as exc:
        service.resolver.resolve(secret)
    assert (exc.value.message, exc.value.raw_status) == (message, status)
    assert secret not in str(exc.value) or secret == ""


def test_expired_and_deleted_tokens_stop_at_once(service: ACLService) -> None:
    secret = client_token(service, "p", ttl=200_000_000)
    service.resolver.resolve(secret)
    time.sleep(0.3)
    with pytest.raises(TokenError) as exc:
        service.resolver.resolve(secret)
    assert (exc.value.message, exc.value.raw_status) == ("ACL token expired", 500)
    other = client_token(service, "p")
    token = service.resolver.resolve(other).token
    service.delete_token(token.accessor_id)
    with pytest.raises(TokenError, match="Permission denied"):
        service.resolver.resolve(other)


def test_compiled_policies_are_cached_and_dropped_on_change(service: ACLService) -> None:
    policy(service, "ops", 'namespace "default" { policy = "read" }')
    secret = client_token(service, "ops", "missing")
    first = service.resolver.resolve(secret).acl
    assert service.resolver.resolve(secret).acl is first
    assert first.allow_namespace_operation("default", "read-job")
    assert not first.allow_namespace_operation("default", "submit-job")
    policy(service, "ops", 'namespace "default" { policy = "write" }')
    assert service.resolver.resolve(secret).acl.allow_namespace_operation("default", "submit-job")
    policy(service, "missing", 'namespace "default" { policy = "deny" }')
    assert not service.resolver.resolve(secret).acl.allow_namespace_operation("default", "read-job")
    service.delete_policy("missing")
    service.delete_policy("ops")
    assert not service.resolver.resolve(secret).acl.allow_namespace_operation("default", "read-job")


def test_policies_of(service: ACLService) -> None:
    for name in ("b", "a", "c"):
        policy(service, name, "")
    secret = client_token(service, "c", "a", "gone")
    token = service.resolver.resolve(secret).token
    assert [p.name for p in service.resolver.policies_of(token)] == ["a", "c"]
    root = service.bootstrap("")
    assert [p.name for p in service.resolver.policies_of(root.token)] == ["a", "b", "c"]
