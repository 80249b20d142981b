"""Decoding an HCL v1 tree into a :class:`Policy`, as HCL's reflection decoder does it (``decoder.go``).

The decoder's rules make the language what it is, so they are kept as they are:

- a block or attribute name matches its field case-insensitively;
- a field repeated in one block is decoded again into the same value: a scalar
  takes the last value, a list grows (``capabilities = [..] capabilities = [..]``);
- a repeated singleton block (``agent { } agent { }``) merges into the first;
- a labelled block keeps its first label as its name; a block without a label
  gets an empty name; ``namespace "a" "b" { }`` keeps ``a`` and loses its body;
- keys no field took are collected, sorted, for the strict-mode check.

Error texts name the path (``root.namespace[0].Policy``) as Go's do.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from outrider.acl.policy_model import (
    CapabilityPolicy,
    HostVolumePolicy,
    LevelPolicy,
    NamespacePolicy,
    NodePoolPolicy,
    Policy,
    VariablesPathPolicy,
    VariablesPolicy,
)
from outrider.hcl1 import (
    INDEX_OUT_OF_RANGE,
    GoPanic,
    ListType,
    LiteralType,
    Node,
    ObjectItem,
    ObjectKey,
    ObjectList,
    ObjectType,
    Pos,
    PosError,
)
from outrider.hcl1.ast import TokenType, equal_fold


@dataclass(frozen=True)
class Field:
    """One struct field: its HCL name (``tag``), the attribute it fills and how to decode it."""

    tag: str
    attr: str
    kind: str  # "string", "strings", "struct" (a pointer), "structs" (a slice of pointers)
    struct: Struct | None = None


@dataclass(frozen=True)
class Struct:
    go_name: str
    factory: Callable[[], Any]
    fields: tuple[Field, ...]
    # The ",key" field (the block label): its Go name and attribute.
    key: tuple[str, str] | None = None


def _strings(tag: str = "Capabilities") -> Field:
    return Field(tag, "capabilities", "strings")


_PATH = Struct("VariablesPathPolicy", VariablesPathPolicy, (_strings(),), key=("PathSpec", "path_spec"))
_VARIABLES = Struct("VariablesPolicy", VariablesPolicy, (Field("path", "paths", "structs", _PATH),))
_NAMESPACE = Struct(
    "NamespacePolicy",
    NamespacePolicy,
    (Field("Policy", "policy", "string"), _strings(), Field("variables", "variables", "struct", _VARIABLES)),
    key=("Name", "name"),
)
_NODE_POOL = Struct(
    "NodePoolPolicy", NodePoolPolicy, (Field("Policy", "policy", "string"), _strings()), key=("Name", "name")
)
_HOST_VOLUME = Struct(
    "HostVolumePolicy",
    HostVolumePolicy,
    (Field("Policy", "policy", "string"), _strings()),
    key=("Name", "name"),
)
_LEVEL = Struct("LevelPolicy", LevelPolicy, (Field("Policy", "policy", "string"),))
_CAPS = Struct("CapabilityPolicy", CapabilityPolicy, (Field("Policy", "policy", "string"), _strings()))
ROOT = Struct(
    "Policy",
    Policy,
    (
        Field("namespace", "namespaces", "structs", _NAMESPACE),
        Field("node_pool", "node_pools", "structs", _NODE_POOL),
        Field("host_volume", "host_volumes", "structs", _HOST_VOLUME),
        Field("agent", "agent", "struct", _LEVEL),
        Field("node", "node", "struct", _LEVEL),
        Field("operator", "operator", "struct", _CAPS),
        Field("quota", "quota", "struct", _LEVEL),
        Field("plugin", "plugin", "struct", _LEVEL),
        Field("sentinel", "sentinel", "struct", _CAPS),
    ),
)


def decode_policy(root: ObjectList, raw: str) -> Policy:
    """Decode a parsed document; raises :class:`PosError` or :class:`GoPanic` as HCL v1 would."""
    policy = Policy(raw=raw)
    policy.extra_keys = _decode_struct("root", root, policy, ROOT)
    return policy


def _decode(name: str, node: Node, f: Field, current: Any) -> Any:
    if f.kind == "string":
        return _decode_string(name, node)
    if f.kind == "strings":
        return _decode_slice(name, node, current, _decode_string, expand=False)
    assert f.struct is not None
    struct = f.struct
    if f.kind == "struct":
        return _decode_pointer(name, node, current, struct)
    return _decode_slice(
        name, node, current, lambda n, item: _decode_pointer(n, item, None, struct), expand=True
    )


def _decode_pointer(name: str, node: Node, current: Any, struct: Struct) -> Any:
    # A pointer already set is decoded into again: how repeated blocks merge.
    target = struct.factory() if current is None else current
    _decode_struct(name, node, target, struct)
    return target


def _decode_string(name: str, node: Node) -> str:
    if isinstance(node, LiteralType):
        tok = node.token
        if tok.type in (TokenType.NUMBER, TokenType.FLOAT, TokenType.BOOL):
            return tok.text
        if tok.type in (TokenType.STRING, TokenType.HEREDOC):
            return tok.value()
    raise PosError(node.pos(), f"{name}: unknown type for string {node.go_type}")


def _decode_slice(
    name: str, node: Node, current: list[Any] | None, decode_item: Callable[[str, Node], Any], expand: bool
) -> list[Any]:
    items: list[Node]
    if isinstance(node, ObjectList):
        items = list(node.items)
    elif isinstance(node, ObjectType):
        items = [node]
    elif isinstance(node, ListType):
        items = list(node.items)
    else:
        raise PosError(node.pos(), f"unknown slice type: {node.go_type}")
    result = [] if current is None else current
    for i, item in enumerate(items):
        result.append(decode_item(f"{name}[{i}]", _expand_object(item) if expand else item))
    return result


def _expand_object(node: Node) -> Node:
    """``expandObject``: an item with two keys left becomes a block holding a one-key item."""
    if not isinstance(node, ObjectItem) or len(node.keys) != 2:
        return node
    inner = replace(node, keys=node.keys[1:])
    return ObjectItem([ObjectKey(node.keys[0].token)], ObjectType(Pos(), ObjectList([inner])))


def _remove_case_fold(keys: list[str], name: str) -> None:
    for i, key in enumerate(keys):
        if equal_fold(key, name):
            del keys[i]
            return


def _decode_struct(name: str, node: Node, target: Any, struct: Struct) -> list[str]:
    """Fill ``target``'s fields from ``node``; return the keys no field took (sorted)."""
    item = None
    if isinstance(node, ObjectItem):
        item = node
        node = item.val  # type: ignore[assignment]
    if isinstance(node, ObjectType):
        node = node.list
    if isinstance(node, LiteralType) and item is not None:
        node = ObjectList([item])
    if not isinstance(node, ObjectList):
        raise PosError(node.pos(), f"{name}: not an object type for struct ({node.go_type})")
    unused = [key.token.value() for entry in node.items for key in entry.keys]
    if struct.key is not None:
        _set_key(name, node, item, target, struct)
    for f in struct.fields:
        _decode_field(name, node, target, f, unused)
    return sorted(unused)


