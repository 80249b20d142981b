"""The HCL v1 parser: tree shapes, JSON flattening, positions and error texts."""

from __future__ import annotations

from typing import Any

import pytest

from outrider.hcl1 import (
    GoPanic,
    HCLError,
    ListType,
    LiteralType,
    Node,
    ObjectItem,
    ObjectList,
    ObjectType,
    parse,
)


def shape(node: Node | None) -> Any:
    """A plain rendering: an object list is a list of (keys, value) pairs, a literal its value."""
    if isinstance(node, ObjectList):
        return [([k.token.value() for k in item.keys], shape(item.val)) for item in node.items]
    if isinstance(node, ObjectItem):
        return shape(ObjectList([node]))
    if isinstance(node, ObjectType):
        return shape(node.list)
    if isinstance(node, ListType):
        return ("list", [shape(x) for x in node.items])
    assert isinstance(node, LiteralType)
    return (node.token.type.name, node.token.value())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('a = "b"', [(["a"], ("STRING", "b"))]),
        ('namespace "default" { policy = "read" }', [(["namespace", "default"], [(["policy"], ("STRING", "read"))])]),
        ("namespace default {}", [(["namespace", "default"], [])]),
        ('agent = { policy = "read" }', [(["agent"], [(["policy"], ("STRING", "read"))])]),
        ('a = "x", b = "y",', [(["a"], ("STRING", "x")), (["b"], ("STRING", "y"))]),
        ('l = ["a", "b",]', [(["l"], ("list", [("STRING", "a"), ("STRING", "b")]))]),
        ("n = 1\nf = 1.5e3\nb = true\nh = 0x1F", [
            (["n"], ("NUMBER", "1")), (["f"], ("FLOAT", "1.5e3")), (["b"], ("BOOL", "true")), (["h"], ("NUMBER", "0x1F")),
        ]),
        ("# c\n// d\n/* e\n f */ a = 1", [(["a"], ("NUMBER", "1"))]),
        ("p = <<EOT\nread\nEOT\n", [(["p"], ("HEREDOC", "read\n"))]),
        ("p = <<-EOT\n    a\n      b\n    EOT\n", [(["p"], ("HEREDOC", "a\n  b\n"))]),
        ('s = "\\t\\u00e9\\x41"', [(["s"], ("STRING", "\téA"))]),
        ('s = "${a "b"}"', [(["s"], ("STRING", '${a "b"}'))]),
        ("a.b-c_d = 1", [(["a.b-c_d"], ("NUMBER", "1"))]),
        ("a = 1\r\nb = 2\r\n", [(["a"], ("NUMBER", "1")), (["b"], ("NUMBER", "2"))]),
        ("", []),
        ("a =", []),  # a value cut by the end of input drops the item, as HCL v1 does
    ],
)  # fmt: skip
def test_hcl_trees(text: str, expected: Any) -> None:
    assert shape(parse(text)) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": "b"}', [(["a"], ("STRING", "b"))]),
        ('{"namespace": {"default": {"policy": "read"}}}', [(["namespace", "default"], [(["policy"], ("STRING", "read"))])]),
        (
            '{"namespace": [{"a": {"policy": "read"}}, {"b": {}}]}',
            [(["namespace", "a"], [(["policy"], ("STRING", "read"))]), (["namespace", "b"], [])],
        ),
        ('{"node": [{"policy": "write"}]}', [(["node"], [(["policy"], ("STRING", "write"))])]),
        (
            '{"v": {"path": {"a/*": {"capabilities": ["read"]}}}}',
            [(["v", "path", "a/*"], [(["capabilities"], ("list", [("STRING", "read")]))])],
        ),
        ('{"a": 1,}', [(["a"], ("NUMBER", "1"))]),
        ('{"l": [true, 1, "x", false]}', [(["l"], ("list", [("NUMBER", "1"), ("STRING", "x")]))]),
        ('{"n": null}', [(["n"], ("STRING", ""))]),
        ('  {"a": {}}', [(["a"], [])]),
    ],
)  # fmt: skip
def test_json_trees(text: str, expected: Any) -> None:
    assert shape(parse(text)) == expected


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("invalid", "At 1:9: key 'invalid' expected start of object ('{') or assignment ('=')"),
        (
            "not a valid hcl",
            "At 1:17: key 'not a valid hcl' expected start of object ('{') or assignment ('=')",
        ),
        ("a b = 1", "At 1:5: nested object expected: LBRACE got: ASSIGN"),
        ("= 1", "At 1:1: no object keys found!"),
        ("{}", None),
        ('a = "x', "At 1:7: literal not terminated"),
        # The scanner goes on after an error and the last one is reported.
        ('a = "x\ny"', "At 2:3: literal not terminated"),
        ('{"a\\/b": 1}', "1:5: illegal char escape"),
        ('namespace "a" { x = }', "At 1:22: object expected closing RBRACE got: EOF"),
        ('namespace "a" { x }', "At 1:19: key 'x' expected start of object ('{') or assignment ('=')"),
        ("x = 0159", "At 1:9: illegal octal number"),
        ("x = @", "At 1:5: illegal char"),
        ('l = ["a" "b"]', "At 1:10: error parsing list, expected comma or list end, got: STRING"),
        ("l = [=]", "At 1:6: unexpected token while parsing list: ASSIGN"),
        (
            "a = ]",
            "At 1:5: Unknown token: {Type:RBRACK Pos:{Filename: Offset:4 Line:1 Column:5} Text:] JSON:false}",
        ),
        ("/* open", "At 1:8: comment not terminated"),
        ("p = <<EOT\nread\nEOT", "At 3:4: heredoc not terminated"),
        ('s = "\\q"', "At 1:7: illegal char escape"),
        ('{"a": 1 "b": 2}', "unexpected token while parsing object: STRING"),
        ('{"a" 1}', "expected: STRING got: NUMBER"),
        ('{"a": [null]}', "unexpected token while parsing list: NULL"),
        ('{"a": foo}', "1:9: illegal char"),
        ('{"a": ', "unexpected token while parsing object: EOF"),
    ],
)
def test_errors(text: str, error: str | None) -> None:
    if error is None:
        parse(text)
        return
    with pytest.raises(HCLError) as exc:
        parse(text)
    assert str(exc.value) == error


