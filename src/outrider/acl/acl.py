"""The compiled ACL object and its permission checks (``acl/acl.go`` ``NewACL`` and the ``Allow*`` methods).

Policies combine as a union per name with deny precedence: once a name's set
holds ``deny`` it holds nothing else, whatever policy order. A namespace is
looked up exactly first; only when no exact entry exists does the closest glob
apply (smallest ``len(ns) - len(pattern) + stars``, ties to the greatest
pattern). Variables are unioned without deny precedence, as in Nomad.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from outrider.acl import capabilities as caps
from outrider.acl.policy_model import Policy

__all__ = ["ACL", "ACLS_DISABLED", "MANAGEMENT", "WorkloadClaim", "compile_acl", "glob_match"]


@lru_cache(maxsize=1024)
def _glob_regex(pattern: str) -> re.Pattern[str]:
    return re.compile(".*".join(map(re.escape, pattern.split("*"))), re.S)


def glob_match(pattern: str, subject: str) -> bool:
    """``ryanuber/go-glob`` ``Glob``: only ``*`` is special, matching is case-sensitive."""
    if pattern == "*":
        return True
    if "*" not in pattern:
        return pattern == subject
    return _glob_regex(pattern).fullmatch(subject) is not None


def _byte_len(s: str) -> int:
    return len(s.encode("utf-8", "surrogateescape"))


class _Sets:
    """One kind's capability sets: exact names and glob patterns, kept apart (they never merge)."""

    def __init__(self) -> None:
        self.exact: dict[str, set[str]] = {}
        self.glob: dict[str, set[str]] = {}

    def add(self, name: str, capabilities: Iterable[str], deny_sticks: bool = True) -> None:
        table = self.glob if "*" in name else self.exact
        current = table.setdefault(name, set())
        if deny_sticks:
            _add_sticky(current, capabilities)
        else:
            current.update(capabilities)

    def lookup(self, name: str) -> set[str] | None:
        """The exact entry, else the closest matching glob, else ``None``."""
        exact = self.exact.get(name)
        if exact is not None:
            return exact
        return self.closest_glob(name)

    def closest_glob(self, name: str) -> set[str] | None:
        best: tuple[int, bytes] | None = None
        best_set = None
        size = _byte_len(name)
        for pattern, found in self.glob.items():
            if not glob_match(pattern, name):
                continue
            # Smallest difference wins; ties go to the pattern that sorts last in byte order.
            rank = (
                size - _byte_len(pattern) + pattern.count("*"),
                pattern.encode("utf-8", "surrogateescape"),
            )
            if best is None or rank[0] < best[0] or (rank[0] == best[0] and rank[1] > best[1]):
                best, best_set = rank, found
        return best_set

    def all_sets(self) -> Iterable[set[str]]:
        yield from self.exact.values()
        yield from self.glob.values()


@dataclass(frozen=True)
class WorkloadClaim:
    """A workload identity's claims, for the implicit variable access of ``AllowVariableOperation``."""

    namespace: str
    job: str
    group: str = ""
    task: str = ""


