"""Validation of a metadata apply request (``nomad/structs/node.go`` ``NodeMetaApplyRequest.Validate``).

Keys must be dotted HCL identifiers because their main use is in constraints, as
interpolated variables (``${meta.rack}``). HCL's scanner accepts an identifier
as ``(ID_Start | '_') (ID_Continue | '-')*`` over Unicode's derived properties
(hclsyntax ``scan_tokens.rl``). Python exposes the NFKC-closed XID variants
through ``str.isidentifier``, which differ from ID_Start/ID_Continue on a few
characters, so the properties are derived here from the general categories as
Unicode's DerivedCoreProperties.txt defines them.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from outrider.gostrconv import quote

_START_CATEGORIES = frozenset({"Lu", "Ll", "Lt", "Lm", "Lo", "Nl"})
_CONTINUE_CATEGORIES = _START_CATEGORIES | {"Mn", "Mc", "Nd", "Pc"}
# PropList.txt: Other_ID_Start and Other_ID_Continue keep identifiers stable across
# Unicode versions; the one Pattern_Syntax letter is excluded from both properties.
_OTHER_ID_START = frozenset("\u1885\u1886\u2118\u212e\u309b\u309c")
_OTHER_ID_CONTINUE = frozenset("\u00b7\u0387\u1369\u136a\u136b\u136c\u136d\u136e\u136f\u1370\u1371\u19da")
_PATTERN_SYNTAX_LETTERS = frozenset("\u2e2f")

MISSING_META = "missing required Meta object"
EMPTY_KEY = "metadata keys must not be empty"


class MetaValidationError(ValueError):
    """A 400 of the metadata API; ``str()`` is the exact response text."""


def _id_start(ch: str) -> bool:
    if ch in _PATTERN_SYNTAX_LETTERS:
        return False
    return unicodedata.category(ch) in _START_CATEGORIES or ch in _OTHER_ID_START


def _id_continue(ch: str) -> bool:
    if ch in _PATTERN_SYNTAX_LETTERS:
        return False
    return (
        unicodedata.category(ch) in _CONTINUE_CATEGORIES or ch in _OTHER_ID_START or ch in _OTHER_ID_CONTINUE
    )


def is_hcl_identifier(part: str) -> bool:
    """True when ``part`` is one HCL identifier: ``(ID_Start | _)(ID_Continue | -)*``."""
    if not part:
        return False
    first = part[0]
    if first != "_" and not _id_start(first):
        return False
    return all(ch == "-" or _id_continue(ch) for ch in part[1:])


def invalid_key_message(key: str) -> str:
    return f"{quote(key)} is invalid; metadata keys must be valid dotted hcl identifiers"


def validate_keys(keys: Iterable[str] | None) -> None:
    """Raise :class:`MetaValidationError` for the first bad key, in request order.

    ``None`` or no keys at all is "missing required Meta object". The reference
    walks a Go map, so which bad key it names is random; here it is always the
    first one the request listed.
    """
    if keys is None:
        raise MetaValidationError(MISSING_META)
    seen = False
    for key in keys:
        seen = True
        if key == "":
            raise MetaValidationError(EMPTY_KEY)
        if not all(is_hcl_identifier(part) for part in key.split(".")):
            raise MetaValidationError(invalid_key_message(key))
    if not seen:
        raise MetaValidationError(MISSING_META)
