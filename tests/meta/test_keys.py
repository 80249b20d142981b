"""Metadata key validation: the table of valid and invalid keys with their texts.

Nomad's rule: ``nomad/structs/node.go`` ``NodeMetaApplyRequest.Validate``.
"""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from outrider.meta.keys import MetaValidationError, is_hcl_identifier, validate_keys

VALID = [
    "rack",
    "_x",
    "node.pool-a.v2",
    "über",
    "a-",
    "a_b.c_d",
    "x\u0301",  # a combining mark continues an identifier
    "\u2118",  # ℘: Other_ID_Start
    "a\u00b7b",  # middle dot: Other_ID_Continue
    "日本.語",
    "Ⅻ",  # Nl, a letter number
    "a‿b",  # U+203F undertie is connector punctuation
    "connect.transparent_proxy.default_uid",
]

INVALID = [
    "*",
    "1a",
    "a b",
    "a/b",
    "a.",
    ".a",
    "a..b",
    "-a",
    "a.1",
    "\u0301x",  # a combining mark cannot start one
    "ⸯ",  # U+2E2F: a letter, but Pattern_Syntax
    "a=b",
    "a\tb",
    "$x",
    "a.b.",
    "😀",
]


@pytest.mark.parametrize("key", VALID)
def test_valid_keys(key: str) -> None:
    validate_keys([key])


@pytest.mark.parametrize("key", INVALID)
def test_invalid_keys_name_the_key_quoted(key: str) -> None:
    with pytest.raises(MetaValidationError) as info:
        validate_keys(["ok", key])
    assert str(info.value).endswith(" is invalid; metadata keys must be valid dotted hcl identifiers")
    assert str(info.value).startswith('"')


def test_texts_are_exact() -> None:
    with pytest.raises(MetaValidationError, match=r"^missing required Meta object$"):
        validate_keys(None)
    with pytest.raises(MetaValidationError, match=r"^missing required Meta object$"):
        validate_keys([])
    with pytest.raises(MetaValidationError, match=r"^metadata keys must not be empty$"):
        validate_keys(["a", ""])
    with pytest.raises(MetaValidationError) as info:
        validate_keys(["a b"])
    assert str(info.value) == '"a b" is invalid; metadata keys must be valid dotted hcl identifiers'
    with pytest.raises(MetaValidationError) as info:
        validate_keys(['a"\n'])
    # Go's %q quoting of the key.
    assert str(info.value) == '"a\\"\\n" is invalid; metadata keys must be valid dotted hcl identifiers'


def test_first_bad_key_in_request_order_is_reported() -> None:
    for keys, expected in (
        (["good", "2bad", "", "*"], '"2bad" is invalid; metadata keys must be valid dotted hcl identifiers'),
        (["good", "", "2bad"], "metadata keys must not be empty"),
        (["*", "2bad"], '"*" is invalid; metadata keys must be valid dotted hcl identifiers'),
    ):
        with pytest.raises(MetaValidationError) as info:
            validate_keys(keys)
        assert str(info.value) == expected


# Characters whose NFKC form is themselves: there Unicode's ID_* and XID_* properties agree,
# so Python's str.isidentifier is an independent oracle (with "-" allowed after the start).
_STABLE = st.characters(codec="utf-8").filter(lambda c: unicodedata.normalize("NFKC", c) == c)


def _oracle(part: str) -> bool:
    if not part or not part[0].isidentifier():
        return False
    return all(c == "-" or ("a" + c).isidentifier() for c in part[1:])


@given(st.text(alphabet=_STABLE, max_size=8))
def test_identifier_agrees_with_xid_on_nfkc_stable_text(part: str) -> None:
    assert is_hcl_identifier(part) == _oracle(part)


@given(st.lists(st.text(alphabet="ab_-.1 é", max_size=5), min_size=1, max_size=4))
def test_dotted_rule(parts: list[str]) -> None:
    key = ".".join(parts)
    expected_ok = key != "" and all(_oracle(p) for p in key.split("."))
    if expected_ok:
        validate_keys([key])
    else:
        with pytest.raises(MetaValidationError):
            validate_keys([key])
