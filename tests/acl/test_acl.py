"""Compiling policies into an ACL: union, deny precedence, exact-then-closest-glob lookup, every check."""

from __future__ import annotations

import itertools

import pytest

from outrider.acl.acl import ACL, ACLS_DISABLED, MANAGEMENT, WorkloadClaim, compile_acl, glob_match
from outrider.acl.policy import parse_policy


def acl(*rules: str) -> ACL:
    return compile_acl(parse_policy(r, strict=False) for r in rules)


@pytest.mark.parametrize(
    ("pattern", "subject", "matches"),
    [
        ("*", "anything", True),
        ("*", "", True),
        ("", "", True),
        ("", "a", False),
        ("abc", "abc", True),
        ("abc", "ABC", False),
        ("a*c", "abbbc", True),
        ("a*c", "ab", False),
        ("*-api-services", "prod-api-services", True),
        ("prod-*", "prod-", True),
        ("*admin*", "production-admin-api", True),
        ("a*b*c", "aXbYc", True),
        ("a*b*c", "acb", False),
        ("a.c", "abc", False),
        ("a?c", "abc", False),
        ("[ab]", "a", False),
    ],
)
def test_glob(pattern: str, subject: str, matches: bool) -> None:
    assert glob_match(pattern, subject) is matches


def test_exact_entry_shadows_globs() -> None:
    a = acl('namespace "*" { policy = "read" }\nnamespace "default" { capabilities = ["submit-job"] }')
    assert a.allow_namespace_operation("default", "submit-job")
    assert not a.allow_namespace_operation("default", "list-jobs")
    assert a.allow_namespace_operation("other", "list-jobs")


@pytest.mark.parametrize("order", list(itertools.permutations(range(2))))
def test_closest_glob_by_difference_in_any_order(order: tuple[int, ...]) -> None:
    blocks = [
        'namespace "*-api-services" { capabilities = ["read-job"] }',
        'namespace "prod-api-*" { capabilities = ["submit-job"] }',
    ]
    a = acl(*(blocks[i] for i in order))
    assert a.allow_namespace_operation("prod-api-services", "read-job")
    assert not a.allow_namespace_operation("prod-api-services", "submit-job")


@pytest.mark.parametrize(
    ("patterns", "subject", "winner"),
    [
        (["production-*", "production-**", "*", "*admin*"], "production-admin-api", "production-**"),
        (["ab*", "a*c", "*bc"], "abc", "ab*"),
        (["*", "**"], "abc", "**"),
        (["*bc", "a*c"], "abc", "a*c"),
    ],
)
def test_glob_ties_go_to_the_greatest_pattern(patterns: list[str], subject: str, winner: str) -> None:
    caps = ["read-job", "submit-job", "read-logs", "read-fs"]
    lines = [f'namespace "{p}" {{ capabilities = ["{c}"] }}' for p, c in zip(patterns, caps, strict=False)]
    for rotation in range(len(lines)):
        a = acl("\n".join(lines[rotation:] + lines[:rotation]))
        granted = [c for c in caps if a.allow_namespace_operation(subject, c)]
        assert granted == [caps[patterns.index(winner)]]


@pytest.mark.parametrize(
    ("policies", "namespace", "capability", "allowed"),
    [
        (['namespace "x" { policy = "read" }', 'namespace "x" { policy = "deny" }'], "x", "read-job", False),
        (['namespace "x" { policy = "deny" }', 'namespace "x" { policy = "write" }'], "x", "submit-job", False),
        (['namespace "x" { capabilities = ["read-logs", "deny"] }'], "x", "read-logs", False),
        (['namespace "x" { policy = "deny" capabilities = ["read-job"] }'], "x", "read-job", False),
        (['namespace "x" { capabilities = ["read-fs"] }', 'namespace "x" { capabilities = ["read-logs"] }'], "x", "read-fs", True),
        (['namespace "x" { capabilities = ["read-fs"] }', 'namespace "x" { capabilities = ["read-logs"] }'], "x", "read-logs", True),
        (['namespace "x" { policy = "read" }'], "x", "read-logs", False),
        (['namespace "x" { policy = "read" }'], "x", "read-fs", False),
        (['namespace "x" { policy = "write" }'], "x", "alloc-node-exec", False),
        (['namespace "x" { policy = "write" }'], "x", "gc-allocation", False),
        (['namespace "x" { policy = "write" }'], "x", "read-logs", True),
        (['namespace "x" { policy = "write" }'], "X", "read-logs", False),
        (['namespace "x" { policy = "write" }'], "y", "read-job", False),
        (['namespace "x*" { policy = "deny" }', 'namespace "x" { policy = "read" }'], "x", "read-job", True),
        (['namespace "x" { policy = "read" }'], "*", "read-job", True),
        (['namespace "x*" { capabilities = ["list-jobs"] }'], "*", "list-jobs", True),
        (['namespace "x" { policy = "read" }'], "*", "submit-job", False),
    ],
)  # fmt: skip
def test_namespace_operations(policies: list[str], namespace: str, capability: str, allowed: bool) -> None:
    for order in itertools.permutations(policies):
        assert acl(*order).allow_namespace_operation(namespace, capability) is allowed


def test_any_of() -> None:
    a = acl('namespace "x" { capabilities = ["read-fs"] }')
    assert a.allow_namespace_any("x", "read-logs", "read-fs")
    assert not a.allow_namespace_any("x", "read-logs", "submit-job")


