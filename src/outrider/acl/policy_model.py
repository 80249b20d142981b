"""A parsed policy (``acl/policy.go`` ``Policy`` and its blocks), its ``RulesJSON`` and its Go dumps.

``None`` stands for Go's nil: a list never written is ``None``, an empty one
``[]``; both show in ``RulesJSON`` (``null`` against ``[]``) and in the
``%#v`` dumps of error texts (``[]string(nil)`` against ``[]string{}``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from outrider.gostrconv import quote


@dataclass
class VariablesPathPolicy:
    path_spec: str = ""
    capabilities: list[str] | None = None


@dataclass
class VariablesPolicy:
    paths: list[VariablesPathPolicy] | None = None


@dataclass
class NamespacePolicy:
    name: str = ""
    policy: str = ""
    capabilities: list[str] | None = None
    variables: VariablesPolicy | None = None


@dataclass
class NodePoolPolicy:
    name: str = ""
    policy: str = ""
    capabilities: list[str] | None = None


@dataclass
class HostVolumePolicy:
    name: str = ""
    policy: str = ""
    capabilities: list[str] | None = None


@dataclass
class LevelPolicy:
    """``AgentPolicy``, ``NodePolicy``, ``QuotaPolicy``, ``PluginPolicy``: one level."""

    policy: str = ""


@dataclass
class CapabilityPolicy:
    """``OperatorPolicy``, ``SentinelPolicy``: a level and capabilities."""

    policy: str = ""
    capabilities: list[str] | None = None


@dataclass
class Policy:
    raw: str = ""
    namespaces: list[NamespacePolicy] | None = None
    node_pools: list[NodePoolPolicy] | None = None
    host_volumes: list[HostVolumePolicy] | None = None
    agent: LevelPolicy | None = None
    node: LevelPolicy | None = None
    operator: CapabilityPolicy | None = None
    quota: LevelPolicy | None = None
    plugin: LevelPolicy | None = None
    sentinel: CapabilityPolicy | None = None
    extra_keys: list[str] = field(default_factory=list)

    def is_empty(self) -> bool:
        """No known block at all: the document held nothing but unknown keys (``IsEmpty``)."""
        return not (self.namespaces or self.node_pools or self.host_volumes) and all(
            block is None
            for block in (self.agent, self.node, self.operator, self.quota, self.plugin, self.sentinel)
        )


# -- Go %#v dumps, as error texts show the blocks ----------------------------------------------


def go_strings(values: list[str] | None) -> str:
    if values is None:
        return "[]string(nil)"
    return "[]string{" + ", ".join(quote(v) for v in values) + "}"


def _go_variables(variables: VariablesPolicy | None) -> str:
    # Go prints this pointer's address, which nothing can reproduce; the pointed-to value is
    # rendered instead, so the text stays deterministic and still says what was written.
    if variables is None:
        return "(*acl.VariablesPolicy)(nil)"
    if variables.paths is None:
        paths = "[]*acl.VariablesPathPolicy(nil)"
    else:
        inner = ", ".join(
            f"&acl.VariablesPathPolicy{{PathSpec:{quote(p.path_spec)}, Capabilities:{go_strings(p.capabilities)}}}"
            for p in variables.paths
        )
        paths = "[]*acl.VariablesPathPolicy{" + inner + "}"
    return f"&acl.VariablesPolicy{{Paths:{paths}}}"


def dump_namespace(ns: NamespacePolicy) -> str:
    return (
        f"&acl.NamespacePolicy{{Name:{quote(ns.name)}, Policy:{quote(ns.policy)}, "
        f"Capabilities:{go_strings(ns.capabilities)}, Variables:{_go_variables(ns.variables)}}}"
    )


def dump_host_volume(hv: HostVolumePolicy) -> str:
    return (
        f"&acl.HostVolumePolicy{{Name:{quote(hv.name)}, Policy:{quote(hv.policy)}, "
        f"Capabilities:{go_strings(hv.capabilities)}}}"
    )


def dump_level(go_type: str, block: LevelPolicy) -> str:
    return f"&acl.{go_type}{{Policy:{quote(block.policy)}}}"


def dump_capability_block(go_type: str, block: CapabilityPolicy) -> str:
    return f"&acl.{go_type}{{Policy:{quote(block.policy)}, Capabilities:{go_strings(block.capabilities)}}}"


# -- RulesJSON ----------------------------------------------------------------------------------


def _named(blocks: list[Any] | None) -> list[dict[str, Any]] | None:
    if blocks is None:
        return None
    return [{"Capabilities": b.capabilities, "Name": b.name, "Policy": b.policy} for b in blocks]


def _namespace_json(ns: NamespacePolicy) -> dict[str, Any]:
    variables = None
    if ns.variables is not None:
        paths = ns.variables.paths
        variables = {
            "Paths": None
            if paths is None
            else [{"Capabilities": p.capabilities, "PathSpec": p.path_spec} for p in paths]
        }
    return {"Capabilities": ns.capabilities, "Name": ns.name, "Policy": ns.policy, "Variables": variables}


def _level(block: LevelPolicy | None) -> dict[str, Any] | None:
    return None if block is None else {"Policy": block.policy}


def _caps(block: CapabilityPolicy | None) -> dict[str, Any] | None:
    return None if block is None else {"Capabilities": block.capabilities, "Policy": block.policy}


def rules_json(policy: Policy) -> dict[str, Any]:
    """The ``RulesJSON`` object of ``GET /v1/acl/policy/<name>``: the lenient parse, expanded."""
    return {
        "Agent": _level(policy.agent),
        "ExtraKeysHCL": None,
        "HostVolumes": _named(policy.host_volumes),
        "Namespaces": None
        if policy.namespaces is None
        else [_namespace_json(ns) for ns in policy.namespaces],
        "Node": _level(policy.node),
        "NodePools": _named(policy.node_pools),
        "Operator": _caps(policy.operator),
        "Plugin": _level(policy.plugin),
        "Quota": _level(policy.quota),
        "Raw": policy.raw,
        "Sentinel": _caps(policy.sentinel),
    }
