"""Every endpoint's ACL check against a real agent with ACLs on, generated from one table.

Each row names an endpoint, the check Nomad makes for it and how it answers a token
that does not authenticate. Each endpoint is called with no token, with the anonymous
policy granting what it needs, with each relevant capability alone, with a deny on the
same namespace, with a glob namespace, with a management token, with an expired token and
with an unknown token. An allowed call must answer what the management token gets.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import nomad
import pytest

from tests.conftest import AgentProcess, AllocFixture, make_external_alloc, start_configured_agent
from tests.runner import jobspecs as J

pytestmark = pytest.mark.functional

PERMISSION_DENIED = (403, "Permission denied")
EXPIRED = "ACL token expired"

# How a family answers a token that does not authenticate: (unknown, expired).
TOKEN_ERRORS = {
    "client": (PERMISSION_DENIED, (500, EXPIRED)),
    "stream": ((403, "Permission denied"), (403, EXPIRED)),
    "logs": ((500, "Permission denied"), (500, EXPIRED)),
    "server": (PERMISSION_DENIED, PERMISSION_DENIED),
    "agent": (PERMISSION_DENIED, (500, "ACL token not found or invalid workload identity: " + EXPIRED)),
}

LOG = "alloc/logs/web.stdout.0"


@dataclass(frozen=True)
class Row:
    """One endpoint: ``check`` is ``ns:<cap>|<cap>``, ``node:read``, ``node:write``, ``agent:read`` or ``none``."""

    method: str
    path: str
    check: str
    family: str
    body: Any = None
    hidden: bool = False  # a denial reads as 500 Unknown allocation

    @property
    def caps(self) -> tuple[str, ...]:
        kind, _, rest = self.check.partition(":")
        return tuple(rest.split("|")) if kind == "ns" else ()

    def allows(self, granted: set[str]) -> bool:
        """Whether a token granting ``granted`` (namespace capabilities, ``node:read``...) passes."""
        if self.check == "none":
            return True
        if self.caps:
            return any(c in granted for c in self.caps)
        if self.check == "node:read":
            return bool(granted & {"node:read", "node:write"})
        return self.check in granted

    def denial(self, alloc_id: str) -> tuple[int, str]:
        if self.hidden:
            return 500, f'Unknown allocation "{alloc_id}"'
        return PERMISSION_DENIED


# The per-endpoint capability table, as data.
TABLE = [
    Row("GET", "/v1/client/fs/ls/{alloc}?path=/", "ns:read-fs", "client"),
    Row("GET", "/v1/client/fs/stat/{alloc}?path=" + LOG, "ns:read-fs", "client"),
    Row("GET", "/v1/client/fs/cat/{alloc}?path=" + LOG, "ns:read-fs", "stream"),
    Row("GET", "/v1/client/fs/readat/{alloc}?path=" + LOG + "&offset=0&limit=2", "ns:read-fs", "stream"),
    Row("GET", "/v1/client/fs/stream/{alloc}?path=" + LOG + "&follow=false", "ns:read-fs", "stream"),
    Row("GET", "/v1/client/fs/logs/{alloc}?task=web&type=stdout&plain=true", "ns:read-logs|read-fs", "logs"),
    Row("GET", "/v1/client/allocation/{alloc}/stats", "ns:read-job", "client"),
    Row("POST", "/v1/client/allocation/{alloc}/restart", "ns:alloc-lifecycle", "client", body={}),
    Row(
        "POST",
        "/v1/client/allocation/{alloc}/signal",
        "ns:alloc-lifecycle",
        "client",
        body={"Signal": "SIGHUP"},
    ),
    Row("GET", "/v1/client/allocation/{alloc}/gc", "ns:submit-job|gc-allocation", "client"),
    Row("GET", "/v1/client/stats", "node:read", "client"),
    Row("GET", "/v1/client/metadata", "node:read", "client"),
    Row("POST", "/v1/client/metadata", "node:write", "client", body={"Meta": {"acl-matrix": "1"}}),
    Row("GET", "/v1/client/gc", "node:write", "client"),
    Row("GET", "/v1/jobs", "ns:list-jobs", "server"),
    Row("PUT", "/v1/jobs", "ns:submit-job|register-job", "server", body={"Job": {"Namespace": "default"}}),
    Row("GET", "/v1/job/missing-job", "ns:read-job", "server"),
    Row("GET", "/v1/job/missing-job/allocations", "ns:read-job", "server"),
    Row("GET", "/v1/job/missing-job/logs?type=stdout&plain=true", "ns:read-logs", "server"),
    Row("DELETE", "/v1/job/missing-job", "ns:submit-job|purge-job|deregister-job", "server"),
    Row("DELETE", "/v1/job/missing-job?purge=true", "ns:submit-job|purge-job", "server"),
    Row("GET", "/v1/allocations", "ns:read-job", "server"),
    Row("GET", "/v1/allocation/{alloc}", "ns:read-job", "server", hidden=True),
    Row("POST", "/v1/allocation/{alloc}/stop", "ns:alloc-lifecycle", "server"),
    Row("GET", "/v1/nodes", "node:read", "server"),
    Row("GET", "/v1/node/{node}", "node:read", "server"),
    Row("GET", "/v1/agent/self", "agent:read", "agent"),
    Row("GET", "/v1/metrics", "none", "server"),
    Row("GET", "/v1/openapi.json", "none", "server"),
]

NS_CAPS = sorted({c for row in TABLE for c in row.caps})
LEVELS = ["node:read", "node:write", "agent:read"]


def rules_for(granted: str, namespace: str = "default") -> str:
    if granted.startswith(("node:", "agent:")):
        block, _, level = granted.partition(":")
        return f'{block} {{\n  policy = "{level}"\n}}\n'
    return f'namespace "{namespace}" {{\n  capabilities = ["{granted}"]\n}}\n'


ALL_NS = 'namespace "{ns}" {{\n  capabilities = [' + ", ".join(f'"{c}"' for c in NS_CAPS) + "]\n}}\n"
ALL_LEVELS = 'node {\n  policy = "write"\n}\nagent {\n  policy = "write"\n}\n'


@dataclass
class World:
    agent: AgentProcess
    http: httpx.Client
    mgmt: str
    alloc: AllocFixture
    node_id: str
    tokens: dict[str, str]

    def call(self, row: Row, secret: str | None, namespace: str | None = None) -> httpx.Response:
        url = row.path.format(alloc=self.alloc.id, node=self.node_id)
        if namespace is not None:
            url += ("&" if "?" in url else "?") + f"namespace={namespace}"
        headers = {"X-Nomad-Token": secret} if secret else {}
        return self.http.request(row.method, url, headers=headers, json=row.body)

    def policy(self, name: str, rules: str) -> None:
        resp = self.http.put(f"/v1/acl/policy/{name}", headers=self.auth, json={"Name": name, "Rules": rules})
        assert resp.status_code == 200, resp.text

    def token(self, *policies: str, **extra: Any) -> str:
        body = {"Type": "client", "Policies": list(policies), **extra}
        resp = self.http.post("/v1/acl/token", headers=self.auth, json=body)
        assert resp.status_code == 200, resp.text
        return str(resp.json()["SecretID"])

    @property
    def auth(self) -> dict[str, str]:
        return {"X-Nomad-Token": self.mgmt}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    # No failure limit here: the matrix sends many failing tokens from one address on purpose.
    proc = start_configured_agent(
        tmp_path_factory.mktemp("acl-enforce"),
        'acl {\n  enabled = true\n  token_min_expiration_ttl = "1ms"\n  token_failure_limit = 0\n}\n',
    )
    try:
        with proc.client() as http:
            mgmt = http.put("/v1/acl/bootstrap").json()["SecretID"]
            alloc = make_external_alloc(proc.alloc_dir)
            alloc.write(LOG, "hello\n")
            node_id = http.get("/v1/agent/self", headers={"X-Nomad-Token": mgmt}).json()["stats"]["client"][
                "node_id"
            ]
            w = World(proc, http, mgmt, alloc, node_id, {})
            for granted in NS_CAPS + LEVELS:
                name = "only-" + granted.replace(":", "-")
                w.policy(name, rules_for(granted))
                w.tokens[granted] = w.token(name)
            w.policy("all-default", ALL_NS.format(ns="default") + ALL_LEVELS)
            w.policy("all-glob", ALL_NS.format(ns="def*"))
            w.policy("all-other", ALL_NS.format(ns="other"))
            w.policy("deny-default", 'namespace "default" {\n  policy = "deny"\n}\n')
            w.tokens["deny"] = w.token("all-default", "deny-default")
            w.tokens["glob"] = w.token("all-glob")
            w.tokens["other"] = w.token("all-other")
            w.tokens["expired"] = w.token("all-default", ExpirationTTL="1ms")
            time.sleep(0.05)
            yield w
    finally:
        assert proc.stop() == 0, "".join(proc.output)


@pytest.fixture(scope="module")
def expected(world: World) -> dict[str, tuple[int, str]]:
    """What each endpoint answers a management token (the answer of every allowed call)."""
    answers = {}
    for row in TABLE:
        resp = world.call(row, world.mgmt)
        assert resp.status_code not in (401, 403), (row, resp.text)
        answers[row.method + row.path] = (resp.status_code, resp.text)
    return answers


def _same(resp: httpx.Response, want: tuple[int, str], row: Row) -> None:
    """The management token's answer: the status, and for an error its text (bodies of successes
    hold live figures)."""
    got = (resp.status_code, resp.text)
    if want[0] >= 300:
        assert got == want, (row, got)
    else:
        assert got[0] == want[0], (row, got)


def test_management_is_allowed_everywhere(expected: dict[str, tuple[int, str]]) -> None:
    assert len(expected) == len(TABLE)


@pytest.mark.parametrize("row", TABLE, ids=lambda r: f"{r.method} {r.path}")
def test_no_token_without_an_anonymous_policy(
    world: World, expected: dict[str, tuple[int, str]], row: Row
) -> None:
    resp = world.call(row, None)
    if row.allows(set()):
        _same(resp, expected[row.method + row.path], row)
    else:
        assert (resp.status_code, resp.text) == row.denial(world.alloc.id)


@pytest.mark.parametrize("granted", NS_CAPS + LEVELS)
def test_each_capability_alone(world: World, expected: dict[str, tuple[int, str]], granted: str) -> None:
    for row in TABLE:
        resp = world.call(row, world.tokens[granted])
        if row.allows({granted}):
            _same(resp, expected[row.method + row.path], row)
        else:
            assert (resp.status_code, resp.text) == row.denial(world.alloc.id), (row, granted)


@pytest.mark.parametrize("row", TABLE, ids=lambda r: f"{r.method} {r.path}")
def test_deny_glob_other_namespace_expired_unknown(
    world: World, expected: dict[str, tuple[int, str]], row: Row
) -> None:
    want = expected[row.method + row.path]
    denial = row.denial(world.alloc.id)
    resp = world.call(row, world.tokens["deny"])
    if row.caps:
        assert (resp.status_code, resp.text) == denial
    else:
        _same(resp, want, row)
    resp = world.call(row, world.tokens["glob"])
    if row.caps or row.check == "none":
        _same(resp, want, row)
    else:
        assert (resp.status_code, resp.text) == denial
    if "{alloc}" in row.path and row.caps:
        # The allocation's namespace counts, never the request's ?namespace=.
        resp = world.call(row, world.tokens["other"], namespace="other")
        assert (resp.status_code, resp.text) == denial
    unknown, expired = TOKEN_ERRORS[row.family]
    if row.check == "none":
        unknown = expired = want
    resp = world.call(row, world.tokens["expired"])
    assert (resp.status_code, resp.text) == expired or row.check == "none", row
    resp = world.call(row, str(uuid.uuid4()))
    assert (resp.status_code, resp.text) == unknown or row.check == "none", row


@pytest.mark.parametrize("granted", NS_CAPS + LEVELS)
def test_the_anonymous_policy_grants_requests_without_a_token(
    world: World, expected: dict[str, tuple[int, str]], granted: str
) -> None:
    world.policy("anonymous", rules_for(granted))
    try:
        for row in TABLE:
            resp = world.call(row, None)
            if row.allows({granted}):
                _same(resp, expected[row.method + row.path], row)
            else:
                assert (resp.status_code, resp.text) == row.denial(world.alloc.id), (row, granted)
    finally:
        assert world.http.delete("/v1/acl/policy/anonymous", headers=world.auth).status_code == 200


def test_namespace_star_lists_only_granted_namespaces(world: World) -> None:
    resp = world.http.put("/v1/jobs", headers=world.auth, json={"Job": J.job("listed", J.sh("t", "true"))})
    assert resp.status_code == 200, resp.text
    try:
        # list-jobs in "other" only: ?namespace=* is allowed and shows nothing of "default".
        other = {"X-Nomad-Token": world.tokens["other"]}
        resp = world.http.get("/v1/jobs?namespace=*", headers=other)
        assert (resp.status_code, resp.json()) == (200, [])
        resp = world.http.get("/v1/allocations?namespace=*", headers=other)
        assert (resp.status_code, resp.json()) == (200, [])
        lister = {"X-Nomad-Token": world.tokens["list-jobs"]}
        resp = world.http.get("/v1/jobs?namespace=*", headers=lister)
        assert [j["ID"] for j in resp.json()] == ["listed"]
        reader = {"X-Nomad-Token": world.tokens["read-job"]}
        resp = world.http.get("/v1/allocations?namespace=*", headers=reader)
        assert {a["JobID"] for a in resp.json()} == {"listed"}
    finally:
        resp = world.http.delete("/v1/job/listed?purge=true", headers=world.auth)
        assert resp.status_code == 200, resp.text


def test_python_nomad_with_a_token(world: World) -> None:
    host, port = world.agent.url.removeprefix("http://").rsplit(":", 1)
    denied = nomad.Nomad(host=host, port=int(port), timeout=10)
    with pytest.raises(nomad.api.exceptions.URLNotAuthorizedNomadException):
        denied.jobs.get_jobs()
    client = nomad.Nomad(host=host, port=int(port), token=world.mgmt, timeout=10)
    assert isinstance(client.jobs.get_jobs(), list)
    assert client.allocation.get_allocation(world.alloc.id)["ID"] == world.alloc.id
    assert isinstance(client.allocations.get_allocations(), list)
    assert client.client.ls.list_files(world.alloc.id, "/")
    assert client.client.cat.read_file(world.alloc.id, LOG) == "hello\n"
    assert client.client.stat.stat_file(world.alloc.id, LOG)["Name"] == "web.stdout.0"
    assert isinstance(client.client.stats.read_stats(), dict)
    assert client.agent.get_agent()["config"]["ACL"]["Enabled"] is True
    assert client.nodes.get_nodes()[0]["ID"] == world.node_id
    assert client.node.get_node(world.node_id)["ID"] == world.node_id
    reader = nomad.Nomad(host=host, port=int(port), token=world.tokens["read-fs"], timeout=10)
    assert reader.client.cat.read_file(world.alloc.id, LOG) == "hello\n"
    with pytest.raises(nomad.api.exceptions.URLNotAuthorizedNomadException):
        reader.jobs.get_jobs()


def test_failed_tokens_are_limited_per_address(tmp_path: Path) -> None:
    proc = start_configured_agent(tmp_path, "acl {\n  enabled = true\n  token_failure_limit = 3\n}\n")
    try:
        with proc.client() as http:
            secrets = [str(uuid.uuid4()) for _ in range(4)]
            paths = ("/v1/acl/token/self", "/v1/jobs", "/v1/nodes")
            for i, (path, secret) in enumerate(zip(paths, secrets, strict=False)):
                # A forwarding header names another client each time: the connection's address counts.
                resp = http.get(path, headers={"X-Nomad-Token": secret, "X-Forwarded-For": f"203.0.113.{i}"})
                assert (resp.status_code, resp.text) == PERMISSION_DENIED
            resp = http.get(
                "/v1/jobs", headers={"X-Nomad-Token": secrets[3], "X-Forwarded-For": "198.51.100.9"}
            )
            assert resp.status_code == 429
            assert resp.text == "Too many requests with an invalid ACL token from this address; retry later"
            # Requests without a token are not held back.
            assert http.get("/v1/metrics").status_code == 200
            assert http.get("/v1/jobs").status_code == 403
    finally:
        assert proc.stop() == 0
    output = "".join(proc.output)
    assert "ACL token refused" in output
    for secret in secrets:
        assert secret not in output
