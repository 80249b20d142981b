"""GET /v1/node/<id> and GET /v1/nodes: the local node in Nomad's shapes, Meta live, blocking queries."""

from __future__ import annotations

import os
import platform
import socket
import threading
from collections.abc import Iterator

import httpx
import nomad
import psutil
import pytest

from outrider import __version__
from tests.conftest import AgentProcess

pytestmark = pytest.mark.functional


@pytest.fixture
def client(agent: AgentProcess) -> Iterator[httpx.Client]:
    with agent.client() as c:
        yield c


@pytest.fixture
def node_id(client: httpx.Client) -> str:
    return str(client.get("/v1/nodes").json()[0]["ID"])


def test_node_view(client: httpx.Client, node_id: str, agent: AgentProcess) -> None:
    resp = client.get(f"/v1/node/{node_id}")
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/json"
    assert int(resp.headers["x-nomad-index"]) >= 1
    assert resp.headers["x-nomad-knownleader"] == "true" and resp.headers["x-nomad-lastcontact"] == "0"
    node = resp.json()
    assert list(node) == sorted(node)
    assert node["ID"] == node_id
    assert (node["Status"], node["SchedulingEligibility"], node["Datacenter"], node["NodePool"]) == (
        "ready", "eligible", "dc1", "default",
    )  # fmt: skip
    assert node["Name"] == os.uname().nodename and node["NodeClass"] == ""
    assert node["HTTPAddr"] == agent.url.removeprefix("http://")
    assert node["SecretID"] == "" and node["Drain"] is False and node["DrainStrategy"] is None
    raw_exec = node["Drivers"]["raw_exec"]
    assert raw_exec["Detected"] is True and raw_exec["Attributes"] == {"driver.raw_exec": "true"}
    attrs = node["Attributes"]
    assert int(attrs["cpu.numcores"]) == psutil.cpu_count()
    assert int(attrs["cpu.totalcompute"]) > 0
    assert attrs["memory.totalbytes"] == str(psutil.virtual_memory().total)
    assert attrs["kernel.name"] == "linux" and attrs["kernel.version"] == platform.release()
    assert attrs["unique.hostname"] == socket.gethostname()
    assert attrs["outrider.version"] == __version__
    assert "nomad.version" not in attrs
    assert attrs["os.name"] and "os.version" in attrs
    resources = node["NodeResources"]
    assert resources["Cpu"]["CpuShares"] == int(attrs["cpu.totalcompute"])
    assert resources["Cpu"]["TotalCpuCores"] == psutil.cpu_count()
    assert resources["Memory"]["MemoryMB"] == psutil.virtual_memory().total // (1024 * 1024)
    assert node["Meta"] == client.get("/v1/client/metadata").json()["Meta"]
    assert node["ComputedClass"].startswith("v1:")


def test_meta_follows_a_post_at_once(client: httpx.Client, node_id: str) -> None:
    before = client.get(f"/v1/node/{node_id}").json()["ModifyIndex"]
    assert client.post("/v1/client/metadata", json={"Meta": {"node.view.key": "v1"}}).status_code == 200
    node = client.get(f"/v1/node/{node_id}").json()
    assert node["Meta"]["node.view.key"] == "v1"
    assert node["ModifyIndex"] > before
    client.post("/v1/client/metadata", json={"Meta": {"node.view.key": None}})
    assert "node.view.key" not in client.get(f"/v1/node/{node_id}").json()["Meta"]


def test_blocking_query_returns_on_change(client: httpx.Client, node_id: str, agent: AgentProcess) -> None:
    index = int(client.get(f"/v1/node/{node_id}").headers["x-nomad-index"])
    result: dict[str, httpx.Response] = {}

    def block() -> None:
        with agent.client() as c:
            result["resp"] = c.get(f"/v1/node/{node_id}", params={"index": str(index), "wait": "60s"})

    waiter = threading.Thread(target=block)
    waiter.start()
    waiter.join(0.3)
    assert waiter.is_alive(), "a blocking query with a current index must wait for a change"
    client.post("/v1/client/metadata", json={"Meta": {"blocking.key": "1"}})
    waiter.join(10)
    assert not waiter.is_alive()
    resp = result["resp"]
    assert int(resp.headers["x-nomad-index"]) > index
    assert resp.json()["Meta"]["blocking.key"] == "1"
    # A stale index answers at once; a short wait with no change answers with the same index.
    assert client.get(f"/v1/node/{node_id}", params={"index": "0"}).status_code == 200
    current = client.get(f"/v1/node/{node_id}").headers["x-nomad-index"]
    same = client.get(f"/v1/node/{node_id}", params={"index": current, "wait": "50ms"})
    assert same.headers["x-nomad-index"] == current
    client.post("/v1/client/metadata", json={"Meta": {"blocking.key": None}})


def test_node_errors(client: httpx.Client, node_id: str) -> None:
    for other in ("not-this-node", f"{node_id}/x", "a/b/c", ""):
        resp = client.get(f"/v1/node/{other}")
        assert (resp.status_code, resp.text) == (404, "node not found")
    for method in ("POST", "PUT", "DELETE"):
        resp = client.request(method, f"/v1/node/{node_id}")
        assert (resp.status_code, resp.text) == (405, "Invalid method")
        resp = client.request(method, "/v1/nodes")
        assert (resp.status_code, resp.text) == (405, "Invalid method")
    assert client.get(f"/v1/node/{node_id}", params={"index": "x"}).text == "Invalid index"


def test_nodes_list(client: httpx.Client, node_id: str) -> None:
    resp = client.get("/v1/nodes")
    assert resp.status_code == 200 and "x-nomad-index" in resp.headers
    (stub,) = resp.json()
    assert stub["ID"] == node_id and stub["Address"] == "127.0.0.1"
    assert stub["Version"] == __version__ and stub["Status"] == "ready"
    assert "NodeResources" not in stub and "Attributes" not in stub
    assert client.get("/v1/nodes", params={"prefix": node_id[:4]}).json()[0]["ID"] == node_id
    other = "0" if node_id[0] != "0" else "1"
    assert client.get("/v1/nodes", params={"prefix": other}).json() == []
    (full,) = client.get("/v1/nodes", params={"resources": "true", "os": "1"}).json()
    assert full["NodeResources"]["Cpu"]["TotalCpuCores"] == psutil.cpu_count()
    assert full["ReservedResources"]["Memory"] == {"MemoryMB": 0}
    assert list(full["Attributes"]) == ["os.name"]
    resp = client.get("/v1/nodes", params={"resources": "yes"})
    assert resp.status_code == 400
    assert (
        resp.text
        == 'Failed to parse value of "resources" (yes) as a bool: strconv.ParseBool: parsing "yes": invalid syntax'
    )


def test_python_nomad_reads_the_node(agent: AgentProcess, node_id: str) -> None:
    port = int(agent.url.rsplit(":", 1)[1])
    api = nomad.Nomad(host="127.0.0.1", port=port, timeout=10)
    assert api.node.get_node(node_id)["ID"] == node_id
    assert [n["ID"] for n in api.nodes.get_nodes()] == [node_id]
