"""Three agents and a real NATS server on loopback: any agent answers for any node."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import AgentProcess, AllocFixture, make_external_alloc
from tests.fleet.support import (
    NatsServer,
    eventually,
    listed_nodes,
    nats_server,
    node_id_of,
    running_fleet,
    start_member,
)
from tests.http.conftest import allocs, wait_status
from tests.runner import jobspecs as J

pytestmark = pytest.mark.functional


@dataclass
class Fleet:
    nats: NatsServer
    agents: list[AgentProcess]
    ids: list[str]


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    with running_fleet(tmp_path_factory.mktemp("fleet"), ("a", "b", "c")) as (nats, agents):
        ids = [node_id_of(agent) for agent in agents]
        for agent in agents:
            eventually(lambda agent=agent: set(ids) <= set(listed_nodes(agent)), what="three members listed")
        yield Fleet(nats, agents, ids)


def _published(via: AgentProcess, alloc: AllocFixture) -> None:
    """Wait until ``via`` finds ``alloc`` (its owner publishes what it holds about once a second)."""
    with via.client() as client:
        eventually(
            lambda: client.get(f"/v1/client/fs/stat/{alloc.id}", params={"path": "/"}).status_code == 200,
            what="allocation reachable",
        )


def test_every_member_lists_every_node_ready(fleet: Fleet) -> None:
    for agent in fleet.agents:
        nodes = listed_nodes(agent)
        assert all(nodes[i] == "ready" for i in fleet.ids), nodes


def test_a_non_owner_serves_the_owners_files_byte_for_byte(fleet: Fleet) -> None:
    owner, other = fleet.agents[0], fleet.agents[1]
    alloc = make_external_alloc(owner.alloc_dir)
    payload = os.urandom(300_000)
    alloc.write("alloc/logs/web.stdout.0", payload)
    alloc.write("web/local/conf.txt", "x=1\n")
    _published(other, alloc)
    with owner.client() as direct, other.client() as proxied:
        for path, params in (
            (f"/v1/client/fs/cat/{alloc.id}", {"path": "alloc/logs/web.stdout.0"}),
            (
                f"/v1/client/fs/readat/{alloc.id}",
                {"path": "alloc/logs/web.stdout.0", "offset": "7", "limit": "99"},
            ),
            (f"/v1/client/fs/ls/{alloc.id}", {"path": "web/local"}),
            (f"/v1/client/fs/stat/{alloc.id}", {"path": "web/local/conf.txt"}),
            (f"/v1/client/fs/logs/{alloc.id}", {"task": "web", "type": "stdout", "plain": "true"}),
        ):
            want = direct.get(path, params=params)
            got = proxied.get(path, params=params)
            assert (got.status_code, got.content) == (want.status_code, want.content), path
            assert want.status_code == 200
        assert (
            proxied.get(f"/v1/client/fs/cat/{alloc.id}", params={"path": "alloc/logs/web.stdout.0"}).content
            == payload
        )
        # The owner's errors come back as they are.
        missing = proxied.get(f"/v1/client/fs/cat/{alloc.id}", params={"path": "nope"})
        assert (
            missing.status_code
            == direct.get(f"/v1/client/fs/cat/{alloc.id}", params={"path": "nope"}).status_code
        )


def test_a_follow_through_a_non_owner_sees_new_lines(fleet: Fleet) -> None:
    owner, other = fleet.agents[0], fleet.agents[2]
    alloc = make_external_alloc(owner.alloc_dir)
    log = alloc.write("alloc/logs/web.stdout.0", "first\n")
    _published(other, alloc)
    params = {"task": "web", "type": "stdout", "plain": "true", "follow": "true", "origin": "start"}
    with (
        other.client() as client,
        client.stream("GET", f"/v1/client/fs/logs/{alloc.id}", params=params) as resp,
    ):
        assert resp.status_code == 200
        seen = b""
        chunks = resp.iter_raw()
        while b"first\n" not in seen:
            seen += next(chunks)
        with log.open("a") as out:
            out.write("second\n")
        deadline = time.monotonic() + 10
        while b"second\n" not in seen and time.monotonic() < deadline:
            seen += next(chunks)
        assert seen == b"first\nsecond\n"


def test_metadata_is_read_and_written_through_any_member(fleet: Fleet) -> None:
    a, b, c = fleet.agents
    target = fleet.ids[0]
    with b.client() as client:
        resp = client.post("/v1/client/metadata", params={"node_id": target}, json={"Meta": {"rack": "r9"}})
        assert resp.status_code == 200, resp.text
    with c.client() as client:
        assert client.get("/v1/client/metadata", params={"node_id": target}).json()["Dynamic"]["rack"] == "r9"
        assert client.get(f"/v1/node/{target}").json()["Meta"]["rack"] == "r9"
        assert client.get("/v1/client/stats", params={"node_id": target}).status_code == 200
    with a.client() as client:
        assert client.get("/v1/client/metadata").json()["Dynamic"]["rack"] == "r9"
    with c.client() as client:
        # Nomad's own client names the node in the body instead.
        resp = client.post("/v1/client/metadata", json={"NodeID": target, "Meta": {"zone": "z2"}})
        assert resp.status_code == 200, resp.text
        assert resp.json()["Dynamic"]["zone"] == "z2"
        stranger = str(uuid.uuid4())
        resp = client.post("/v1/client/metadata", json={"NodeID": stranger, "Meta": {"zone": "z3"}})
        assert (resp.status_code, resp.text) == (404, f"Unknown node {stranger}")
        # A body past the metadata bound is not looked into here; the handler refuses it as ever.
        huge = b'{"Meta": {"k": "' + b"v" * (2 * 1024 * 1024) + b'"}}'
        assert 400 <= client.post("/v1/client/metadata", content=huge).status_code < 500
    with a.client() as client:
        assert client.get("/v1/client/metadata").json()["Dynamic"]["zone"] == "z2"
    with c.client() as client:
        # C's own metadata is untouched.
        assert "rack" not in (client.get("/v1/client/metadata").json()["Dynamic"] or {})


def test_unknown_nodes_and_allocations_keep_their_errors(fleet: Fleet) -> None:
    stranger = str(uuid.uuid4())
    with fleet.agents[1].client() as client:
        resp = client.get("/v1/client/stats", params={"node_id": stranger})
        assert (resp.status_code, resp.text) == (404, f"Unknown node {stranger}")
        resp = client.get(f"/v1/client/fs/cat/{stranger}", params={"path": "x"})
        assert (resp.status_code, resp.text) == (404, f'Unknown allocation "{stranger}"')
        # Hostile allocation IDs never reach NATS as keys.
        for bad in ("..", "a b", "*", ">", "x.y.", "%00"):
            resp = client.get(f"/v1/client/fs/stat/{bad}", params={"path": "/"})
            assert resp.status_code in (400, 404), (bad, resp.status_code, resp.text)


def test_a_job_run_on_one_member_is_listed_and_read_from_the_others(fleet: Fleet) -> None:
    a, b, c = fleet.agents
    with a.client() as client:
        resp = client.post("/v1/jobs", json={"Job": J.job("fleetjob", J.sh("t", "echo hello fleet"))})
        assert resp.status_code == 200, resp.text
        (stub,) = allocs(client, "fleetjob")
        wait_status(client, stub["ID"], "complete")
    alloc_id = stub["ID"]
    with b.client() as client:
        listed = eventually(
            lambda: [s for s in client.get("/v1/allocations").json() if s["ID"] == alloc_id] or None,
            what="allocation listed by another member",
        )
        assert listed[0]["NodeID"] == fleet.ids[0] and listed[0]["JobID"] == "fleetjob"
        # The owner publishes what it holds about once a second.
        full = eventually(
            lambda: (r := client.get(f"/v1/allocation/{alloc_id}")).status_code == 200 and r.json()
        )
        assert full["NodeID"] == fleet.ids[0]
    with c.client() as client:
        resp = client.get(
            f"/v1/client/fs/logs/{alloc_id}", params={"task": "t", "type": "stdout", "plain": "true"}
        )
        assert (resp.status_code, resp.text) == (200, "hello fleet\n")
        # Job submission stays where it is sent: C knows no such job.
        assert client.get("/v1/job/fleetjob").status_code == 404
        # The job's logs span the fleet: C asks the member that holds the job's allocations.
        params = {"type": "stdout", "plain": "true", "all": "true"}
        resp = client.get("/v1/job/fleetjob/logs", params=params)
        assert (resp.status_code, resp.text) == (200, f"{alloc_id[:8]}/t: hello fleet\n")
        missing = client.get("/v1/job/no-such-job/logs", params=params)
        assert (missing.status_code, missing.text) == (404, "job not found")


def test_a_client_leaving_a_proxied_follow_releases_the_owner(fleet: Fleet) -> None:
    owner, other = fleet.agents[0], fleet.agents[1]
    alloc = make_external_alloc(owner.alloc_dir)
    alloc.write("alloc/logs/web.stdout.0", "x\n")
    _published(other, alloc)
    baseline = owner.open_fds()
    params = {"task": "web", "type": "stdout", "plain": "true", "follow": "true"}
    for _ in range(5):
        with (
            other.client() as client,
            client.stream("GET", f"/v1/client/fs/logs/{alloc.id}", params=params) as resp,
        ):
            assert resp.status_code == 200
            next(resp.iter_raw())
    # Every upstream follow ended: the owner is back to its descriptors (keep-alive connections aside).
    assert owner.settled_fds(baseline + 4, timeout=10) <= baseline + 4


def test_relayed_followers_are_not_capped_by_the_owner(tmp_path: Path) -> None:
    """One member relays more followers to another than that one's per-client cap allows."""
    nats = nats_server(tmp_path / "nats")
    nats.start()
    owner = start_member(tmp_path / "a", nats.url, "limits { http_max_conns_per_client = 3 }\n")
    relay = start_member(tmp_path / "b", nats.url)
    try:
        alloc = make_external_alloc(owner.alloc_dir)
        log = alloc.write("alloc/logs/web.stdout.0", "x\n")
        _published(relay, alloc)
        # The owner recognises the relay once it has read the relay's record.
        eventually(lambda: len(listed_nodes(owner)) == 2, what="the owner sees the relay")
        params = {"task": "web", "type": "stdout", "plain": "true", "follow": "true"}
        with contextlib.ExitStack() as stack:
            followers = []
            for _ in range(8):
                client = stack.enter_context(relay.client())
                resp = stack.enter_context(
                    client.stream("GET", f"/v1/client/fs/logs/{alloc.id}", params=params)
                )
                assert resp.status_code == 200
                followers.append(resp.iter_raw())
                assert next(followers[-1]) == b"x\n"
            with log.open("a") as out:
                out.write("y\n")
            # All eight follow at once, each over its own connection to the owner.
            assert [next(f) for f in followers] == [b"y\n"] * 8
    finally:
        assert relay.stop() == 0 and owner.stop() == 0
        nats.stop()


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[NatsServer, list[AgentProcess], Path]]:
    with running_fleet(tmp_path, ("a", "b")) as (nats, agents):
        yield nats, agents, tmp_path


