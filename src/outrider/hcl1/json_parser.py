"""HCL v1's JSON parser (``json/parser``): JSON into the HCL tree, flattened the way HCL reads it.

Its leniencies are kept: trailing commas pass, ``true`` and ``false`` inside a
list are dropped, an object need not be followed by anything in particular.
Errors carry no position except the scanner's (``line:col: msg``).
"""

from __future__ import annotations

from outrider.hcl1.ast import ListType, LiteralType, Node, ObjectItem, ObjectKey, ObjectList, ObjectType
from outrider.hcl1.errors import HCLError, Pos
from outrider.hcl1.json_scanner import JSONScanner, JSONToken, JSONType

_LITERALS = (JSONType.NUMBER, JSONType.FLOAT, JSONType.BOOL, JSONType.NULL, JSONType.STRING)


class _EOFToken(HCLError):
    def __init__(self) -> None:
        super().__init__("EOF token found")


class JSONParser:
    def __init__(self, src: bytes) -> None:
        self._scanner = JSONScanner(src)
        self._scan_error: HCLError | None = None
        self._scanner.error = self._record
        self.tok = JSONToken(JSONType.ILLEGAL, Pos(), "")

    def _record(self, pos: Pos, msg: str) -> None:
        self._scan_error = HCLError(f"{pos}: {msg}")

    def parse(self) -> ObjectList:
        try:
            root: ObjectType | None = self._object()
            error: HCLError | None = None
        except HCLError as exc:
            root, error = None, exc
        if self._scan_error is not None:
            raise self._scan_error
        if error is not None:
            raise error
        assert root is not None
        flatten_objects(root.list)
        return root.list

    def _scan(self) -> JSONToken:
        self.tok = self._scanner.scan()
        return self.tok

    def _object(self) -> ObjectType:
        tok = self._scan()
        if tok.type == JSONType.LBRACE:
            return self._object_type()
        if tok.type == JSONType.EOF:
            raise _EOFToken()
        raise HCLError(f"Expected object, got unknown token: {tok.go_struct()}")

    def _object_type(self) -> ObjectType:
        items, error = self._object_list()
        if self.tok.type != JSONType.RBRACE:
            if error is not None:
                raise error
            raise HCLError(f"unexpected token while parsing object: {self.tok.type}")
        return ObjectType(Pos(), items)

    def _object_list(self) -> tuple[ObjectList, HCLError | None]:
        node = ObjectList()
        while True:
            try:
                item = self._object_item()
            except _EOFToken:
                break
            except HCLError as exc:
                return node, exc
            node.items.append(item)
            if self._scan().type != JSONType.COMMA:
                break
        return node, None

    def _object_item(self) -> ObjectItem:
        keys: list[ObjectKey] = []
        while True:
            tok = self._scan()
            if tok.type == JSONType.EOF:
                raise _EOFToken()
            if tok.type == JSONType.STRING:
                keys.append(ObjectKey(tok.hcl_token()))
            elif tok.type == JSONType.COLON and keys:
                return ObjectItem(keys, self._object_value())
            elif tok.type == JSONType.ILLEGAL:
                raise HCLError("illegal")
            else:
                raise HCLError(f"expected: STRING got: {tok.type}")

    def _object_value(self) -> Node:
        tok = self._scan()
        if tok.type in _LITERALS:
            return LiteralType(tok.hcl_token())
        if tok.type == JSONType.LBRACE:
            return self._object_type()
        if tok.type == JSONType.LBRACK:
            return self._list_type()
        if tok.type == JSONType.EOF:
            raise _EOFToken()
        raise HCLError(f"Expected object value, got unknown token: {tok.go_struct()}")

    def _list_type(self) -> ListType:
        node = ListType(Pos())
        while True:
            tok = self._scan()
            if tok.type in (JSONType.NUMBER, JSONType.FLOAT, JSONType.STRING):
                node.items.append(LiteralType(tok.hcl_token()))
            elif tok.type == JSONType.LBRACE:
                node.items.append(self._object_type())
            elif tok.type == JSONType.RBRACK:
                return node
            elif tok.type not in (JSONType.COMMA, JSONType.BOOL, JSONType.LBRACK):
                raise HCLError(f"unexpected token while parsing list: {tok.type}")


def _expand(item: ObjectItem) -> list[ObjectItem]:
    """``flattenObjectType``/``flattenListType``: an object of objects becomes one item per child
    (keys joined), a list of objects one item per element; anything else stays as it is."""
    val = item.val
    if isinstance(val, ObjectType):
        subs = val.list.items
        if not subs or not all(isinstance(sub.val, ObjectType) for sub in subs):
            return [item]
        return [flat for sub in subs for flat in _expand(ObjectItem(item.keys + sub.keys, sub.val))]
    if isinstance(val, ListType):
        if not val.items or not all(isinstance(elem, ObjectType) for elem in val.items):
            return [item]
        return [flat for elem in val.items for flat in _expand(ObjectItem(item.keys, elem))]
    return [item]


def _walk(val: Node | None) -> None:
    if isinstance(val, ObjectType):
        flatten_objects(val.list)
    elif isinstance(val, ListType):
        for elem in val.items:
            _walk(elem)


def flatten_objects(node: ObjectList) -> None:
    """``flattenObjects``: rewrite every object list in the tree, outermost first."""
    node.items = [flat for item in node.items for flat in _expand(item)]
    for item in node.items:
        _walk(item.val)


def parse_json(src: bytes) -> ObjectList:
    return JSONParser(src).parse()