@pytest.mark.parametrize(
    ("rules", "namespace", "allowed"),
    [
        ('namespace "foo" {}', "foo", False),
        ('namespace "foo" { policy = "read" }', "foo", True),
        ('namespace "foo" { policy = "deny" }', "foo", False),
        ('namespace "f*" { policy = "read" }', "foo", True),
        ('namespace "foo" {}', "*", False),
        ('namespace "foo" { policy = "deny" }\nnamespace "bar" { policy = "read" }', "*", True),
        ('namespace "foo" { policy = "read" }', "bar", False),
    ],
)
def test_allow_namespace(rules: str, namespace: str, allowed: bool) -> None:
    assert acl(rules).allow_namespace(namespace) is allowed


@pytest.mark.parametrize(
    ("levels", "read", "write"),
    [
        (["read"], True, False),
        (["write"], True, True),
        (["deny"], False, False),
        (["scale"], False, False),
        (["read", "write"], True, True),
        (["write", "deny", "write"], False, False),
        (["scale", "read"], True, False),
    ],
)
@pytest.mark.parametrize("block", ["node", "agent", "operator", "quota"])
def test_level_blocks(block: str, levels: list[str], read: bool, write: bool) -> None:
    a = acl(*(f'{block} {{ policy = "{level}" }}' for level in levels))
    assert getattr(a, f"allow_{block}_read")() is read
    assert getattr(a, f"allow_{block}_write")() is write


@pytest.mark.parametrize(
    ("level", "read", "listed"),
    [("read", True, True), ("list", False, True), ("write", False, False), ("deny", False, False)],
)
def test_plugin_write_grants_neither_read_nor_list(level: str, read: bool, listed: bool) -> None:
    a = acl(f'plugin {{ policy = "{level}" }}')
    assert (a.allow_plugin_read(), a.allow_plugin_list()) == (read, listed)


def test_operator_operations() -> None:
    assert acl('operator { capabilities = ["snapshot-save"] }').allow_operator_operation("snapshot-save")
    assert not acl('operator { policy = "read" }').allow_operator_operation("snapshot-save")
    assert acl('operator { policy = "write" }').allow_operator_operation("anything")
    assert acl('operator { policy = "read" }').allow_operator_operation("keyring-read")


def test_named_resources() -> None:
    a = acl(
        'node_pool "prod" { policy = "read" }\nnode_pool "dev-*" { policy = "write" }\nhost_volume "data*" { policy = "read" }'
    )
    assert a.allow_node_pool_operation("prod", "read") and not a.allow_node_pool_operation("prod", "write")
    assert a.allow_node_pool_operation("dev-1", "delete")
    assert not a.allow_node_pool_operation("other", "read")
    assert a.allow_host_volume_operation("data1", "mount-readonly")
    assert not a.allow_host_volume_operation("data1", "mount-readwrite")


def test_variables_union_without_deny_precedence() -> None:
    a = acl(
        'namespace "a" { variables { path "p" { capabilities = ["read"] } } }',
        'namespace "a" { variables { path "p" { capabilities = ["deny"] } } }',
    )
    assert a.allow_variable_operation("a", "p", "read")
    assert a.allow_variable_operation("a", "p", "list")
    assert not a.allow_variable_operation("a", "p", "write")


def test_namespace_deny_does_not_cover_variables() -> None:
    a = acl('namespace "a" { policy = "deny" variables { path "p" { capabilities = ["write"] } } }')
    assert a.allow_variable_operation("a", "p", "write")
    assert not a.allow_namespace_operation("a", "read-job")


def test_variables_globs_and_workload_claims() -> None:
    a = acl('namespace "*" { variables { path "apps/*" { capabilities = ["read"] } } }')
    assert a.allow_variable_operation("prod", "apps/web", "read")
    assert not a.allow_variable_operation("prod", "other", "read")
    claim = WorkloadClaim(namespace="prod", job="web", group="g", task="t")
    assert a.allow_variable_operation("prod", "nomad/jobs/web/g", "read", claim)
    assert a.allow_variable_operation("prod", "nomad/jobs", "list", claim)
    assert not a.allow_variable_operation("prod", "nomad/jobs/web/g", "write", claim)
    assert not a.allow_variable_operation("dev", "nomad/jobs/web", "read", claim)
    assert not a.allow_variable_operation("prod", "nomad/jobs/other", "read", claim)


def test_special_acls() -> None:
    for special in (MANAGEMENT, ACLS_DISABLED):
        assert special.is_management()
        assert special.allow_namespace_operation("any", "alloc-node-exec")
        assert special.allow_node_write() and special.allow_agent_write() and special.allow_plugin_read()
        assert special.allow_variable_operation("a", "b", "destroy")
    assert MANAGEMENT.allow_sentinel_operation("sentinel-submit")
    assert not ACLS_DISABLED.allow_sentinel_operation("sentinel-submit")


def test_nothing_grants_nothing() -> None:
    a = acl()
    assert not a.is_management()
    assert not a.allow_namespace_operation("default", "read-job")
    assert not a.allow_namespace_operation("*", "read-job")
    assert not a.allow_node_read() and not a.allow_agent_read() and not a.allow_plugin_list()
    assert not a.allow_sentinel_operation("sentinel-read")