def _cat_ok(client: httpx.Client, alloc_id: str) -> httpx.Response | None:
    resp = client.get(f"/v1/client/fs/cat/{alloc_id}", params={"path": "alloc/logs/web.stdout.0"})
    return resp if resp.status_code == 200 else None


def _no_path_fast(client: httpx.Client, alloc_id: str) -> None:
    started = time.monotonic()
    resp = client.get(f"/v1/client/fs/cat/{alloc_id}", params={"path": "alloc/logs/web.stdout.0"})
    assert (resp.status_code, resp.text) == (404, "No path to node")
    assert time.monotonic() - started < 2.0


def test_a_killed_owner_fails_fast_ages_out_and_rejoins(
    pair: tuple[NatsServer, list[AgentProcess], Path],
) -> None:
    nats, (a, b), root = pair
    a_id = node_id_of(a)
    alloc = make_external_alloc(a.alloc_dir)
    alloc.write("alloc/logs/web.stdout.0", "hello\n")
    _published(b, alloc)
    params = {"task": "web", "type": "stdout", "plain": "true", "follow": "true", "origin": "start"}
    with (
        b.client() as client,
        client.stream("GET", f"/v1/client/fs/logs/{alloc.id}", params=params) as follow,
    ):
        chunks = follow.iter_raw()
        assert next(chunks) == b"hello\n"
        a.proc.send_signal(signal.SIGKILL)
        a.proc.wait(10)
        # The owner died mid-answer: the stream ends with Nomad's text instead of hanging.
        assert b"".join(chunks) == b"No path to node"
    with b.client() as client:
        _no_path_fast(client, alloc.id)
        # The record ages out: shown down, then gone; requests keep failing fast meanwhile.
        eventually(lambda: listed_nodes(b).get(a_id) != "ready", what="killed node no longer ready")
        _no_path_fast(client, alloc.id)
        eventually(lambda: a_id not in listed_nodes(b), what="killed node's record aged out")
        _no_path_fast(client, alloc.id)
    again = start_member(root / "a", nats.url)
    try:
        assert node_id_of(again) == a_id
        with b.client() as client:
            resp = eventually(
                lambda: _cat_ok(client, alloc.id),
                what="restarted node reachable",
            )
            assert resp.content == b"hello\n"
    finally:
        assert again.stop() == 0


