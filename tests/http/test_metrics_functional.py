"""GET /v1/metrics: Nomad's JSON summary and Prometheus text, fed by real requests."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import AgentProcess, AllocFixture

pytestmark = pytest.mark.functional


@pytest.fixture
def client(agent: AgentProcess) -> Iterator[httpx.Client]:
    with agent.client() as c:
        yield c


def prometheus(client: httpx.Client) -> dict[str, Metric]:
    resp = client.get("/v1/metrics", params={"format": "prometheus"})
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    return {f.name: f for f in text_string_to_metric_families(resp.text)}


def requests_by_route(fams: dict[str, Metric]) -> dict[tuple[str, str, str], float]:
    family = fams["outrider_http_requests"]
    return {(s.labels["route"], s.labels["method"], s.labels["code"]): s.value for s in family.samples}


def test_json_summary_shape(client: httpx.Client) -> None:
    client.get("/v1/client/stats")
    resp = client.get("/v1/metrics")
    assert resp.status_code == 200 and resp.headers["content-type"] == "application/json"
    body = resp.json()
    assert list(body) == ["Counters", "Gauges", "Points", "Samples", "Timestamp"]
    assert body["Timestamp"].endswith(" +0000 UTC")
    gauges = {g["Name"] for g in body["Gauges"]}
    assert {"nomad.client.host.memory.total", "nomad.client.host.cpu.idle", "nomad.client.uptime"} <= gauges
    assert {"outrider.client.tasks", "outrider.http.requests_in_flight"} <= gauges
    for entry in body["Counters"] + body["Samples"]:
        assert set(entry) == {"Count", "Labels", "Max", "Mean", "Min", "Name", "Rate", "Stddev", "Sum"}
    assert any(c["Name"] == "outrider.http.requests" for c in body["Counters"])
    assert any(s["Name"] == "outrider.http.request_duration_seconds" for s in body["Samples"])
    memory = next(g for g in body["Gauges"] if g["Name"] == "nomad.client.host.memory.total")
    assert memory["Value"] > 0 and memory["Labels"]["datacenter"] == "dc1"


def test_prometheus_counts_requests_by_route_template(client: httpx.Client, alloc: AllocFixture) -> None:
    alloc.write("alloc/logs/x.txt", "hi")
    before = requests_by_route(prometheus(client))
    for _ in range(3):
        assert (
            client.get(f"/v1/client/fs/stat/{alloc.id}", params={"path": "alloc/logs/x.txt"}).status_code
            == 200
        )
    assert client.get(f"/v1/client/fs/stat/{uuid.uuid4()}", params={"path": "x"}).status_code == 404
    assert client.get(f"/v1/client/allocation/{alloc.id}/stats").status_code == 200
    client.get(f"/v1/client/fs/bogus{uuid.uuid4().hex}/{alloc.id}")
    client.put("/v1/client/metadata")
    client.get(f"/no/such/{uuid.uuid4()}")
    after = requests_by_route(prometheus(client))

    def delta(key: tuple[str, str, str]) -> float:
        return after.get(key, 0) - before.get(key, 0)

    assert delta(("/v1/client/fs/stat", "GET", "200")) == 3
    assert delta(("/v1/client/fs/stat", "GET", "404")) == 1
    assert delta(("/v1/client/allocation/{alloc_id}/stats", "GET", "200")) == 1
    assert delta(("/v1/client/fs/{unknown}", "GET", "404")) == 1
    assert delta(("/v1/client/metadata", "PUT", "405")) == 1
    assert delta(("unmatched", "GET", "404")) == 1
    # Raw paths never become labels.
    assert not any(alloc.id in route for route, _m, _c in after)


def test_prometheus_families(client: httpx.Client) -> None:
    client.get("/v1/agent/health")
    fams = prometheus(client)
    latency = fams["outrider_http_request_duration_seconds"]
    assert latency.type == "histogram"
    routes = {s.labels["route"] for s in latency.samples}
    assert "/v1/agent/health" in routes
    idle = fams["nomad_client_host_cpu_idle"]
    assert idle.type == "gauge"
    assert {s.labels["cpu"] for s in idle.samples} >= {"cpu0"}
    tasks = fams["outrider_client_tasks"]
    assert {s.labels["state"] for s in tasks.samples} == {"pending", "running", "dead"}
    assert fams["outrider_http_requests_in_flight"].samples[0].value >= 1


def test_metrics_method_and_python_nomad(client: httpx.Client, agent: AgentProcess) -> None:
    resp = client.post("/v1/metrics")
    assert (resp.status_code, resp.text) == (405, "Invalid method")
    import nomad

    port = int(agent.url.rsplit(":", 1)[1])
    body = nomad.Nomad(host="127.0.0.1", port=port, timeout=10).metrics.get_metrics()
    assert "Gauges" in body


def test_stream_figures_follow_open_streams(
    client: httpx.Client, agent: AgentProcess, alloc: AllocFixture
) -> None:
    alloc.write("alloc/logs/followed.txt", "line\n")
    with (
        agent.client() as streamer,
        streamer.stream(
            "GET", f"/v1/client/fs/stream/{alloc.id}", params={"path": "alloc/logs/followed.txt"}
        ) as resp,
    ):
        assert resp.status_code == 200
        # Keep the iterator: dropping it would close the response, and the stream with it.
        frames = resp.iter_raw()
        next(frames)  # the stream is registered once its first frame is out
        fams = prometheus(client)
        assert fams["outrider_stream_streams"].samples[0].value >= 1
        watched = sum(
            fams[name].samples[0].value
            for name in ("outrider_stream_inotify_watches", "outrider_stream_polled")
        )
        assert watched >= 1