@dataclass
class ACL:
    """What a token may do. ``management`` allows everything; ``disabled`` is the ACL of an agent
    with ACLs off (everything but Sentinel operations)."""

    management: bool = False
    disabled: bool = False
    namespaces: _Sets = field(default_factory=_Sets)
    node_pools: _Sets = field(default_factory=_Sets)
    host_volumes: _Sets = field(default_factory=_Sets)
    variables: _Sets = field(default_factory=_Sets)
    agent: str = ""
    node: str = ""
    operator: str = ""
    quota: str = ""
    plugin: str = ""
    sentinel: str = ""
    operator_capabilities: set[str] = field(default_factory=set)
    sentinel_capabilities: set[str] = field(default_factory=set)

    @property
    def _all(self) -> bool:
        return self.management or self.disabled

    def is_management(self) -> bool:
        return self._all

    # -- namespaces ------------------------------------------------------------------------

    def allow_namespace_operation(self, namespace: str, capability: str) -> bool:
        """``AllowNsOp``: with ``*``, any namespace granting ``capability`` is enough."""
        if self._all:
            return True
        if namespace == "*" and any(capability in s for s in self.namespaces.all_sets()):
            return True
        found = self.namespaces.lookup(namespace)
        return found is not None and capability in found

    def allow_namespace_any(self, namespace: str, *capabilities: str) -> bool:
        """``AllowNsOpFunc(AllowNsOpAnyOf)``: any one of ``capabilities``."""
        return any(self.allow_namespace_operation(namespace, c) for c in capabilities)

    def allow_namespace(self, namespace: str) -> bool:
        """``AllowNamespace``: some capability and no deny (for ``*``: in any namespace)."""
        if self._all:
            return True
        if namespace == "*":
            return any(s and caps.DENY not in s for s in self.namespaces.all_sets())
        found = self.namespaces.lookup(namespace)
        return bool(found) and caps.DENY not in found  # type: ignore[operator]

    # -- level-style blocks ----------------------------------------------------------------

    def allow_node_read(self) -> bool:
        return self._all or self.node in (caps.READ, caps.WRITE)

    def allow_node_write(self) -> bool:
        return self._all or self.node == caps.WRITE

    def allow_agent_read(self) -> bool:
        return self._all or self.agent in (caps.READ, caps.WRITE)

    def allow_agent_write(self) -> bool:
        return self._all or self.agent == caps.WRITE

    def allow_operator_read(self) -> bool:
        return self._all or self.operator in (caps.READ, caps.WRITE)

    def allow_operator_write(self) -> bool:
        return self._all or self.operator == caps.WRITE

    def allow_operator_operation(self, capability: str) -> bool:
        return self._all or self.operator == caps.WRITE or capability in self.operator_capabilities

    def allow_quota_read(self) -> bool:
        return self._all or self.quota in (caps.READ, caps.WRITE)

    def allow_quota_write(self) -> bool:
        return self._all or self.quota == caps.WRITE

    def allow_plugin_read(self) -> bool:
        # Only "read": a plugin "write" grants neither read nor list, as in Nomad.
        return self._all or self.plugin == caps.READ

    def allow_plugin_list(self) -> bool:
        return self._all or self.plugin in (caps.LIST, caps.READ)

    def allow_sentinel_operation(self, capability: str) -> bool:
        # The one check an agent with ACLs off does not pass.
        if self.management:
            return True
        if self.disabled:
            return False
        return self.sentinel == caps.WRITE or capability in self.sentinel_capabilities

    # -- named resources -------------------------------------------------------------------

    def allow_host_volume_operation(self, name: str, capability: str) -> bool:
        if self._all:
            return True
        found = self.host_volumes.lookup(name)
        return found is not None and capability in found

    def allow_node_pool_operation(self, pool: str, capability: str) -> bool:
        if self._all:
            return True
        found = self.node_pools.lookup(pool)
        return found is not None and capability in found

    def allow_variable_operation(
        self, namespace: str, path: str, operation: str, claim: WorkloadClaim | None = None
    ) -> bool:
        """Exact ``ns\\x00path`` entry, then a workload's implicit read of its own job's paths, then the
        closest glob."""
        if self._all:
            return True
        key = f"{namespace}\x00{path}"
        exact = self.variables.exact.get(key)
        if exact is not None:
            return operation in exact
        if claim is not None and _implicitly_readable(claim, namespace, path, operation):
            return True
        found = self.variables.closest_glob(key)
        return found is not None and operation in found


def _implicitly_readable(claim: WorkloadClaim, namespace: str, path: str, operation: str) -> bool:
    if operation not in (caps.READ, caps.LIST) or claim.namespace != namespace:
        return False
    own = {
        "nomad/jobs",
        f"nomad/jobs/{claim.job}",
        f"nomad/jobs/{claim.job}/{claim.group}",
        f"nomad/jobs/{claim.job}/{claim.group}/{claim.task}",
    }
    return path in own


MANAGEMENT = ACL(management=True)
ACLS_DISABLED = ACL(disabled=True)


def compile_acl(policies: Iterable[Policy]) -> ACL:
    """``NewACL``: combine parsed (expanded) policies into one ACL."""
    acl = ACL()
    for policy in policies:
        for ns in policy.namespaces or ():
            acl.namespaces.add(ns.name, ns.capabilities or ())
            for path in (ns.variables.paths or ()) if ns.variables else ():
                acl.variables.add(
                    f"{ns.name}\x00{path.path_spec}", path.capabilities or (), deny_sticks=False
                )
        for pool in policy.node_pools or ():
            acl.node_pools.add(pool.name, pool.capabilities or ())
        for hv in policy.host_volumes or ():
            acl.host_volumes.add(hv.name, hv.capabilities or ())
        for attr in ("agent", "node", "quota", "plugin"):
            block = getattr(policy, attr)
            if block is not None:
                setattr(acl, attr, caps.max_privilege(getattr(acl, attr), block.policy))
        if policy.operator is not None:
            acl.operator = caps.max_privilege(acl.operator, policy.operator.policy)
            _add_sticky(acl.operator_capabilities, policy.operator.capabilities or ())
        if policy.sentinel is not None:
            acl.sentinel = caps.max_privilege(acl.sentinel, policy.sentinel.policy)
            _add_sticky(acl.sentinel_capabilities, policy.sentinel.capabilities or ())
    return acl


def _add_sticky(current: set[str], capabilities: Iterable[str]) -> None:
    """Add one block's capabilities: a set holding ``deny`` takes nothing more, and a ``deny``
    empties it of everything else."""
    if caps.DENY in current:
        return
    for cap in capabilities:
        if cap == caps.DENY:
            current.clear()
            current.add(caps.DENY)
            return
        current.add(cap)