def test_nats_going_away_and_coming_back(pair: tuple[NatsServer, list[AgentProcess], Path]) -> None:
    nats, (a, b), _root = pair
    a_id, b_id = node_id_of(a), node_id_of(b)
    alloc = make_external_alloc(a.alloc_dir)
    alloc.write("alloc/logs/web.stdout.0", "hello\n")
    local = make_external_alloc(b.alloc_dir)
    local.write("alloc/logs/web.stdout.0", "mine\n")
    _published(b, alloc)
    nats.stop()
    with b.client() as client:
        eventually(
            lambda: (
                client.get(f"/v1/client/fs/cat/{alloc.id}", params={"path": "x"}).text == "No path to node"
            ),
            what="remote requests failing without NATS",
        )
        _no_path_fast(client, alloc.id)
        # Local requests keep working.
        assert (
            client.get(f"/v1/client/fs/cat/{local.id}", params={"path": "alloc/logs/web.stdout.0"}).text
            == "mine\n"
        )
        nats.start()
        eventually(lambda: {a_id, b_id} <= set(listed_nodes(b)), what="both re-registered")
        resp = eventually(
            lambda: _cat_ok(client, alloc.id),
            what="remote reads again",
        )
        assert resp.text == "hello\n"


def test_an_agent_started_without_nats_serves_and_joins_later(tmp_path: Path) -> None:
    nats = nats_server(tmp_path / "nats")
    agent = start_member(tmp_path / "a", nats.url)
    try:
        alloc = make_external_alloc(agent.alloc_dir)
        alloc.write("alloc/logs/web.stdout.0", "alone\n")
        with agent.client() as client:
            assert (
                client.get(f"/v1/client/fs/cat/{alloc.id}", params={"path": "alloc/logs/web.stdout.0"}).text
                == "alone\n"
            )
        nats.start()
        node_id = node_id_of(agent)
        eventually(lambda: listed_nodes(agent).get(node_id) == "ready", what="registered once NATS is up")
    finally:
        assert agent.stop() == 0
        nats.stop()


def test_a_clean_stop_removes_the_node_record(tmp_path: Path) -> None:
    import nats as nats_client

    server = nats_server(tmp_path / "nats")
    server.start()
    try:
        agent = start_member(tmp_path / "a", server.url)
        node_id = node_id_of(agent)
        eventually(lambda: listed_nodes(agent).get(node_id) == "ready", what="registered")
        assert agent.stop() == 0

        async def keys() -> list[str]:
            nc = await nats_client.connect(server.url)
            try:
                kv = await nc.jetstream().key_value("outrider-nodes")
                try:
                    return list(await kv.keys())
                except Exception:
                    return []
            finally:
                await nc.close()

        assert node_id not in asyncio.run(keys())
    finally:
        server.stop()
