"""The ACL API against real agent processes: with ACLs off, with ACLs on, bootstrap and its reset,
policies, tokens, token extraction, blocking reads, and a state file that never holds a secret."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import nomad
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outrider.acl.bodies import parse_rfc3339
from tests.conftest import AgentProcess, start_configured_agent

pytestmark = pytest.mark.functional

# No failed-token limit: these tests send many bad tokens from one address on purpose.
ACL_CONFIG = 'acl {\n  enabled = true\n  token_min_expiration_ttl = "1ms"\n  token_failure_limit = 0\n}\n'


def assert_error(resp: httpx.Response, status: int, text: str) -> None:
    assert (resp.status_code, resp.text) == (status, text)
    assert resp.headers["content-type"] == "text/plain; charset=utf-8"


def start_acl_agent(root: Path) -> AgentProcess:
    return start_configured_agent(root, ACL_CONFIG)


@pytest.fixture(scope="module")
def acl_agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AgentProcess]:
    proc = start_acl_agent(tmp_path_factory.mktemp("acl"))
    try:
        yield proc
    finally:
        assert proc.stop() == 0, "".join(proc.output)


@pytest.fixture(scope="module")
def http_acl(acl_agent: AgentProcess) -> Iterator[httpx.Client]:
    with acl_agent.client() as client:
        yield client


@pytest.fixture(scope="module")
def root_token(http_acl: httpx.Client) -> dict[str, Any]:
    resp = http_acl.put("/v1/acl/bootstrap")
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


@pytest.fixture(scope="module")
def mgmt(root_token: dict[str, Any]) -> dict[str, str]:
    return {"X-Nomad-Token": root_token["SecretID"]}


def make_policy(http: httpx.Client, mgmt: dict[str, str], name: str, rules: str) -> int:
    resp = http.put(f"/v1/acl/policy/{name}", headers=mgmt, json={"Name": name, "Rules": rules})
    assert resp.status_code == 200, resp.text
    return int(resp.headers["x-nomad-index"])


def make_token(http: httpx.Client, mgmt: dict[str, str], **body: Any) -> dict[str, Any]:
    resp = http.post("/v1/acl/token", headers=mgmt, json={"Type": "client", **body})
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def as_token(token: dict[str, Any]) -> dict[str, str]:
    return {"X-Nomad-Token": token["SecretID"]}


# -- ACLs disabled (the shared agent of the module runs without them) -----------------------------

DISABLED = [
    ("PUT", "/v1/acl/bootstrap"),
    ("GET", "/v1/acl/policies"),
    ("GET", "/v1/acl/policy/readonly"),
    ("DELETE", "/v1/acl/policy/readonly"),
    ("GET", "/v1/acl/tokens"),
    ("GET", f"/v1/acl/token/{uuid.uuid4()}"),
    ("DELETE", f"/v1/acl/token/{uuid.uuid4()}"),
]


@pytest.mark.parametrize(("method", "path"), DISABLED)
@pytest.mark.parametrize("token", ["", "garbage", str(uuid.uuid4())])
def test_disabled_answers_400(http: httpx.Client, method: str, path: str, token: str) -> None:
    assert_error(http.request(method, path, headers={"X-Nomad-Token": token}), 400, "ACL support disabled")


def test_disabled_writes_decode_their_body_first(http: httpx.Client) -> None:
    assert_error(
        http.put("/v1/acl/policy/p", json={"Name": "q"}), 400, "ACL policy name does not match request path"
    )
    assert_error(http.put("/v1/acl/policy/p", json={"Name": "p", "Rules": ""}), 400, "ACL support disabled")
    assert_error(http.post("/v1/acl/token", content=b""), 400, "Request body is empty")
    assert_error(http.post("/v1/acl/token", json={"Type": "client"}), 400, "ACL support disabled")


@pytest.mark.parametrize("token", ["", "garbage", str(uuid.uuid4())])
def test_disabled_token_self_is_the_acls_disabled_token(http: httpx.Client, token: str) -> None:
    resp = http.get("/v1/acl/token/self", headers={"X-Nomad-Token": token})
    assert resp.status_code == 200
    assert resp.text == (
        '{"ExpirationTTL":"","AccessorID":"acls-disabled","SecretID":"","Name":"ACLs disabled token",'
        '"Type":"client","Policies":null,"Roles":null,"Global":false,"Hash":null,'
        '"CreateTime":"0001-01-01T00:00:00Z","ExpirationTime":null,"CreateIndex":0,"ModifyIndex":0}'
    )


def test_disabled_policy_self(http: httpx.Client) -> None:
    assert_error(http.get("/v1/acl/policy/self"), 403, "Permission denied")
    assert_error(
        http.get("/v1/acl/policy/self", headers={"X-Nomad-Token": str(uuid.uuid4())}),
        400,
        "ACL support disabled",
    )


# -- routing, methods, CORS -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "status", "text"),
    [
        ("GET", "/v1/acl/bootstrap", 405, "Invalid method"),
        ("POST", "/v1/acl/policies", 405, "Invalid method"),
        ("PATCH", "/v1/acl/policy/p", 405, "Invalid method"),
        ("PUT", "/v1/acl/tokens", 405, "Invalid method"),
        ("GET", "/v1/acl/token", 405, "Invalid method"),
        ("PUT", "/v1/acl/token/self", 405, "Invalid method"),
        ("DELETE", "/v1/acl/policy/self", 405, "Invalid method"),
        ("GET", "/v1/acl/policy/", 400, "Missing Policy Name"),
        ("PATCH", "/v1/acl/policy/", 400, "Missing Policy Name"),
        ("GET", "/v1/acl/token/", 400, "Missing Token Accessor"),
        ("DELETE", "/v1/acl/token/", 400, "Missing Token Accessor"),
        (
            "GET",
            "/v1/acl/policies?stale=maybe",
            400,
            "Expect `true` or `false` for `stale` query string parameter",
        ),
        ("GET", "/v1/acl/tokens?index=x", 400, "Invalid index"),
    ],
)
@pytest.mark.parametrize("which", ["off", "on"])
def test_methods_and_missing_names(
    http: httpx.Client, http_acl: httpx.Client, which: str, method: str, path: str, status: int, text: str
) -> None:
    # These checks come before the one for ACLs being enabled.
    client = http if which == "off" else http_acl
    assert_error(client.request(method, path), status, text)


@pytest.mark.parametrize(
    "path",
    [
        "/v1/acl/policies/",
        "/v1/acl/tokens/",
        "/v1/acl/token/onetime",
        "/v1/acl/token/onetime/exchange",
        "/v1/acl/roles",
    ],
)
def test_unregistered_paths_are_bare_404s(http_acl: httpx.Client, path: str) -> None:
    resp = http_acl.get(path)
    assert (resp.status_code, resp.content) == (404, b"")


def test_not_cors_wrapped(http_acl: httpx.Client) -> None:
    resp = http_acl.get("/v1/acl/token/self", headers={"Origin": "http://elsewhere.example"})
    assert resp.status_code == 200
    assert (
        "access-control-allow-origin" not in resp.headers
        and "origin" not in resp.headers.get("vary", "").lower()
    )
    pre = http_acl.options(
        "/v1/acl/token/self", headers={"Origin": "http://x.example", "Access-Control-Request-Method": "GET"}
    )
    assert_error(pre, 405, "Invalid method")


# -- anonymous, token extraction, token/self ---------------------------------------------------------


def test_anonymous_self(http_acl: httpx.Client) -> None:
    resp = http_acl.get("/v1/acl/token/self")
    assert resp.status_code == 200 and resp.headers["x-nomad-index"] == "0"
    assert resp.headers["x-nomad-knownleader"] == "true" and resp.headers["x-nomad-lastcontact"] == "0"
    assert resp.text == (
        '{"ExpirationTTL":"","AccessorID":"anonymous","SecretID":"","Name":"Anonymous Token","Type":"client",'
        '"Policies":["anonymous"],"Roles":null,"Global":false,"Hash":null,"CreateTime":"0001-01-01T00:00:00Z",'
        '"ExpirationTime":null,"CreateIndex":0,"ModifyIndex":0}'
    )


@pytest.mark.parametrize(
    ("headers", "status", "text"),
    [
        ({"X-Nomad-Token": str(uuid.uuid4())}, 403, "Permission denied"),
        ({"X-Nomad-Token": "not-a-uuid"}, 500, "failed to parse signed token: go-jose/go-jose: compact JWS format must have three parts"),
        ({"Authorization": f"Bearer {uuid.uuid4()}"}, 403, "Permission denied"),
    ],
)  # fmt: skip
def test_self_with_bad_tokens(
    http_acl: httpx.Client, headers: dict[str, str], status: int, text: str
) -> None:
    assert_error(http_acl.get("/v1/acl/token/self", headers=headers), status, text)


def test_token_extraction(http_acl: httpx.Client, mgmt: dict[str, str], root_token: dict[str, Any]) -> None:
    secret = root_token["SecretID"]
    for headers in (mgmt, {"Authorization": f"Bearer {secret}"}, {"authorization": f"bearer  {secret}  x"}):
        assert (
            http_acl.get("/v1/acl/token/self", headers=headers).json()["AccessorID"]
            == root_token["AccessorID"]
        )
    # X-Nomad-Token wins over Authorization; Basic is ignored; the query string is never read.
    both = {"X-Nomad-Token": secret, "Authorization": f"Bearer {uuid.uuid4()}"}
    assert http_acl.get("/v1/acl/token/self", headers=both).json()["AccessorID"] == root_token["AccessorID"]
    basic = http_acl.get("/v1/acl/token/self", headers={"Authorization": f"Basic {secret}"})
    assert basic.json()["AccessorID"] == "anonymous"
    for param in ("token", "X-Nomad-Token", "secret_id"):
        assert http_acl.get(f"/v1/acl/token/self?{param}={secret}").json()["AccessorID"] == "anonymous"
    # Upper case finds the token, as Nomad's UUID index does.
    upper = http_acl.get("/v1/acl/token/self", headers={"X-Nomad-Token": secret.upper()})
    assert upper.json()["AccessorID"] == root_token["AccessorID"]


def test_self_shows_the_secret_presented(
    http_acl: httpx.Client, mgmt: dict[str, str], root_token: dict[str, Any]
) -> None:
    resp = http_acl.get("/v1/acl/token/self?pretty", headers=mgmt)
    assert resp.status_code == 200 and resp.text.endswith("}\n") and "\n " not in resp.text
    body = resp.json()
    assert body == root_token
    assert resp.headers["x-nomad-index"] == str(root_token["ModifyIndex"])


# -- bootstrap ------------------------------------------------------------------------------------------


def test_bootstrap_token_shape(root_token: dict[str, Any]) -> None:
    assert list(root_token) == [
        "ExpirationTTL", "AccessorID", "SecretID", "Name", "Type", "Policies", "Roles", "Global", "Hash",
        "CreateTime", "ExpirationTime", "CreateIndex", "ModifyIndex",
    ]  # fmt: skip
    assert root_token["Name"] == "Bootstrap Token" and root_token["Type"] == "management"
    assert (
        root_token["Global"] is True
        and root_token["Policies"] is None
        and root_token["ExpirationTime"] is None
    )
    assert root_token["CreateIndex"] == root_token["ModifyIndex"]
    assert root_token["CreateTime"].endswith("Z")


def test_bootstrap_once_then_reset_file(tmp_path: Path) -> None:
    proc = start_acl_agent(tmp_path)
    reset = proc.data_dir / "server" / "acl-bootstrap-reset"
    try:
        with proc.client() as client:
            assert_error(
                client.put("/v1/acl/bootstrap", content=b"{"),
                400,
                "failed to decode request body: unexpected EOF",
            )
            assert_error(
                client.put("/v1/acl/bootstrap", json={"BootstrapSecret": "short"}), 400, "invalid acl token"
            )
            first = client.post("/v1/acl/bootstrap", headers={"X-Nomad-Token": "ignored"})
            assert first.status_code == 200
            b1 = first.json()["CreateIndex"]
            assert first.headers["x-nomad-index"] == str(b1)
            assert_error(
                client.put("/v1/acl/bootstrap"), 400, f"ACL bootstrap already done (reset index: {b1})"
            )
            reset.parent.mkdir(exist_ok=True)
            reset.write_text("\n" + str(b1))  # a leading newline does not parse: no reset
            assert_error(
                client.put("/v1/acl/bootstrap"), 400, f"ACL bootstrap already done (reset index: {b1})"
            )
            reset.write_text(f"{b1 + 5}")
            assert_error(
                client.put("/v1/acl/bootstrap"),
                400,
                f"Invalid bootstrap reset index (specified {b1 + 5}, reset index: {b1})",
            )
            reset.write_text(f"  {b1} reset by an operator\n")
            chosen = "2b778dd9-f5f1-6f29-b4b4-9a5fa948757a"
            second = client.put("/v1/acl/bootstrap", json={"BootstrapSecret": chosen})
            assert second.status_code == 200 and second.json()["SecretID"] == chosen
            b2 = second.json()["CreateIndex"]
            # The old bootstrap token still works; the file now names an old index.
            old = client.get("/v1/acl/token/self", headers={"X-Nomad-Token": first.json()["SecretID"]})
            assert old.json()["AccessorID"] == first.json()["AccessorID"]
            assert_error(
                client.put("/v1/acl/bootstrap"),
                400,
                f"Invalid bootstrap reset index (specified {b1}, reset index: {b2})",
            )
    finally:
        assert proc.stop() == 0


# -- policies -----------------------------------------------------------------------------------------


def test_policy_lifecycle(http_acl: httpx.Client, mgmt: dict[str, str]) -> None:
    rules = 'namespace "default" {\n  policy = "read"\n}\nnode { policy = "read" }'
    created = make_policy(http_acl, mgmt, "lifecycle", rules)
    got = http_acl.get("/v1/acl/policy/lifecycle", headers=mgmt)
    assert got.status_code == 200 and got.headers["x-nomad-index"] == str(created)
    body = got.json()
    assert list(body) == sorted(body)
    assert (body["Name"], body["Rules"], body["CreateIndex"], body["ModifyIndex"]) == (
        "lifecycle",
        rules,
        created,
        created,
    )
    assert body["RulesJSON"]["Namespaces"][0]["Name"] == "default" and body["RulesJSON"]["Node"] == {
        "Policy": "read"
    }
    assert body["RulesJSON"]["Raw"] == rules and body["JobACL"] is None
    updated = make_policy(http_acl, mgmt, "lifecycle", 'node { policy = "write" }')
    again = http_acl.get("/v1/acl/policy/lifecycle", headers=mgmt).json()
    assert (again["CreateIndex"], again["ModifyIndex"]) == (created, updated)
    deleted = http_acl.delete("/v1/acl/policy/lifecycle", headers=mgmt)
    assert (deleted.status_code, deleted.content) == (200, b"") and "content-type" not in deleted.headers
    assert int(deleted.headers["x-nomad-index"]) == updated + 1
    assert_error(http_acl.get("/v1/acl/policy/lifecycle", headers=mgmt), 404, "ACL policy not found")
    assert http_acl.delete("/v1/acl/policy/lifecycle", headers=mgmt).status_code == 200


@pytest.mark.parametrize(
    ("body", "status", "text"),
    [
        (None, 400, "Request body is empty"),
        (b"{", 400, "unexpected EOF"),
        (b'{"Name": 1}', 400, "json: cannot unmarshal number into Go struct field ACLPolicy.Name of type string"),
        (b'{"Rules": ""}', 400, "ACL policy name does not match request path"),
        (b'{"Name": "other"}', 400, "ACL policy name does not match request path"),
        (b'{"Name": "p1", "Rules": "invalid"}', 400, (
            "policy 0 invalid: 1 error occurred:\n\t* failed to parse rules: Failed to parse ACL Policy: "
            "At 1:9: key 'invalid' expected start of object ('{') or assignment ('=')\n\n"
        )),
        (b'{"Name": "p1", "Rules": "bogus {}\\nnode { policy = \\"read\\" }", "Description": "' + b"d" * 257 + b'"}', 400, (
            "policy 0 invalid: 2 errors occurred:\n\t* failed to parse rules: Invalid or duplicate policy keys: bogus\n"
            "\t* description longer than 256\n\n"
        )),
        (b'{"Name": "p1", "JobACL": {"Group": "g", "Task": "t"}}', 400, (
            "policy 0 invalid: 1 error occurred:\n\t* job ID must be set to set group\n\n"
        )),
        (b'{"Name": "p1", "Rules": ""}', 200, ""),
    ],
)  # fmt: skip
def test_policy_write_errors(
    http_acl: httpx.Client, mgmt: dict[str, str], body: bytes | None, status: int, text: str
) -> None:
    resp = http_acl.put("/v1/acl/policy/p1", headers=mgmt, content=body or b"")
    assert (resp.status_code, resp.text) == (status, text)


def test_invalid_policy_names(http_acl: httpx.Client, mgmt: dict[str, str]) -> None:
    resp = http_acl.put("/v1/acl/policy/a_b", headers=mgmt, json={"Name": "a_b", "Rules": ""})
    assert_error(resp, 400, "policy 0 invalid: 1 error occurred:\n\t* invalid name 'a_b'\n\n")


def test_policy_visibility(http_acl: httpx.Client, mgmt: dict[str, str]) -> None:
    make_policy(http_acl, mgmt, "vis-a", 'node { policy = "read" }')
    make_policy(http_acl, mgmt, "vis-b", 'agent { policy = "read" }')
    token = make_token(http_acl, mgmt, Policies=["vis-a", "missing"])
    everything = http_acl.get("/v1/acl/policies?prefix=vis-", headers=mgmt)
    assert [p["Name"] for p in everything.json()] == ["vis-a", "vis-b"]
    assert set(everything.json()[0]) == {
        "CreateIndex",
        "Description",
        "Hash",
        "JobACL",
        "ModifyIndex",
        "Name",
    }
    mine = http_acl.get("/v1/acl/policies", headers=as_token(token))
    assert [p["Name"] for p in mine.json()] == ["vis-a"]
    assert http_acl.get("/v1/acl/policy/vis-a", headers=as_token(token)).status_code == 200
    # Refused before the lookup: a policy the token does not hold, existing or not.
    assert_error(http_acl.get("/v1/acl/policy/vis-b", headers=as_token(token)), 403, "Permission denied")
    assert_error(http_acl.get("/v1/acl/policy/nope", headers=as_token(token)), 403, "Permission denied")
    assert_error(http_acl.get("/v1/acl/policy/missing", headers=as_token(token)), 404, "ACL policy not found")
    # Writes are for management only.
    assert_error(
        http_acl.put("/v1/acl/policy/vis-a", headers=as_token(token), json={"Name": "vis-a", "Rules": ""}),
        403,
        "Permission denied",
    )
    assert_error(http_acl.delete("/v1/acl/policy/vis-a", headers=as_token(token)), 403, "Permission denied")
    # policy/self: the token's policies, null for none.
    assert [p["Name"] for p in http_acl.get("/v1/acl/policy/self", headers=as_token(token)).json()] == [
        "vis-a"
    ]
    bare = make_token(http_acl, mgmt, Policies=["missing"])
    none = http_acl.get("/v1/acl/policy/self", headers=as_token(bare))
    assert (none.status_code, none.text) == (200, "null")
    assert_error(http_acl.get("/v1/acl/policy/self"), 403, "Permission denied")


def test_anonymous_policy(http_acl: httpx.Client, mgmt: dict[str, str]) -> None:
    assert_error(http_acl.get("/v1/acl/policy/anonymous"), 404, "ACL policy not found")
    assert http_acl.get("/v1/acl/policies").json() == []
    make_policy(http_acl, mgmt, "anonymous", 'namespace "default" { policy = "read" }')
    try:
        assert http_acl.get("/v1/acl/policy/anonymous").json()["Name"] == "anonymous"
        assert [p["Name"] for p in http_acl.get("/v1/acl/policies").json()] == ["anonymous"]
        token = make_token(http_acl, mgmt, Policies=["vis-nothing"])
        assert http_acl.get("/v1/acl/policy/anonymous", headers=as_token(token)).status_code == 200
    finally:
        http_acl.delete("/v1/acl/policy/anonymous", headers=mgmt)
    assert http_acl.get("/v1/acl/policies").json() == []


def test_bad_tokens_are_refused_alike(http_acl: httpx.Client) -> None:
    for token in (str(uuid.uuid4()), "junk"):
        for path in ("/v1/acl/policies", "/v1/acl/tokens", "/v1/acl/policy/anonymous"):
            assert_error(http_acl.get(path, headers={"X-Nomad-Token": token}), 403, "Permission denied")


# -- tokens -----------------------------------------------------------------------------------------------


def test_create_with_ttl(http_acl: httpx.Client, mgmt: dict[str, str]) -> None:
    resp = http_acl.post(
        "/v1/acl/token",
        headers=mgmt,
        json={"Name": "ro", "Type": "client", "Policies": ["readonly"], "ExpirationTTL": "10h"},
    )
    assert resp.status_code == 200 and resp.headers["x-nomad-index"] == str(resp.json()["CreateIndex"])
    token = resp.json()
    assert (
        token["ExpirationTTL"] == "10h0m0s" and token["Policies"] == ["readonly"] and token["Global"] is False
    )
    created, expires = parse_rfc3339(token["CreateTime"]), parse_rfc3339(token["ExpirationTime"])
    assert created and expires and expires - created == 10 * 3600 * 10**9


@pytest.mark.parametrize(
    ("body", "text"),
    [
        ({"Type": "client"}, "token 0 invalid: 1 error occurred:\n\t* client token missing policies or roles\n\n"),
        ({"Type": "client", "Policies": ["a"], "ExpirationTTL": "25h"}, (
            "token 0 invalid: 1 error occurred:\n\t* expiration time cannot be more than 24h0m0s in the future "
            "(was 25h0m0s)\n\n"
        )),
        ({"Type": "client", "Policies": ["a"], "ExpirationTTL": "1d"}, 'time: unknown unit "d" in duration "1d"'),
        ({"Type": "client", "Policies": ["a"], "Roles": [{"Name": "ops"}]}, "cannot find role ops"),
        ({"AccessorID": str(uuid.uuid4()), "Type": "client", "Policies": ["a"]}, None),
    ],
)  # fmt: skip
def test_create_refusals(
    http_acl: httpx.Client, mgmt: dict[str, str], body: dict[str, Any], text: str | None
) -> None:
    expected = text if text is not None else f"cannot find token {body.get('AccessorID')}"
    assert_error(http_acl.put("/v1/acl/token", headers=mgmt, json=body), 400, expected)


def test_only_management_writes_tokens(http_acl: httpx.Client, mgmt: dict[str, str]) -> None:
    client = make_token(http_acl, mgmt, Policies=["x"])
    for method, path in (("POST", "/v1/acl/token"), ("PUT", f"/v1/acl/token/{client['AccessorID']}")):
        body = (
            {"AccessorID": client["AccessorID"], "Type": "management"}
            if "token/" in path
            else {"Type": "management"}
        )
        assert_error(
            http_acl.request(method, path, headers=as_token(client), json=body), 403, "Permission denied"
        )
    assert_error(http_acl.get("/v1/acl/tokens", headers=as_token(client)), 403, "Permission denied")
    assert_error(
        http_acl.delete(f"/v1/acl/token/{client['AccessorID']}", headers=as_token(client)),
        403,
        "Permission denied",
    )


def test_reading_tokens(http_acl: httpx.Client, mgmt: dict[str, str]) -> None:
    mine = make_token(http_acl, mgmt, Name="mine", Policies=["x"])
    other = make_token(http_acl, mgmt, Name="other", Policies=["x"])
    path = f"/v1/acl/token/{mine['AccessorID']}"
    by_mgmt = http_acl.get(path, headers=mgmt)
    assert by_mgmt.status_code == 200 and by_mgmt.json()["SecretID"] == ""  # never kept, so never shown
    assert by_mgmt.headers["x-nomad-index"] == str(mine["ModifyIndex"])
    assert {k: v for k, v in by_mgmt.json().items() if k != "SecretID"} == {
        k: v for k, v in mine.items() if k != "SecretID"
    }
    assert http_acl.get(path, headers=as_token(mine)).json() == mine
    upper_path = f"/v1/acl/token/{mine['AccessorID'].upper()}"
    assert http_acl.get(upper_path, headers=as_token(mine)).json()["AccessorID"] == mine["AccessorID"]
    assert_error(http_acl.get(path, headers=as_token(other)), 403, "Permission denied")
    missing = f"/v1/acl/token/{uuid.uuid4()}"
    assert_error(http_acl.get(missing, headers=mgmt), 404, "ACL token not found")
    assert_error(http_acl.get(missing, headers=as_token(mine)), 403, "Permission denied")
    assert_error(
        http_acl.get("/v1/acl/token/xyz", headers=mgmt),
        500,
        "acl token lookup failed: index error: UUID must be 36 characters",
    )
    assert_error(
        http_acl.get("/v1/acl/token/" + "g" * 36, headers=mgmt),
        500,
        "acl token lookup failed: index error: Invalid UUID: encoding/hex: invalid byte: U+0067 'g'",
    )


def test_upload_update_delete(http_acl: httpx.Client, mgmt: dict[str, str]) -> None:
    accessor, secret = str(uuid.uuid4()), str(uuid.uuid4())
    path = f"/v1/acl/token/{accessor}"
    body = {
        "AccessorID": accessor,
        "SecretID": secret,
        "Type": "client",
        "Policies": ["foo"],
        "ExpirationTTL": "10h",
    }
    assert_error(http_acl.put(path, headers=mgmt, json={**body, "AccessorID": str(uuid.uuid4())}), 400,
                 "ACL token accessor does not match request path")  # fmt: skip
    uploaded = http_acl.put(path, headers=mgmt, json=body)
    assert uploaded.status_code == 200
    token = uploaded.json()
    assert (token["AccessorID"], token["SecretID"], token["Policies"]) == (accessor, secret, ["foo"])
    # An update must send the times back; it keeps the secret, which it shows only when sent.
    update = {**token, "Name": "renamed", "SecretID": ""}
    changed = http_acl.post(path, headers=mgmt, json=update)
    assert changed.status_code == 200, changed.text
    assert changed.json()["Name"] == "renamed" and changed.json()["SecretID"] == ""
    assert changed.json()["CreateIndex"] == token["CreateIndex"] < changed.json()["ModifyIndex"]
    with_secret = http_acl.post(path, headers=mgmt, json={**token, "Name": "again"})
    assert with_secret.json()["SecretID"] == secret
    assert http_acl.get("/v1/acl/token/self", headers={"X-Nomad-Token": secret}).json()["Name"] == "again"
    assert_error(
        http_acl.post(path, headers=mgmt, json={**token, "ExpirationTTL": "2h"}),
        400,
        "token 0 invalid: 1 error occurred:\n\t* cannot update expiration TTL\n\n",
    )
    assert_error(
        http_acl.put("/v1/acl/token/xyz", headers=mgmt, json={"AccessorID": "xyz"}),
        500,
        "token lookup failed: acl token lookup failed: index error: UUID must be 36 characters",
    )
    deleted = http_acl.delete(path, headers=mgmt)
    assert (deleted.status_code, deleted.content) == (200, b"")
    assert int(deleted.headers["x-nomad-index"]) > changed.json()["ModifyIndex"]
    assert_error(
        http_acl.get("/v1/acl/token/self", headers={"X-Nomad-Token": secret}), 403, "Permission denied"
    )
    assert_error(http_acl.delete(path, headers=mgmt), 400, f"Cannot delete nonexistent tokens: {accessor}")
    assert_error(
        http_acl.delete("/v1/acl/token/xyz", headers=mgmt),
        400,
        "token lookup failed: acl token lookup failed: index error: UUID must be 36 characters",
    )


def test_listing_tokens(http_acl: httpx.Client, mgmt: dict[str, str]) -> None:
    for i in range(3):
        make_token(http_acl, mgmt, Name=f"list-{i}", Policies=["x"])
    resp = http_acl.get("/v1/acl/tokens", headers=mgmt)
    assert resp.status_code == 200
    stubs = resp.json()
    assert all("SecretID" not in s and "ExpirationTTL" not in s for s in stubs)
    indexes = [(s["CreateIndex"], s["AccessorID"]) for s in stubs]
    assert indexes == sorted(indexes)
    assert resp.headers["x-nomad-index"] == str(max(s["ModifyIndex"] for s in stubs))
    reverse = http_acl.get("/v1/acl/tokens?reverse=true", headers=mgmt).json()
    assert [s["AccessorID"] for s in reverse] == [s["AccessorID"] for s in reversed(stubs)]
    page = http_acl.get("/v1/acl/tokens?per_page=2", headers=mgmt)
    assert [s["AccessorID"] for s in page.json()] == [s["AccessorID"] for s in stubs[:2]]
    assert page.headers["x-nomad-nexttoken"] == f"{stubs[2]['CreateIndex']}.{stubs[2]['AccessorID']}"
    rest = http_acl.get(f"/v1/acl/tokens?next_token={page.headers['x-nomad-nexttoken']}", headers=mgmt)
    assert [s["AccessorID"] for s in rest.json()] == [s["AccessorID"] for s in stubs[2:]]
    one = stubs[-1]["AccessorID"]
    by_prefix = http_acl.get(f"/v1/acl/tokens?prefix={one[:4]}", headers=mgmt).json()
    assert one in [s["AccessorID"] for s in by_prefix] and all(
        s["AccessorID"].startswith(one[:4]) for s in by_prefix
    )
    assert_error(
        http_acl.get("/v1/acl/tokens?prefix=abc", headers=mgmt),
        500,
        "acl token lookup failed: index error: Input (without hyphens) must be even length",
    )
    assert http_acl.get("/v1/acl/tokens?filter=Name%20%3D%3D%20%22x%22", headers=mgmt).status_code == 400


def test_expired_tokens(http_acl: httpx.Client, mgmt: dict[str, str]) -> None:
    token = make_token(http_acl, mgmt, Policies=["x"], ExpirationTTL="300ms")
    time.sleep(0.6)
    headers = as_token(token)
    assert_error(http_acl.get("/v1/acl/token/self", headers=headers), 500, "ACL token expired")
    assert_error(
        http_acl.get(f"/v1/acl/token/{token['AccessorID']}", headers=headers), 500, "ACL token expired"
    )
    assert_error(http_acl.get("/v1/acl/policies", headers=headers), 403, "Permission denied")
    # Management still lists, reads and deletes it until it is collected.
    listed = [s["AccessorID"] for s in http_acl.get("/v1/acl/tokens", headers=mgmt).json()]
    assert token["AccessorID"] in listed
    assert http_acl.get(f"/v1/acl/token/{token['AccessorID']}", headers=mgmt).status_code == 200
    assert http_acl.delete(f"/v1/acl/token/{token['AccessorID']}", headers=mgmt).status_code == 200


def test_blocking_read_returns_after_a_write(http_acl: httpx.Client, mgmt: dict[str, str]) -> None:
    index = int(http_acl.get("/v1/acl/policies", headers=mgmt).headers["x-nomad-index"])
    got: dict[str, httpx.Response] = {}

    def wait() -> None:
        got["resp"] = http_acl.get(f"/v1/acl/policies?index={index}&wait=20s", headers=mgmt, timeout=30)

    thread = threading.Thread(target=wait)
    thread.start()
    time.sleep(0.3)
    assert "resp" not in got
    written = make_policy(http_acl, mgmt, "blocking", "")
    thread.join(25)
    assert got["resp"].status_code == 200 and int(got["resp"].headers["x-nomad-index"]) == written


def test_python_nomad_client(acl_agent: AgentProcess, mgmt: dict[str, str]) -> None:
    host, port = acl_agent.url.removeprefix("http://").rsplit(":", 1)
    client = nomad.Nomad(host=host, port=int(port), token=mgmt["X-Nomad-Token"], timeout=10)
    client.acl.create_policy(
        "pyclient", {"Name": "pyclient", "Rules": 'namespace "default" { policy = "read" }'}
    )
    assert "pyclient" in [p["Name"] for p in client.acl.get_policies()]
    created = client.acl.create_token({"Name": "py", "Type": "client", "Policies": ["pyclient"]})
    own = nomad.Nomad(host=host, port=int(port), token=created["SecretID"], timeout=10)
    assert own.acl.get_self_token()["AccessorID"] == created["AccessorID"]
    assert created["AccessorID"] in [t["AccessorID"] for t in client.acl.get_tokens()]
    client.acl.delete_token(created["AccessorID"])
    client.acl.delete_policy("pyclient")


def test_state_never_holds_a_secret(acl_agent: AgentProcess, http_acl: httpx.Client, mgmt: dict[str, str],
                                    root_token: dict[str, Any]) -> None:  # fmt: skip
    secrets = [root_token["SecretID"]]
    for i in range(5):
        secrets.append(make_token(http_acl, mgmt, Name=f"secret-{i}", Policies=["x"])["SecretID"])
    accessor, chosen = str(uuid.uuid4()), str(uuid.uuid4())
    http_acl.put(f"/v1/acl/token/{accessor}", headers=mgmt,
                 json={"AccessorID": accessor, "SecretID": chosen, "Type": "client", "Policies": ["x"]})  # fmt: skip
    secrets.append(chosen)
    state = acl_agent.data_dir / "client"
    files = [state / "state.db", state / "state.db-wal"]
    assert files[1].exists(), "the WAL is where fresh writes live"
    raw = b"".join(f.read_bytes() for f in files)
    logs = "".join(acl_agent.output)
    for secret in secrets:
        for form in (secret, secret.upper(), secret.replace("-", ""), uuid.UUID(secret).bytes.hex()):
            assert form.encode() not in raw
            assert form not in logs
        assert uuid.UUID(secret).bytes not in raw


# -- hostile input: Nomad's own 500s only, with their texts; everything else a clear 4xx -------------


NOMAD_500_PREFIXES = (
    "acl token lookup failed: index error: ",
    "token lookup failed: acl token lookup failed: index error: ",
    "ACL token expired",
    "failed to parse signed token: ",
)
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner, max_size=3),
    max_leaves=8,
)
token_fields = st.fixed_dictionaries(
    {},
    optional={
        "AccessorID": st.one_of(st.just(str(uuid.uuid4())), st.text(max_size=40)),
        "SecretID": st.one_of(st.just(str(uuid.uuid4())), st.text(max_size=40)),
        "Name": st.text(max_size=300),
        "Type": st.sampled_from(["client", "management", "", "x"]),
        "Policies": st.one_of(st.lists(st.text(max_size=10), max_size=3), json_values),
        "Roles": json_values,
        "Global": json_values,
        "ExpirationTTL": st.one_of(st.sampled_from(["1h", "-1s", "25h", "1d", "", "0"]), json_values),
        "ExpirationTime": st.one_of(st.just("2030-01-01T00:00:00Z"), json_values),
        "CreateTime": json_values,
    },
)


def judge(resp: httpx.Response) -> None:
    where = f"{resp.request.method} {resp.request.url} -> {resp.status_code} {resp.content[:200]!r}"
    if resp.status_code >= 500:
        assert resp.status_code == 500 and resp.text.startswith(NOMAD_500_PREFIXES), where
    if resp.status_code >= 400 and resp.status_code != 404:
        assert resp.content and resp.headers["content-type"] == "text/plain; charset=utf-8", where


@FUZZ
@given(body=token_fields)
def test_token_bodies(http_acl: httpx.Client, mgmt: dict[str, str], body: dict[str, Any]) -> None:
    resp = http_acl.post("/v1/acl/token", headers=mgmt, json=body)
    judge(resp)
    assert resp.status_code in (200, 400, 500)


@FUZZ
@given(body=st.one_of(json_values.map(lambda v: json.dumps(v).encode()), st.binary(max_size=200)))
def test_policy_bodies(http_acl: httpx.Client, mgmt: dict[str, str], body: bytes) -> None:
    resp = http_acl.put("/v1/acl/policy/fuzz", headers=mgmt, content=body)
    judge(resp)
    assert resp.status_code in (200, 400)


@FUZZ
@given(
    segment=st.text(min_size=1, max_size=50),
    method=st.sampled_from(["GET", "PUT", "DELETE", "POST"]),
    token=st.one_of(st.just(""), st.just(str(uuid.uuid4())), st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=60)),
)  # fmt: skip
def test_paths_and_tokens(
    http_acl: httpx.Client, mgmt: dict[str, str], segment: str, method: str, token: str
) -> None:
    path = quote(segment.encode("utf-8", "surrogatepass"), safe="")
    for base in ("/v1/acl/token/", "/v1/acl/policy/"):
        for headers in ({"X-Nomad-Token": token}, mgmt):
            judge(http_acl.request(method, base + path, headers=headers, content=b"{}"))
    judge(http_acl.get("/v1/acl/token/self", headers={"X-Nomad-Token": token}))
