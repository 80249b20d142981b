"""ACLs across a fleet: a token made on one agent works on all; the receiver and the owner both check it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.conftest import AgentProcess, make_external_alloc
from tests.fleet.support import NatsServer, eventually, running_fleet

pytestmark = pytest.mark.functional

ACL = "acl {\n  enabled = true\n  token_failure_limit = 0\n}\n"
READ_LOGS = 'namespace "default" {\n  capabilities = ["read-logs", "read-fs"]\n}\n'
OTHER_NS = 'namespace "other" {\n  capabilities = ["read-logs", "read-fs"]\n}\n'


@dataclass
class Pair:
    nats: NatsServer
    a: AgentProcess
    b: AgentProcess
    mgmt: str


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    with running_fleet(tmp_path_factory.mktemp("fleet-acl"), ("a", "b"), ACL) as (nats, (a, b)):
        with a.client() as client:
            mgmt = str(client.put("/v1/acl/bootstrap").json()["SecretID"])
        eventually(lambda: len(listed_nodes_as(b, mgmt)) == 2, what="both members listed")
        yield Pair(nats, a, b, mgmt)


def listed_nodes_as(agent: AgentProcess, secret: str | None) -> list[str]:
    headers = {"X-Nomad-Token": secret} if secret else {}
    with agent.client() as client:
        resp = client.get("/v1/nodes", headers=headers)
        return [n["ID"] for n in resp.json()] if resp.status_code == 200 else []


def _token(agent: AgentProcess, mgmt: str, policy: str, rules: str) -> str:
    auth = {"X-Nomad-Token": mgmt}
    with agent.client() as client:
        resp = client.put(f"/v1/acl/policy/{policy}", headers=auth, json={"Name": policy, "Rules": rules})
        assert resp.status_code == 200, resp.text
        resp = client.post("/v1/acl/token", headers=auth, json={"Type": "client", "Policies": [policy]})
        assert resp.status_code == 200, resp.text
        return str(resp.json()["SecretID"])


def _self(agent: AgentProcess, secret: str) -> int:
    with agent.client() as client:
        return client.get("/v1/acl/token/self", headers={"X-Nomad-Token": secret}).status_code


def test_the_bootstrap_token_works_on_every_member_and_bootstrap_is_done_fleet_wide(pair: Pair) -> None:
    eventually(lambda: _self(pair.b, pair.mgmt) == 200, what="management token known on b")
    with pair.b.client() as client:
        eventually(lambda: client.put("/v1/acl/bootstrap").status_code == 400, what="bootstrap refused on b")


def test_a_token_made_on_one_member_reads_the_others_allocations(pair: Pair) -> None:
    eventually(lambda: _self(pair.b, pair.mgmt) == 200, what="management token known on b")
    reader = _token(pair.a, pair.mgmt, "reader", READ_LOGS)
    elsewhere = _token(pair.b, pair.mgmt, "elsewhere", OTHER_NS)
    alloc = make_external_alloc(pair.a.alloc_dir)
    alloc.write("alloc/logs/web.stdout.0", "secret log\n")
    url = f"/v1/client/fs/logs/{alloc.id}"
    params = {"task": "web", "type": "stdout", "plain": "true"}

    def read_via_b(secret: str | None) -> httpx.Response:
        headers = {"X-Nomad-Token": secret} if secret else {}
        with pair.b.client() as client:
            return client.get(url, params=params, headers=headers)

    resp = eventually(lambda: (r := read_via_b(reader)).status_code == 200 and r, what="read through b")
    assert resp.text == "secret log\n"
    # The owner checks the capabilities: a token for another namespace is refused there.
    eventually(lambda: _self(pair.a, elsewhere) == 200, what="b's token known on a")
    assert (read_via_b(elsewhere).status_code, read_via_b(elsewhere).text) == (403, "Permission denied")
    # The receiver refuses what does not authenticate before anything is forwarded.
    bogus = "00000000-0000-0000-0000-000000000000"
    resp = read_via_b(bogus)
    with pair.a.client() as client:
        direct = client.get(url, params=params, headers={"X-Nomad-Token": bogus})
    assert (resp.status_code, resp.text) == (direct.status_code, direct.text)
    assert read_via_b(None).status_code == 403
    # A token deleted on one member stops working on all.
    with pair.a.client() as client:
        accessor = client.get("/v1/acl/token/self", headers={"X-Nomad-Token": reader}).json()["AccessorID"]
        assert (
            client.delete(f"/v1/acl/token/{accessor}", headers={"X-Nomad-Token": pair.mgmt}).status_code
            == 200
        )
    eventually(lambda: _self(pair.b, reader) == 403, what="deleted token refused on b")


def test_no_secret_is_stored_in_nats(pair: Pair) -> None:
    import nats as nats_client

    secret = _token(pair.a, pair.mgmt, "plain", READ_LOGS)
    eventually(lambda: _self(pair.b, secret) == 200, what="token replicated")

    async def values() -> bytes:
        nc = await nats_client.connect(pair.nats.url)
        try:
            kv = await nc.jetstream().key_value("outrider-acl")
            return b"".join([(await kv.get(key)).value or b"" for key in await kv.keys()])
        finally:
            await nc.close()

    stored = asyncio.run(values())
    assert b"secret_hash" in stored
    for known in (secret, pair.mgmt):
        assert known.encode() not in stored and known.upper().encode() not in stored
