"""Tokens: IDs and the UUID index, JSON shapes, bodies, the create/update rules, listing, the reset file."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest

from outrider.acl.bodies import BodyError, decode_bootstrap, decode_policy_body, decode_token, parse_rfc3339
from outrider.acl.errors import ACLRequestError
from outrider.acl.resolver import ANONYMOUS_TOKEN
from outrider.acl.service import parse_reset_index
from outrider.acl.token import ACLToken
from outrider.acl.token_list import select
from outrider.acl.token_rules import prepare
from outrider.acl.uuids import UUIDIndexError, generate, index_key, is_uuid
from outrider.goduration import HOUR, MINUTE

MIN_TTL, MAX_TTL = MINUTE, 24 * HOUR
NOW = 1_714_564_803_123_456_789  # 2024-05-01T12:00:03.123456789Z
A1 = "b780e702-98ce-521f-2e5f-c6b87de05b24"
S1 = "3f4a0fcd-7c42-773c-25db-2d31ba0c05fe"


def test_generated_ids_are_uuid_shaped_and_random() -> None:
    ids = {generate() for _ in range(50)}
    assert len(ids) == 50
    assert all(is_uuid(i) and i == i.lower() for i in ids)


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        (A1, True),
        (A1.upper(), True),
        (A1[:-1], False),
        (A1 + "0", False),
        (A1.replace("-", "x"), False),
        ("", False),
    ],
)
def test_is_uuid(value: str, ok: bool) -> None:
    assert is_uuid(value) is ok


@pytest.mark.parametrize(
    ("value", "enforce", "key"),
    [
        (A1, True, A1.replace("-", "")),
        (A1.upper(), True, A1.replace("-", "")),
        ("b780e70298ce521f2e5fc6b87de05b24----", True, A1.replace("-", "")),
        ("b780e702", False, "b780e702"),
        ("", False, ""),
    ],
)
def test_index_key(value: str, enforce: bool, key: str) -> None:
    assert index_key(value, enforce) == key


@pytest.mark.parametrize(
    ("value", "enforce", "error"),
    [
        ("xyz", True, "UUID must be 36 characters"),
        ("a" * 37, False, "Invalid UUID length. UUID have 36 characters; got 37"),
        ("a-b-c-d-e-f", False, 'UUID should have maximum of 4 "-"; got 5'),
        ("abc", False, "Input (without hyphens) must be even length"),
        ("ab-c", False, "Input (without hyphens) must be even length"),
        ("abgh", False, "Invalid UUID: encoding/hex: invalid byte: U+0067 'g'"),
        ("ab\x00h", False, "Invalid UUID: encoding/hex: invalid byte: U+0000"),
    ],
)
def test_index_key_errors(value: str, enforce: bool, error: str) -> None:
    with pytest.raises(UUIDIndexError) as exc:
        index_key(value, enforce)
    assert str(exc.value) == error


def bootstrap_like() -> ACLToken:
    token = ACLToken(A1, name="Bootstrap Token", type="management", global_=True, create_time=NOW)
    token.hash = token.compute_hash()
    token.create_index = token.modify_index = 7
    return token


def test_single_token_json_order_and_shape() -> None:
    token = bootstrap_like()
    digest = hashlib.blake2b(b"Bootstrap Tokenmanagementglobal", digest_size=32).digest()
    assert token.hash == digest
    expected_hash = json.dumps(base64.b64encode(digest).decode())
    assert token.to_json(S1).decode() == (
        '{"ExpirationTTL":"","AccessorID":"' + A1 + '","SecretID":"' + S1 + '","Name":"Bootstrap Token",'
        '"Type":"management","Policies":null,"Roles":null,"Global":true,"Hash":' + expected_hash + ","
        '"CreateTime":"2024-05-01T12:00:03.123456789Z","ExpirationTime":null,"CreateIndex":7,"ModifyIndex":7}'
    )


def test_anonymous_token_json() -> None:
    assert ANONYMOUS_TOKEN.to_json("").decode() == (
        '{"ExpirationTTL":"","AccessorID":"anonymous","SecretID":"","Name":"Anonymous Token","Type":"client",'
        '"Policies":["anonymous"],"Roles":null,"Global":false,"Hash":null,"CreateTime":"0001-01-01T00:00:00Z",'
        '"ExpirationTime":null,"CreateIndex":0,"ModifyIndex":0}'
    )


def test_token_json_escapes_like_go_encoding_json() -> None:
    token = ACLToken(
        A1, name="<a> & \u2028\u2029 \x01", type="client", policies=["p"], expiration_ttl=10 * HOUR
    )
    text = token.to_json("").decode()
    assert '"Name":"\\u003ca\\u003e \\u0026 \\u2028\\u2029 \\u0001"' in text
    assert text.startswith('{"ExpirationTTL":"10h0m0s",')


def test_list_stub_is_sorted_with_null_times() -> None:
    token = bootstrap_like()
    stub = token.stub()
    assert list(stub) == sorted(stub)
    assert stub["ExpirationTime"] is None and "SecretID" not in stub and "ExpirationTTL" not in stub
    assert stub["CreateTime"] == "2024-05-01T12:00:03.123456789Z"


def test_hash_covers_name_type_policies_scope() -> None:
    base = ACLToken(A1, name="n", type="client", policies=["a", "b"])
    variants = [
        ACLToken(A1, name="n2", type="client", policies=["a", "b"]),
        ACLToken(A1, name="n", type="client", policies=["b", "a"]),
        ACLToken(A1, name="n", type="client", policies=["a", "b"], global_=True),
    ]
    assert all(v.compute_hash() != base.compute_hash() for v in variants)
    assert base.compute_hash() == hashlib.blake2b(b"nclientablocal", digest_size=32).digest()


def test_state_round_trip_never_holds_the_secret() -> None:
    token = bootstrap_like()
    token.expiration_time, token.expiration_ttl, token.policies = NOW + HOUR, HOUR, ["x"]
    text = token.to_state()
    assert S1 not in text and "Secret" not in text
    assert ACLToken.from_state(text) == token


# -- bodies ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ttl", "ns"),
    [
        ('"10h"', 10 * HOUR),
        ('""', 0),
        ("null", 0),
        ("3600000000000", HOUR),
        ("1.9", 1),
        ("true", 0),
        ("[1]", 0),
    ],
)
def test_ttl_forms(ttl: str, ns: int) -> None:
    assert decode_token(f'{{"ExpirationTTL": {ttl}}}'.encode()).expiration_ttl == ns


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b'{"ExpirationTTL": "abc"}', 'time: invalid duration "abc"'),
        (b'{"ExpirationTTL": "10"}', 'time: missing unit in duration "10"'),
        (b'{"ExpirationTTL": "1d"}', 'time: unknown unit "d" in duration "1d"'),
        (b'{"Name": 5}', "json: cannot unmarshal number into Go struct field ACLToken.Name of type string"),
        (b'{"Policies": "a"}', "json: cannot unmarshal string into Go struct field ACLToken.Policies of type []string"),
        (b'{"Global": "yes"}', "json: cannot unmarshal string into Go struct field ACLToken.Global of type bool"),
        (b'"x"', "json: cannot unmarshal string into Go value of type structs.ACLToken"),
        (b"{", "unexpected EOF"),
        (b"   ", "EOF"),
        (b'{"CreateTime": "yesterday"}', 'parsing time "yesterday" as "2006-01-02T15:04:05Z07:00": cannot parse "yesterday" as "2006"'),
        (b'{"Name": 5, "ExpirationTTL": "abc"}', "json: cannot unmarshal number into Go struct field ACLToken.Name of type string"),
    ],
)  # fmt: skip
def test_token_body_errors(body: bytes, error: str) -> None:
    with pytest.raises(BodyError) as exc:
        decode_token(body)
    assert str(exc.value) == error


def test_token_body_keys_fold_and_last_wins() -> None:
    req = decode_token(
        b'{"name": "a", "NAME": "b", "\xc5\xbfecretID": "s", "policies": ["p"], "Type": "client"}'
    )
    assert (req.name, req.secret_id, req.policies, req.type) == ("b", "s", ["p"], "client")
    assert decode_token(b'{"Policies": ["a"], "policies": null}').policies is None
    assert decode_token(b'{"Unknown": 1, "Hash": "not base64 !"}').name == ""


@pytest.mark.parametrize(
    ("text", "ns"),
    [
        ("2024-05-01T12:00:03.123456789Z", NOW),
        ("2024-05-01T14:00:03.123456789+02:00", NOW),
        ("2024-05-01T12:00:03Z", NOW - 123456789),
        ("0001-01-01T00:00:00Z", None),
    ],
)
def test_rfc3339(text: str, ns: int | None) -> None:
    assert parse_rfc3339(text) == ns


def test_policy_and_bootstrap_bodies() -> None:
    body = decode_policy_body(
        b'{"name": "p", "Rules": "x", "JobACL": {"namespace": "n", "JobID": "j"}, "RulesJSON": {}}'
    )
    assert (body.name, body.rules, body.job_acl) == (
        "p",
        "x",
        {"Namespace": "n", "JobID": "j", "Group": "", "Task": ""},
    )
    assert decode_bootstrap(b'{"BootstrapSecret": "abc", "Other": 1}') == "abc"
    with pytest.raises(BodyError, match=r"^failed to decode request body: EOF$"):
        decode_bootstrap(b"")
    with pytest.raises(BodyError, match=r"^failed to decode request body: json: cannot unmarshal number"):
        decode_bootstrap(b'{"BootstrapSecret": 1}')


# -- create and update rules ------------------------------------------------------------------


def req(body: dict[str, object]):  # type: ignore[no-untyped-def]
    return decode_token(json.dumps(body).encode())


def run(body: dict[str, object], existing: ACLToken | None = None) -> ACLToken:
    return prepare(req(body), existing, NOW, MIN_TTL, MAX_TTL).token


def refused(body: dict[str, object], existing: ACLToken | None = None) -> tuple[int, str]:
    with pytest.raises(ACLRequestError) as exc:
        prepare(req(body), existing, NOW, MIN_TTL, MAX_TTL)
    return exc.value.status, exc.value.message


def one(msg: str) -> tuple[int, str]:
    return 400, f"token 0 invalid: 1 error occurred:\n\t* {msg}\n\n"


def test_create_with_ttl_sets_the_expiration() -> None:
    token = run({"Name": "ro", "Type": "client", "Policies": ["readonly"], "ExpirationTTL": "10h"})
    assert is_uuid(token.accessor_id) and token.create_time == NOW
    assert token.expiration_time == NOW + 10 * HOUR and token.expiration_ttl == 10 * HOUR
    assert token.hash == token.compute_hash()


def test_create_generates_a_secret_and_ignores_body_times() -> None:
    prepared = prepare(
        req({"Type": "management", "CreateTime": "2020-01-01T00:00:00Z"}), None, NOW, MIN_TTL, MAX_TTL
    )
    assert prepared.secret is not None and is_uuid(prepared.secret)
    assert prepared.token.create_time == NOW


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"Type": "client"}, one("client token missing policies or roles")),
        ({"Type": "management", "Policies": ["a"]}, one("management token cannot be associated with policies or roles")),
        ({"Type": "admin"}, one("token type must be client or management")),
        ({"Type": "management", "Name": "x" * 257}, one("token name too long")),
        ({"Type": "management", "ExpirationTTL": "-1h"}, (400, (
            "token 0 invalid: 3 errors occurred:\n\t* token expiration TTL '-1h0m0s' should not be negative\n"
            "\t* expiration time cannot be before create time\n"
            "\t* expiration time cannot be less than 1m0s in the future (was -1h0m0s)\n\n"
        ))),
        ({"Type": "management", "ExpirationTTL": "25h"}, one("expiration time cannot be more than 24h0m0s in the future (was 25h0m0s)")),
        ({"Type": "management", "ExpirationTTL": "30s"}, one("expiration time cannot be less than 1m0s in the future (was 30s)")),
        ({"Type": "", "Name": "x" * 300}, (400, (
            "token 0 invalid: 2 errors occurred:\n\t* token name too long\n\t* token type must be client or management\n\n"
        ))),
        ({"Type": "client", "Policies": ["a"], "Roles": [{"Name": "ops"}]}, (400, "cannot find role ops")),
        ({"Type": "client", "Policies": ["a"], "Roles": [{"ID": "r1", "Name": "ops"}]}, (400, "cannot find role r1")),
        ({"AccessorID": A1, "Type": "client", "Policies": ["a"]}, (400, f"cannot find token {A1}")),
        ({"AccessorID": A1, "SecretID": S1, "Type": "management"}, (400, f"cannot find token {A1}")),
        ({"AccessorID": "nope", "SecretID": S1, "Type": "client", "Policies": ["a"]}, (400, "cannot find token nope")),
    ],
)  # fmt: skip
def test_create_refusals(body: dict[str, object], expected: tuple[int, str]) -> None:
    assert refused(body) == expected


def test_upload_keeps_the_callers_ids() -> None:
    prepared = prepare(
        req({"AccessorID": A1, "SecretID": S1, "Type": "client", "Policies": ["foo"], "ExpirationTTL": "10h"}),
        None, NOW, MIN_TTL, MAX_TTL,
    )  # fmt: skip
    assert (prepared.token.accessor_id, prepared.secret) == (A1, S1)
    assert prepared.token.expiration_time == NOW + 10 * HOUR


def stored(**kwargs: object) -> ACLToken:
    token = ACLToken(
        A1, name="t", type="client", policies=["a"], create_time=NOW - HOUR, create_index=3, modify_index=4
    )
    for k, v in kwargs.items():
        setattr(token, k, v)
    return token


def test_update_keeps_secret_create_time_and_index() -> None:
    prepared = prepare(
        req({"AccessorID": A1, "Name": "renamed", "Type": "management", "CreateTime": "2030-01-01T00:00:00Z"}),
        stored(), NOW, MIN_TTL, MAX_TTL,
    )  # fmt: skip
    assert prepared.secret is None
    assert (prepared.token.name, prepared.token.type) == ("renamed", "management")
    assert (prepared.token.create_time, prepared.token.create_index) == (NOW - HOUR, 3)


@pytest.mark.parametrize(
    ("body", "existing", "expected"),
    [
        ({"Global": True}, stored(), "cannot toggle global mode"),
        ({"ExpirationTTL": "2h"}, stored(), "cannot update expiration TTL\n\t* cannot update expiration time"),
        ({"ExpirationTime": "2030-01-01T00:00:00Z"}, stored(), "cannot update expiration time"),
        ({"ExpirationTTL": "2h"}, stored(expiration_ttl=2 * HOUR, expiration_time=NOW + HOUR), "cannot update expiration time"),
    ],
)  # fmt: skip
def test_update_refusals(body: dict[str, object], existing: ACLToken, expected: str) -> None:
    full = {"AccessorID": A1, "Type": "client", "Policies": ["a"], **body}
    count = expected.count("\t*") + 1
    header = "1 error occurred" if count == 1 else f"{count} errors occurred"
    assert refused(full, existing) == (400, f"token 0 invalid: {header}:\n\t* {expected}\n\n")


def test_update_of_a_ttl_token_sending_it_back_whole() -> None:
    existing = stored(expiration_ttl=2 * HOUR, expiration_time=NOW + HOUR)
    body = {
        "AccessorID": A1, "Type": "client", "Policies": ["b"], "ExpirationTTL": "2h0m0s",
        "CreateTime": "2024-05-01T11:00:03.123456789Z", "ExpirationTime": "2024-05-01T13:00:03.123456789Z",
    }  # fmt: skip
    assert run(body, existing).policies == ["b"]


# -- listing ------------------------------------------------------------------------------------


def tokens_for_listing() -> list[ACLToken]:
    ids = ["cc" + "0" * 6 + A1[8:], "aa" + "0" * 6 + A1[8:], "bb" + "0" * 6 + A1[8:], "ab" + "0" * 6 + A1[8:]]
    return [ACLToken(a, create_index=i + 1, modify_index=i + 1) for i, a in enumerate(ids)]


def test_default_order_and_pages() -> None:
    tokens = tokens_for_listing()
    first = select(tokens, None, False, 2, "")
    assert [t.create_index for t in first.tokens] == [
        1,
        2,
    ] and first.next_token == f"3.{tokens[2].accessor_id}"
    second = select(tokens, None, False, 2, first.next_token)
    assert [t.create_index for t in second.tokens] == [3, 4] and second.next_token == ""
    assert [t.create_index for t in select(tokens, None, True, 0, "").tokens] == [4, 3, 2, 1]
    reverse_page = select(tokens, None, True, 2, f"2.{tokens[1].accessor_id}")
    assert [t.create_index for t in reverse_page.tokens] == [2, 1]
    assert [t.create_index for t in select(tokens, None, False, 0, "2.zzz").tokens] == [3, 4]


def test_prefix_orders_by_accessor() -> None:
    tokens = tokens_for_listing()
    page = select(tokens, "a", False, 1, "")
    assert [t.accessor_id[:2] for t in page.tokens] == ["aa"] and page.next_token == tokens[3].accessor_id
    assert [t.accessor_id[:2] for t in select(tokens, "a", False, 0, page.next_token).tokens] == ["ab"]
    assert select(tokens, "dd", False, 0, "").tokens == []


# -- the bootstrap reset file ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [("7", 7), ("7\n", 7), ("  \t12 trailing", 12), ("+3", 3), ("-5", -5), ("\n7", None), ("x7", None), ("", None),
     ("99999999999999999999", None)],
)  # fmt: skip
def test_reset_index_parsing(text: str, value: int | None) -> None:
    assert parse_reset_index(text) == value
