"""Parsing and validating a policy's ``Rules`` (``acl/policy.go`` ``Parse``), with Nomad's texts.

A policy is parsed **strictly** when it is created or updated (unknown or
repeated top-level keys are refused) and **leniently** when a stored policy is
evaluated or shown. Validation stops at the first failure, in Nomad's order:
syntax, an empty document, namespaces, node pools, host volumes, the strict key
check, then agent, node, operator, sentinel, quota and plugin.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from outrider.acl import capabilities as caps
from outrider.acl.policy_decode import decode_policy
from outrider.acl.policy_model import (
    LevelPolicy,
    NamespacePolicy,
    Policy,
    dump_capability_block,
    dump_host_volume,
    dump_level,
    dump_namespace,
)
from outrider.gostrconv import quote
from outrider.hcl1 import GoPanic, HCLError, parse

__all__ = ["Policy", "PolicyError", "parse_policy"]


class PolicyError(ValueError):
    """The rules are not a valid policy; ``str()`` is Nomad's text."""


def parse_policy(rules: str, strict: bool) -> Policy:
    """Parse, validate and expand ``rules``; raises :class:`PolicyError`."""
    if rules == "":
        return Policy(raw="")
    try:
        policy = decode_policy(parse(rules), rules)
    except GoPanic as exc:
        # Nomad recovers a panic of the HCL decoder and reports it.
        raise PolicyError(f"Failed to parse ACL Policy: invalid acl policy: {exc}") from None
    except HCLError as exc:
        raise PolicyError(f"Failed to parse ACL Policy: {exc}") from None
    if policy.is_empty():
        raise PolicyError(f"Invalid policy: {rules}")
    for ns in policy.namespaces or ():
        _check_namespace(ns)
    for pool in policy.node_pools or ():
        _check_block(pool, _NODE_POOL)
    for hv in policy.host_volumes or ():
        _check_block(hv, _HOST_VOLUME)
    if strict:
        leftover = _leftover_keys(policy)
        if leftover:
            raise PolicyError("Invalid or duplicate policy keys: " + ", ".join(leftover))
    _check_required_level("agent", "AgentPolicy", policy.agent, caps.POLICY_LEVELS)
    _check_required_level("node", "NodePolicy", policy.node, caps.POLICY_LEVELS)
    if policy.operator is not None:
        _check_block(policy.operator, _OPERATOR)
    if policy.sentinel is not None:
        _check_block(policy.sentinel, _SENTINEL)
    _check_required_level("quota", "QuotaPolicy", policy.quota, caps.POLICY_LEVELS)
    _check_required_level("plugin", "PluginPolicy", policy.plugin, caps.PLUGIN_LEVELS)
    return policy


def _append(current: list[str] | None, extra: tuple[str, ...] | list[str]) -> list[str] | None:
    """Go's ``append``: appending nothing to nil stays nil."""
    if not extra:
        return current
    return [*(current or []), *extra]


@dataclass(frozen=True)
class _BlockRules:
    """What a block with a ``policy`` and ``capabilities`` may hold, and how each refusal reads."""

    capabilities: frozenset[str]
    expansion: dict[str, tuple[str, ...]]
    bad_policy: Callable[[Any], str]
    bad_capability: Callable[[str, Any], str]
    valid_name: re.Pattern[str] | None = None
    bad_name: Callable[[Any], str] = str


