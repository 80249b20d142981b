"""Decoding POST /v1/client/metadata bodies with Go encoding/json semantics (Nomad's ``meta_endpoint.go``)."""

from __future__ import annotations

import pytest

from outrider.meta.body import ApplyRequest, MetaBodyError, decode_apply_body


def test_plain_body() -> None:
    got = decode_apply_body(b'{"Meta": {"a": "1", "b": null}, "NodeID": "n1"}')
    assert got == ApplyRequest({"a": "1", "b": None}, "n1")
    assert list(got.meta or {}) == ["a", "b"]


@pytest.mark.parametrize("name", ["meta", "META", "mEtA"])
def test_field_names_match_case_insensitively(name: str) -> None:
    got = decode_apply_body(f'{{"{name}": {{"a": "1"}}, "nodeid": "x"}}'.encode())
    assert got == ApplyRequest({"a": "1"}, "x")


def test_unknown_fields_and_query_options_are_ignored() -> None:
    body = b'{"AuthToken": "secret", "Region": "r", "Namespace": 5, "Other": [1], "Meta": {"a": "b"}}'
    assert decode_apply_body(body) == ApplyRequest({"a": "b"}, "")


def test_only_the_first_value_is_read() -> None:
    assert decode_apply_body(b' {"Meta": {"a": "b"}} trailing garbage {') == ApplyRequest({"a": "b"}, "")


def test_repeated_meta_merges_and_null_resets() -> None:
    assert decode_apply_body(b'{"Meta": {"a": "1"}, "meta": {"b": "2", "a": "3"}}').meta == {
        "a": "3",
        "b": "2",
    }
    assert decode_apply_body(b'{"Meta": {"a": "1"}, "meta": null}').meta is None
    assert decode_apply_body(b'{"Meta": {"a": "1"}, "meta": null, "META": {"c": "d"}}').meta == {"c": "d"}


def test_null_and_empty_shapes() -> None:
    assert decode_apply_body(b"null") == ApplyRequest(None, "")
    assert decode_apply_body(b"{}") == ApplyRequest(None, "")
    assert decode_apply_body(b'{"Meta": {}}') == ApplyRequest({}, "")
    assert decode_apply_body(b'{"NodeID": null, "Meta": null}') == ApplyRequest(None, "")


@pytest.mark.parametrize(
    ("body", "text"),
    [
        (b"", "Request body is empty"),
        (b"   \n\t", "EOF"),
        (b'{"Meta": {"a": ', "unexpected EOF"),
        (b"[1]", "json: cannot unmarshal array into Go value of type structs.NodeMetaApplyRequest"),
        (b'"x"', "json: cannot unmarshal string into Go value of type structs.NodeMetaApplyRequest"),
        (b"7", "json: cannot unmarshal number into Go value of type structs.NodeMetaApplyRequest"),
        (
            b'{"Meta": {"a": 1}}',
            "json: cannot unmarshal number into Go struct field NodeMetaApplyRequest.Meta of type string",
        ),
        (
            b'{"Meta": {"a": true}}',
            "json: cannot unmarshal bool into Go struct field NodeMetaApplyRequest.Meta of type string",
        ),
        (
            b'{"Meta": {"a": {"b": "c"}}}',
            "json: cannot unmarshal object into Go struct field NodeMetaApplyRequest.Meta of type string",
        ),
        (
            b'{"Meta": ["a"]}',
            "json: cannot unmarshal array into Go struct field NodeMetaApplyRequest.Meta of type map[string]*string",
        ),
        (
            b'{"Meta": {"a": "b"}, "NodeID": 3}',
            "json: cannot unmarshal number into Go struct field NodeMetaApplyRequest.NodeID of type string",
        ),
        (b'{"Meta": NaN}', "invalid character 'N' looking for beginning of value"),
        (b'{"Meta": -Infinity}', "invalid character 'I' in numeric literal"),
    ],
)
def test_errors(body: bytes, text: str) -> None:
    with pytest.raises(MetaBodyError) as info:
        decode_apply_body(body)
    assert str(info.value) == text


def test_first_type_error_wins_after_full_decode() -> None:
    with pytest.raises(MetaBodyError, match="NodeID"):
        decode_apply_body(b'{"NodeID": false, "Meta": {"a": 1}}')


@pytest.mark.parametrize("body", [b"{", b'{"Meta" {}}', b"{'Meta': {}}", b"\xef\xbb\xbf{}", b"{,}"])
def test_malformed_json_is_described(body: bytes) -> None:
    with pytest.raises(MetaBodyError) as info:
        decode_apply_body(body)
    assert str(info.value)


def test_invalid_utf8_inside_strings_becomes_replacement_character() -> None:
    assert decode_apply_body(b'{"Meta": {"a": "x\xffy"}}').meta == {"a": "x\ufffdy"}


def test_unpaired_surrogate_escapes_become_replacement_characters() -> None:
    # Go's decoder does this; a lone surrogate could be neither stored nor encoded.
    got = decode_apply_body(b'{"Meta": {"a\\udc00": "x\\ud800y\\ud83d\\ude00"}, "NodeID": "\\udfff"}')
    assert got == ApplyRequest({"a\ufffd": "x\ufffdy\U0001f600"}, "\ufffd")


def test_deep_nesting_is_a_decode_error() -> None:
    with pytest.raises(MetaBodyError) as info:
        decode_apply_body(b'{"Other": ' + b"[" * 100_000 + b"]" * 100_000 + b', "Meta": {"a": "b"}}')
    assert str(info.value) == "exceeded max depth"
