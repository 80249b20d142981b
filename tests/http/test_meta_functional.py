"""GET/POST /v1/client/metadata against real agent processes, persistence across kill -9.

Nomad's side: ``client/meta_endpoint.go``.
"""

from __future__ import annotations

import random
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from outrider.meta import DEFAULT_META
from tests.conftest import AgentProcess, running_agent, start_agent

pytestmark = pytest.mark.functional

PATH = "/v1/client/metadata"


@pytest.fixture(scope="module")
def meta_agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AgentProcess]:
    root = tmp_path_factory.mktemp("meta")
    config = root / "agent.json"
    config.write_text('{"client": {"meta": {"zone": "z1", "connect.log_level": "debug"}}}')
    with running_agent(root / "data", "--meta", "rack=r1", "--config", str(config)) as proc:
        yield proc


@pytest.fixture
def client(meta_agent: AgentProcess) -> Iterator[httpx.Client]:
    with meta_agent.client() as c:
        yield c


def node_id(client: httpx.Client) -> str:
    return str(client.get("/v1/nodes").json()[0]["ID"])


def assert_error(resp: httpx.Response, status: int, text: str) -> None:
    assert (resp.status_code, resp.text) == (status, text)
    assert resp.headers["content-type"] == "text/plain; charset=utf-8"


def post(client: httpx.Client, body: object, **params: str) -> httpx.Response:
    return client.post(PATH, json=body, params=params)


def test_get_shows_static_meta_with_defaults(client: httpx.Client) -> None:
    resp = client.get(PATH)
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/json"
    body = resp.json()
    assert set(body) == {"Dynamic", "Meta", "Static"}
    static = body["Static"]
    assert static["rack"] == "r1" and static["zone"] == "z1"
    assert static["connect.log_level"] == "debug"  # configured keys win over the defaults
    for key, value in DEFAULT_META.items():
        if key != "connect.log_level":
            assert static[key] == value
    assert resp.content.startswith(b'{"Dynamic":{')


def test_reference_apply_sequence(client: httpx.Client) -> None:
    resp = post(client, {"Meta": {"dynamic_meta": "true"}})
    assert resp.status_code == 200
    assert resp.json()["Dynamic"]["dynamic_meta"] == "true"
    assert resp.json()["Meta"]["dynamic_meta"] == "true"

    body = post(client, {"Meta": {"zone": None}}).json()
    assert body["Static"]["zone"] == "z1"
    assert "zone" not in body["Meta"]
    assert "zone" in body["Dynamic"] and body["Dynamic"]["zone"] is None

    body = post(client, {"Meta": {"dynamic_meta": None}}).json()
    assert "dynamic_meta" not in body["Dynamic"] and "dynamic_meta" not in body["Meta"]
    assert client.get(PATH).json() == body
    post(client, {"Meta": {"zone": "z1"}})


def test_body_decoding(client: httpx.Client) -> None:
    assert (
        post(client, {"meta": {"lower.case": "1"}, "AuthToken": "ignored", "Region": "x"}).status_code == 200
    )
    resp = client.post(PATH, content=b'{"META": {"upper": "2"}} not read')
    assert resp.status_code == 200 and resp.json()["Meta"]["upper"] == "2"
    assert_error(client.post(PATH, content=b""), 400, "Request body is empty")
    assert_error(client.post(PATH, content=b"  \n"), 400, "EOF")
    assert_error(
        client.post(PATH, content=b'{"Meta": {"a": 5}}'),
        400,
        "json: cannot unmarshal number into Go struct field NodeMetaApplyRequest.Meta of type string",
    )
    resp = client.post(PATH, content=b'{"Meta": {"a": "b"')
    assert_error(resp, 400, "unexpected EOF")
    resp = client.post(PATH, content=b"{Meta}")
    assert resp.status_code == 400 and resp.text.startswith("invalid JSON at offset 1")
    huge = b'{"Meta": {"big": "' + b"x" * (2 * 1024 * 1024) + b'"}}'
    assert_error(client.post(PATH, content=huge), 413, "Request body too large: the limit is 2097152 bytes")


@pytest.mark.parametrize(
    ("meta", "text"),
    [
        (None, "missing required Meta object"),
        ({}, "missing required Meta object"),
        ({"": "x"}, "metadata keys must not be empty"),
        (
            {"ok": "1", "1a": "x", "*": "y"},
            '"1a" is invalid; metadata keys must be valid dotted hcl identifiers',
        ),
        ({"a.": "x"}, '"a." is invalid; metadata keys must be valid dotted hcl identifiers'),
        ({"a b": "x"}, '"a b" is invalid; metadata keys must be valid dotted hcl identifiers'),
        ({"a/b": None}, '"a/b" is invalid; metadata keys must be valid dotted hcl identifiers'),
    ],
)
def test_validation(client: httpx.Client, meta: object, text: str) -> None:
    before = client.get(PATH).json()
    assert_error(post(client, {"Meta": meta}), 400, text)
    assert client.get(PATH).json() == before