_NAMESPACE = _BlockRules(
    caps.NAMESPACE_CAPABILITIES,
    caps.NAMESPACE_POLICY_EXPANSION,
    lambda ns: f"Invalid namespace policy: {dump_namespace(ns)}",
    lambda cap, ns: f"Invalid namespace capability '{cap}': {dump_namespace(ns)}",
    caps.VALID_NAMESPACE,
    lambda ns: f"Invalid namespace name: {dump_namespace(ns)}",
)
_NODE_POOL = _BlockRules(
    caps.NODE_POOL_CAPABILITIES,
    caps.NODE_POOL_POLICY_EXPANSION,
    lambda pool: f"Invalid node pool policy '{pool.policy}' for '{pool.name}'",
    lambda cap, pool: f"Invalid node pool capability '{cap}' for '{pool.name}'",
    caps.VALID_NODE_POOL,
    lambda pool: f"Invalid node pool name '{pool.name}'",
)
_HOST_VOLUME = _BlockRules(
    caps.HOST_VOLUME_CAPABILITIES,
    caps.HOST_VOLUME_POLICY_EXPANSION,
    lambda hv: f"Invalid host volume policy: {dump_host_volume(hv)}",
    lambda cap, hv: f"Invalid host volume capability '{cap}': {dump_host_volume(hv)}",
    caps.VALID_HOST_VOLUME,
    lambda hv: f"Invalid host volume name: {dump_host_volume(hv)}",
)
_OPERATOR = _BlockRules(
    caps.OPERATOR_CAPABILITIES,
    caps.OPERATOR_POLICY_EXPANSION,
    lambda block: f"Invalid operator policy: {dump_capability_block('OperatorPolicy', block)}",
    lambda cap, _block: f"Invalid operator capability '{cap}'",
)
_SENTINEL = _BlockRules(
    caps.SENTINEL_CAPABILITIES,
    caps.SENTINEL_POLICY_EXPANSION,
    lambda block: f"Invalid sentinel policy: {dump_capability_block('SentinelPolicy', block)}",
    lambda cap, _block: f"Invalid sentinel capability '{cap}'",
)


def _check_block(block: Any, rules: _BlockRules) -> None:
    """Name, level and each capability, in that order; then the level's expansion is appended."""
    if rules.valid_name is not None and not rules.valid_name.fullmatch(block.name):
        raise PolicyError(rules.bad_name(block))
    if block.policy and block.policy not in caps.POLICY_LEVELS:
        raise PolicyError(rules.bad_policy(block))
    for cap in block.capabilities or ():
        if cap not in rules.capabilities:
            raise PolicyError(rules.bad_capability(cap, block))
    if block.policy:
        block.capabilities = _append(block.capabilities, rules.expansion.get(block.policy, ()))


def _check_namespace(ns: NamespacePolicy) -> None:
    _check_block(ns, _NAMESPACE)
    if ns.capabilities is not None:
        ns.capabilities = caps.expand_namespace_capabilities(ns.capabilities)
    if ns.variables is None:
        return
    if not ns.variables.paths:
        raise PolicyError(f"Invalid variable policy: no variable paths in namespace {ns.name}")
    for path in ns.variables.paths:
        if path.path_spec == "":
            raise PolicyError(f"Invalid missing variable path in namespace {ns.name}")
        if path.path_spec.startswith("/"):
            # The stray backtick at the end is in Nomad's message.
            raise PolicyError(
                f"Invalid variable path {quote(path.path_spec)} in namespace {ns.name}: "
                "cannot start with a leading '/'`"
            )
        for cap in path.capabilities or ():
            if cap not in caps.VARIABLE_CAPABILITIES:
                raise PolicyError(f"Invalid variable capability '{cap}' in namespace {ns.name}")
        path.capabilities = caps.expand_variable_capabilities(path.capabilities)


def _leftover_keys(policy: Policy) -> list[str]:
    """Keys of the document that no block accounts for (``ExtraKeysHCL`` less the labels).

    The decoder already took one occurrence of each known block name. Each
    labelled block then takes its label, and each block of a kind after the
    first takes one more occurrence of the kind's name.
    """
    keys = list(policy.extra_keys)
    for kind, blocks in (
        ("namespace", policy.namespaces),
        ("node_pool", policy.node_pools),
        ("host_volume", policy.host_volumes),
    ):
        for i, block in enumerate(blocks or ()):
            _remove_one(keys, block.name)
            if i > 0:
                _remove_one(keys, kind)
    return sorted(keys, key=lambda k: k.encode("utf-8", "surrogateescape"))


def _remove_one(keys: list[str], key: str) -> None:
    if key in keys:
        keys.remove(key)


def _check_required_level(kind: str, go_type: str, block: LevelPolicy | None, valid: frozenset[str]) -> None:
    if block is not None and block.policy not in valid:
        raise PolicyError(f"Invalid {kind} policy: {dump_level(go_type, block)}")
