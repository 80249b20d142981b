"""HCL v1's syntax tree (``hcl/ast``) and tokens (``hcl/token``), shared by the HCL and JSON parsers."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import IntEnum

from outrider.gostrconv import fold_ascii
from outrider.hcl1.errors import INDEX_OUT_OF_RANGE, GoPanic, Pos
from outrider.hcl1.unquote import UnquoteError, go_unquote, hcl_unquote


class TokenType(IntEnum):
    """``hcl/token.Type``; the names are what error messages print."""

    ILLEGAL = 0
    EOF = 1
    COMMENT = 2
    IDENT = 4
    NUMBER = 5
    FLOAT = 6
    BOOL = 7
    STRING = 8
    HEREDOC = 9
    LBRACK = 12
    LBRACE = 13
    COMMA = 14
    PERIOD = 15
    RBRACK = 16
    RBRACE = 17
    ASSIGN = 18
    ADD = 19
    SUB = 20

    def __str__(self) -> str:
        return self.name


@dataclass
class Token:
    """``hcl/token.Token``; ``json`` marks a string that came from a JSON document."""

    type: TokenType
    pos: Pos
    text: str
    json: bool = False

    def go_struct(self) -> str:
        """The ``%+v`` rendering of the token, as ``Unknown token: ...`` prints it."""
        return (
            f"{{Type:{self.type} Pos:{self.pos.go_struct()} Text:{self.text} "
            f"JSON:{'true' if self.json else 'false'}}}"
        )

    def value(self) -> str:
        """``Token.Value`` for the kinds the decoder reads as strings; a bad literal panics as in Go."""
        if self.type == TokenType.STRING:
            if self.text == "":  # a JSON null
                return ""
            try:
                return go_unquote(self.text) if self.json else hcl_unquote(self.text)
            except UnquoteError as exc:
                raise GoPanic(f"unquote {self.text} err: {exc}") from None
        if self.type == TokenType.HEREDOC:
            return _unindent_heredoc(self.text)
        return self.text


def _unindent_heredoc(heredoc: str) -> str:
    """``unindentHeredoc``, with Go's byte arithmetic (the text ends with the terminator line)."""
    raw = heredoc.encode("utf-8", "surrogatepass")
    idx = raw.find(b"\n")
    if idx == -1:
        raise GoPanic("heredoc doesn't contain newline")
    if raw[2:3] != b"-":
        return raw[idx + 1 : len(raw) - idx + 1].decode("utf-8", "surrogateescape")
    lines = raw[idx + 1 : len(raw) - idx + 2].split(b"\n")
    prefix = lines[-1]
    if not all(line.startswith(prefix) for line in lines):
        body = raw[idx + 1 : len(raw) - idx + 1].rstrip(b" \t")
        return body.decode("utf-8", "surrogateescape")
    kept = [line[len(prefix) :] for line in lines[:-1]] + [b""]
    return b"\n".join(kept).decode("utf-8", "surrogateescape")


@dataclass
class ObjectKey:
    token: Token

    def pos(self) -> Pos:
        return self.token.pos


@dataclass
class LiteralType:
    token: Token
    go_type = "*ast.LiteralType"

    def pos(self) -> Pos:
        return self.token.pos


@dataclass
class ListType:
    lbrack: Pos
    items: list[Node] = field(default_factory=list)
    go_type = "*ast.ListType"

    def pos(self) -> Pos:
        return self.lbrack


@dataclass
class ObjectType:
    lbrace: Pos
    list: ObjectList
    go_type = "*ast.ObjectType"

    def pos(self) -> Pos:
        return self.lbrace


@dataclass
class ObjectItem:
    """An item: its keys (``namespace "default"``) and its value; no value means ``None``."""

    keys: list[ObjectKey]
    val: Node | None = None
    go_type = "*ast.ObjectItem"

    def pos(self) -> Pos:
        if not self.keys:
            raise GoPanic(INDEX_OUT_OF_RANGE)
        return self.keys[0].pos()


@dataclass
class ObjectList:
    items: list[ObjectItem] = field(default_factory=list)
    go_type = "*ast.ObjectList"

    def pos(self) -> Pos:
        if not self.items:
            raise GoPanic(INDEX_OUT_OF_RANGE)
        return self.items[0].pos()

    def filter(self, key: str) -> ObjectList:
        """``Filter(key)``: the items whose first key equals ``key`` (case-folded), that key stripped."""
        out = ObjectList()
        for item in self.items:
            if not item.keys:
                continue
            first = item.keys[0].token.value()
            if first == key or equal_fold(first, key):
                out.items.append(replace(item, keys=item.keys[1:]))
        return out

    def children(self) -> ObjectList:
        """Items that still have keys: labelled blocks."""
        return ObjectList([item for item in self.items if item.keys])

    def elem(self) -> ObjectList:
        """Items with no keys left: direct assignments and unlabelled blocks."""
        return ObjectList([item for item in self.items if not item.keys])


def equal_fold(s: str, name: str) -> bool:
    """Go ``strings.EqualFold(s, name)`` for an ASCII ``name`` (every field name is ASCII)."""
    return fold_ascii(s) == name.lower()


Node = ObjectList | ObjectItem | ObjectType | ListType | LiteralType