def _set_key(name: str, body: ObjectList, item: ObjectItem | None, target: Any, struct: Struct) -> None:
    assert struct.key is not None
    go_field, attr = struct.key
    if item is None:
        raise PosError(body.pos(), f"{name}: {go_field} asked for 'key', impossible")
    if not item.keys and not body.items:
        # A completely empty block without a label (`namespace {}`) crashes the reference's
        # decoder; Nomad reports the recovered panic.
        raise GoPanic(INDEX_OUT_OF_RANGE)
    setattr(target, attr, item.keys[0].token.value() if item.keys else "")


def _decode_field(name: str, body: ObjectList, target: Any, f: Field, unused: list[str]) -> None:
    found = body.filter(f.tag)
    prefixed, direct = found.children(), found.elem()
    if not prefixed.items and not direct.items:
        return
    if f.kind == "structs" and f.struct is not None and f.struct.key is not None:
        # A block without a label is one with an empty label, not an object to take keys from.
        prefixed = ObjectList(prefixed.items + direct.items)
        direct = ObjectList()
    _remove_case_fold(unused, f.tag)
    path = f"{name}.{f.tag}"
    value = getattr(target, f.attr)
    if prefixed.items:
        value = _decode(path, prefixed, f, value)
    for match in direct.items:
        assert match.val is not None
        value_node: Node = match.val
        if isinstance(value_node, ObjectType):
            value_node = ObjectList(list(value_node.list.items))
        value = _decode(path, value_node, f, value)
    setattr(target, f.attr, value)