@pytest.mark.parametrize(
    ("text", "panic"),
    [
        ('"\\500" = 1', 'unquote "\\500" err: invalid syntax'),
        ('{"a\\U00110000": 1}', 'unquote "a\\U00110000" err: invalid syntax'),
    ],
)
def test_bad_literals_panic_when_read(text: str, panic: str) -> None:
    # The scanner lets these through; reading the value panics in Go, and Nomad recovers it.
    tree = parse(text)
    with pytest.raises(GoPanic) as exc:
        tree.items[0].keys[0].token.value()
    assert str(exc.value) == panic


def test_columns_count_runes_and_lines_restart() -> None:
    with pytest.raises(HCLError) as exc:
        parse('a = "é"\nb = @')
    assert str(exc.value) == "At 2:5: illegal char"


def test_filter_matches_case_insensitively_with_go_folding() -> None:
    # U+017F (long s) folds to s and U+212A (Kelvin sign) to k, as in Go's strings.EqualFold.
    tree = parse('Namespace "a" {}\nnamespace "b" {}\nname\u017fpace "c" {}\nnamespac\u00e9 "d" {}')
    assert [item.keys[0].token.value() for item in tree.filter("namespace").items] == ["a", "b", "c"]
    assert [item.keys[0].token.value() for item in tree.filter("NAMESPACE").items] == ["a", "b", "c"]
    assert len(parse("\u212aey = 1").filter("key").items) == 1