def test_valid_unicode_and_dotted_keys(client: httpx.Client) -> None:
    body = post(client, {"Meta": {"über": "1", "node.pool-a.v2": "2", "_x": "3"}}).json()
    assert body["Meta"]["über"] == "1" and body["Meta"]["node.pool-a.v2"] == "2"


def test_methods(client: httpx.Client) -> None:
    for method in ("PUT", "DELETE", "PATCH", "HEAD"):
        resp = client.request(method, PATH, content=b'{"Meta": {"a": "b"}}')
        assert resp.status_code == 405
        if method != "HEAD":
            assert resp.text == "Invalid method"


def test_node_targeting(client: httpx.Client) -> None:
    local = node_id(client)
    other = "8d7b1a4e-0000-4000-8000-000000000000"
    assert client.get(PATH, params={"node_id": local}).status_code == 200
    assert_error(client.get(PATH, params={"node_id": other}), 404, f"Unknown node {other}")
    assert_error(post(client, {"Meta": {"a": "b"}, "NodeID": other}), 404, f"Unknown node {other}")
    # A non-empty query parameter overrides the body's NodeID.
    assert post(client, {"Meta": {"t": "1"}, "NodeID": other}, node_id=local).status_code == 200
    assert_error(
        post(client, {"Meta": {"t": "1"}, "NodeID": local}, node_id=other), 404, f"Unknown node {other}"
    )
    # The body is decoded before the node is resolved; the node before the keys are validated.
    assert_error(client.post(PATH, content=b"", params={"node_id": other}), 400, "Request body is empty")
    assert_error(post(client, {"Meta": {"1bad": "x"}}, node_id=other), 404, f"Unknown node {other}")


def test_generic_query_errors(client: httpx.Client) -> None:
    assert_error(client.get(PATH, params={"index": "x"}), 400, "Invalid index")


def test_concurrent_posts_all_land(client: httpx.Client, meta_agent: AgentProcess) -> None:
    errors: list[str] = []

    def worker(n: int) -> None:
        with meta_agent.client() as c:
            for i in range(10):
                resp = c.post(PATH, json={"Meta": {f"load.w{n}.k{i}": str(i), "load.last": f"{n}.{i}"}})
                if resp.status_code != 200:
                    errors.append(resp.text)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    dynamic = client.get(PATH).json()["Dynamic"]
    assert {k for k in dynamic if k.startswith("load.w")} == {
        f"load.w{n}.k{i}" for n in range(8) for i in range(10)
    }
    # Clean up so other tests see a small map.
    client.post(PATH, json={"Meta": dict.fromkeys(k for k in dynamic if k.startswith("load."))})
    assert not any(k.startswith("load.") for k in client.get(PATH).json()["Dynamic"])


# -- persistence -------------------------------------------------------------------------------


def _writer(agent: AgentProcess, acked: list[int], stop: threading.Event, start: int) -> None:
    with agent.client() as c:
        i = start
        while not stop.is_set():
            body = {"Meta": {"gen": str(i), f"seq.k{i}": "x", "pair.a": str(i), "pair.b": str(i)}}
            try:
                resp = c.post(PATH, json=body)
            except httpx.HTTPError:
                return
            if resp.status_code == 200:
                acked.append(i)
            i += 1


def test_kill_minus_9_keeps_old_or_new_map(tmp_path: Path) -> None:
    data = tmp_path / "data"
    start = 0
    rng = random.Random(4646)
    for _cycle in range(2):
        agent = start_agent(data)
        acked: list[int] = []
        stop = threading.Event()
        writer = threading.Thread(target=_writer, args=(agent, acked, stop, start))
        writer.start()
        try:
            while len(acked) < 5:
                writer.join(0.01)
                assert writer.is_alive(), "writer ended before the kill"
            writer.join(rng.uniform(0.05, 0.3))
            agent.stop(signal.SIGKILL)
        finally:
            stop.set()
            writer.join()
            if agent.proc.poll() is None:
                agent.stop()

        with running_agent(data) as agent, agent.client() as c:
            dynamic = c.get(PATH).json()["Dynamic"]
        gen = int(dynamic["gen"])
        # Never a mix: the pair was written together.
        assert dynamic["pair.a"] == dynamic["pair.b"] == str(gen)
        # Everything acknowledged survived; at most the one request in flight landed too.
        assert max(acked) <= gen <= max(acked) + 1
        assert all(dynamic[f"seq.k{j}"] == "x" for j in range(gen + 1))
        assert f"seq.k{gen + 1}" not in dynamic
        start = gen + 1


def test_restart_drops_tombstones_of_keys_no_longer_static(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with running_agent(data, "--meta", "a=1", "--meta", "b=2") as agent, agent.client() as c:
        body = c.post(PATH, json={"Meta": {"a": None, "b": None, "c": "3"}}).json()
        assert body["Dynamic"] == {"a": None, "b": None, "c": "3"}
    with running_agent(data, "--meta", "a=1") as agent, agent.client() as c:
        body = c.get(PATH).json()
    assert body["Dynamic"] == {"a": None, "c": "3"}
    assert "a" not in body["Meta"] and body["Meta"]["c"] == "3" and "b" not in body["Meta"]
