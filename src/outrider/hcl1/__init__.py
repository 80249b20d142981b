"""HashiCorp's HCL v1 (``github.com/hashicorp/hcl`` v1.0.0): the syntax Nomad's ACL policies use.

python-hcl2 reads HCL 2, which differs where policies need HCL v1: repeated
attributes (v1 concatenates lists), commas between items, heredoc values,
numbers as strings, the JSON form's flattening, and every error text.
"""

from outrider.hcl1.ast import ListType, LiteralType, Node, ObjectItem, ObjectKey, ObjectList, ObjectType
from outrider.hcl1.errors import INDEX_OUT_OF_RANGE, GoPanic, HCLError, Pos, PosError
from outrider.hcl1.parse import parse

__all__ = [
    "INDEX_OUT_OF_RANGE",
    "GoPanic",
    "HCLError",
    "ListType",
    "LiteralType",
    "Node",
    "ObjectItem",
    "ObjectKey",
    "ObjectList",
    "ObjectType",
    "Pos",
    "PosError",
    "parse",
]
