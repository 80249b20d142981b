"""HCL v1's parser (``hcl/parser``, v1.0.0): the same tree and the same error texts.

Comments are skipped: they only feed the Go parser's comment groups, which
never change the tree or an error.
"""

from __future__ import annotations

from outrider.hcl1.ast import (
    ListType,
    LiteralType,
    Node,
    ObjectItem,
    ObjectKey,
    ObjectList,
    ObjectType,
    Token,
    TokenType,
)
from outrider.hcl1.errors import HCLError, Pos, PosError
from outrider.hcl1.scanner import Scanner

_LITERALS = (TokenType.NUMBER, TokenType.FLOAT, TokenType.BOOL, TokenType.STRING, TokenType.HEREDOC)


class _EOFToken(HCLError):
    """``errEofToken``: the input ended where an item could start."""


class _KeyError(Exception):
    """An error from ``objectKey`` that still carries the keys read so far."""

    def __init__(self, keys: list[ObjectKey], error: Exception) -> None:
        super().__init__(str(error))
        self.keys = keys
        self.error = error


class Parser:
    def __init__(self, src: bytes) -> None:
        self._scanner = Scanner(src)
        self._scan_error: PosError | None = None
        self._scanner.error = self._record
        self.tok = Token(TokenType.ILLEGAL, Pos(), "")
        self._buffered = False

    def _record(self, pos: Pos, msg: str) -> None:
        # Go keeps the last scanner error and reports it ahead of any parse error.
        self._scan_error = PosError(pos, msg)

    def parse(self) -> ObjectList:
        node, error = self._object_list(obj=False)
        if self._scan_error is not None:
            raise self._scan_error
        if error is not None:
            raise error
        return node

    def _scan(self) -> Token:
        if self._buffered:
            self._buffered = False
            return self.tok
        self.tok = self._scanner.scan()
        while self.tok.type == TokenType.COMMENT:
            self.tok = self._scanner.scan()
        return self.tok

    def _unscan(self) -> None:
        self._buffered = True

    def _object_list(self, obj: bool) -> tuple[ObjectList, HCLError | None]:
        """The items up to the end (or ``}`` when ``obj``), and the error that stopped it early.

        As in Go, the items read before an error are returned with it.
        """
        node = ObjectList()
        while True:
            if obj:
                tok = self._scan()
                self._unscan()
                if tok.type == TokenType.RBRACE:
                    break
            try:
                item = self._object_item()
            except _EOFToken:
                break
            except HCLError as exc:
                return node, exc
            node.items.append(item)
            if self._scan().type != TokenType.COMMA:
                self._unscan()
        return node, None

    def _object_item(self) -> ObjectItem:
        try:
            keys = self._object_key()
        except _KeyError as exc:
            keys = exc.keys
            if not keys:
                raise exc.error from None
            if not isinstance(exc.error, _EOFToken) and self.tok.type != TokenType.RBRACE:
                raise exc.error from None
            if not isinstance(exc.error, _EOFToken):
                # Keys without a value inside an object: fall through to the value error below,
                # and make the enclosing objectType see that it did not end cleanly.
                self.tok = Token(TokenType.EOF, self.tok.pos, self.tok.text)
        item = ObjectItem(keys)
        if self.tok.type == TokenType.ASSIGN:
            item.val = self._object()
        elif self.tok.type == TokenType.LBRACE:
            item.val = self._object_type()
        else:
            names = " ".join(k.token.text for k in keys)
            raise PosError(self.tok.pos, f"key '{names}' expected start of object ('{{') or assignment ('=')")
        return item

    def _object_key(self) -> list[ObjectKey]:
        keys: list[ObjectKey] = []
        while True:
            tok = self._scan()
            if tok.type == TokenType.EOF:
                raise _KeyError(keys, _EOFToken())
            if tok.type == TokenType.ASSIGN:
                if len(keys) > 1:
                    raise _KeyError([], PosError(tok.pos, f"nested object expected: LBRACE got: {tok.type}"))
                if not keys:
                    raise _KeyError([], PosError(tok.pos, "no object keys found!"))
                return keys
            if tok.type == TokenType.LBRACE:
                if not keys:
                    raise _KeyError(keys, PosError(tok.pos, f"expected: IDENT | STRING got: {tok.type}"))
                return keys
            if tok.type in (TokenType.IDENT, TokenType.STRING):
                keys.append(ObjectKey(tok))
            elif tok.type == TokenType.ILLEGAL:
                raise _KeyError(keys, PosError(tok.pos, "illegal character"))
            else:
                raise _KeyError(
                    keys, PosError(tok.pos, f"expected: IDENT | STRING | ASSIGN | LBRACE got: {tok.type}")
                )

    def _object(self) -> Node:
        tok = self._scan()
        if tok.type in _LITERALS:
            return LiteralType(tok)
        if tok.type == TokenType.LBRACE:
            return self._object_type()
        if tok.type == TokenType.LBRACK:
            return self._list_type()
        if tok.type == TokenType.EOF:
            raise _EOFToken()
        raise PosError(tok.pos, f"Unknown token: {tok.go_struct()}")

    def _object_type(self) -> ObjectType:
        lbrace = self.tok.pos
        items, error = self._object_list(obj=True)
        if error is not None and self.tok.type != TokenType.RBRACE:
            raise error
        tok = self._scan()
        if tok.type != TokenType.RBRACE:
            raise PosError(tok.pos, f"object expected closing RBRACE got: {tok.type}")
        return ObjectType(lbrace, items)

    def _list_type(self) -> ListType:
        node = ListType(self.tok.pos)
        need_comma = False
        while True:
            tok = self._scan()
            if need_comma and tok.type not in (TokenType.COMMA, TokenType.RBRACK):
                raise PosError(tok.pos, f"error parsing list, expected comma or list end, got: {tok.type}")
            if tok.type in _LITERALS:
                node.items.append(LiteralType(tok))
                need_comma = True
            elif tok.type == TokenType.COMMA:
                need_comma = False
            elif tok.type == TokenType.LBRACE:
                node.items.append(self._nested(tok, "object", self._object_type))
                need_comma = True
            elif tok.type == TokenType.LBRACK:
                node.items.append(self._nested(tok, "list", self._list_type))
            elif tok.type == TokenType.RBRACK:
                return node
            else:
                raise PosError(tok.pos, f"unexpected token while parsing list: {tok.type}")

    @staticmethod
    def _nested(tok: Token, what: str, parse: object) -> Node:
        assert callable(parse)
        try:
            node: Node = parse()
        except _EOFToken:
            raise PosError(
                tok.pos, f"error while trying to parse {what} within list: EOF token found"
            ) from None
        except HCLError as exc:
            raise PosError(tok.pos, f"error while trying to parse {what} within list: {exc}") from None
        return node


def parse_hcl(src: bytes) -> ObjectList:
    """``hcl/parser.Parse``: CRLF line endings normalised first, as the Go parser does."""
    return Parser(src.replace(b"\r\n", b"\n")).parse()
