"""An agent config file in HCL v1, the syntax Nomad's agent reads (``command/agent/config_parse.go``).

HCL v1 takes quoted keys (``http_api_response_headers { "X-Foo" = "bar" }``),
which HCL 2 does not. The syntax tree becomes plain dicts, lists and scalars;
a block repeated at one level merges into one dict, as Nomad's decoder does.
"""

from __future__ import annotations

from typing import Any

from outrider.hcl1 import GoPanic, HCLError, ListType, LiteralType, ObjectList, ObjectType, parse
from outrider.hcl1.ast import TokenType


class HCLConfigError(ValueError):
    """The text is not valid HCL v1; the message is the parser's."""


def loads(text: str) -> dict[str, Any]:
    """The config file's text as a dict."""
    try:
        return _object(parse(text))
    except (HCLError, GoPanic) as exc:
        raise HCLConfigError(str(exc)) from None


def _object(items: ObjectList) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items.items:
        value = _value(item.val)
        # ``a "b" { ... }`` is ``a { b { ... } }``.
        for key in reversed(item.keys[1:]):
            value = {key.token.value(): value}
        name = item.keys[0].token.value()
        if isinstance(value, dict) and isinstance(out.get(name), dict):
            out[name] = {**out[name], **value}
        else:
            out[name] = value
    return out


def _value(node: Any) -> Any:
    if isinstance(node, ObjectType):
        return _object(node.list)
    if isinstance(node, ObjectList):
        return _object(node)
    if isinstance(node, ListType):
        return [_value(item) for item in node.items]
    if isinstance(node, LiteralType):
        token = node.token
        if token.type == TokenType.NUMBER:
            return int(token.text, 0)
        if token.type == TokenType.FLOAT:
            return float(token.text)
        if token.type == TokenType.BOOL:
            return token.text == "true"
        return token.value()
    return None
