"""The metrics registry and its two renderings (JSON as Nomad, Prometheus text)."""

from __future__ import annotations

import math
import threading

import pytest
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

from outrider.metrics import Registry
from outrider.stats.exposition import go_time_string, prometheus_name, render_json, render_prometheus


def families(text: str) -> dict[str, Metric]:
    return {f.name: f for f in text_string_to_metric_families(text)}


def test_handles_are_shared_per_name_and_labels() -> None:
    reg = Registry()
    a = reg.counter("x.requests", {"route": "/a"})
    assert reg.counter("x.requests", {"route": "/a"}) is a
    assert reg.counter("x.requests", {"route": "/b"}) is not a
    with pytest.raises(ValueError, match="is a Counter"):
        reg.gauge("x.requests", {"route": "/a"})
    with pytest.raises(ValueError, match="is a Counter"):
        reg.gauge("x.requests", {"route": "/c"})
    with pytest.raises(ValueError, match="invalid metric name"):
        reg.counter("bad name")
    with pytest.raises(ValueError, match="invalid metric label"):
        reg.counter("x.y", {"bad-label": "v"})
    with pytest.raises(ValueError, match="strictly increasing"):
        reg.histogram("x.h", buckets=(1.0, 0.5))


def test_counter_gauge_histogram_values() -> None:
    reg = Registry()
    c = reg.counter("c")
    c.inc()
    c.inc(41)
    g = reg.gauge("g")
    g.inc(3)
    g.dec()
    h = reg.histogram("h", buckets=(0.1, 1.0))
    for v in (0.05, 0.1, 0.5, 2.0):
        h.observe(v)
    assert (c.value, c.count, g.value) == (42, 2, 2)
    assert h.buckets == [2, 1, 1]  # a value equal to a bound falls in that bound's bucket
    assert (h.count, h.min, h.max) == (4, 0.05, 2.0)
    assert h.sum == pytest.approx(2.65)


def test_json_shape() -> None:
    reg = Registry()
    reg.counter("b.count", {"k": "v"}).inc(3)
    reg.gauge("a.gauge").set(1.5)
    h = reg.histogram("c.latency", {"route": "/x"})
    h.observe(1.0)
    h.observe(3.0)
    reg.register_callback(lambda: [("a.callback", {"cpu": "cpu0"}, 7)])
    body = render_json(reg.collect(), now=0.0)
    assert set(body) == {"Counters", "Gauges", "Points", "Samples", "Timestamp"}
    assert body["Timestamp"] == "1970-01-01 00:00:00 +0000 UTC"
    assert body["Points"] == []
    assert [g["Name"] for g in body["Gauges"]] == ["a.callback", "a.gauge"]
    assert body["Gauges"][0] == {"Labels": {"cpu": "cpu0"}, "Name": "a.callback", "Value": 7.0}
    (counter,) = body["Counters"]
    assert set(counter) == {"Count", "Labels", "Max", "Mean", "Min", "Name", "Rate", "Stddev", "Sum"}
    assert (counter["Name"], counter["Count"], counter["Sum"], counter["Labels"]) == (
        "b.count",
        1,
        3.0,
        {"k": "v"},
    )
    (sample,) = body["Samples"]
    assert (sample["Count"], sample["Sum"], sample["Min"], sample["Max"], sample["Mean"]) == (
        2,
        4.0,
        1.0,
        3.0,
        2.0,
    )
    assert sample["Stddev"] == pytest.approx(math.sqrt(2.0))
    assert sample["Rate"] > 0


def test_prometheus_text_parses() -> None:
    reg = Registry()
    reg.counter(
        "outrider.http.requests", {"route": "/v1/client/fs/{op}", "code": "200"}, help="requests"
    ).inc(5)
    reg.gauge("outrider.stream.open", help='open "streams"\\now').set(2)
    h = reg.histogram("outrider.http.request_duration_seconds", {"route": "/a"}, buckets=(0.01, 0.1))
    for v in (0.005, 0.05, 5.0):
        h.observe(v)
    reg.register_callback(lambda: [("nomad.client.host.cpu.idle", {"cpu": 'c"0\n'}, 99.5)])
    reg.register_callback(lambda: (_ for _ in ()).throw(RuntimeError("broken callback")))
    text = render_prometheus(reg.collect())
    fams = families(text)
    assert set(fams) == {
        "outrider_http_requests",
        "outrider_stream_open",
        "outrider_http_request_duration_seconds",
        "nomad_client_host_cpu_idle",
    }
    req = fams["outrider_http_requests"]
    assert req.type == "counter" and req.documentation == "requests"
    (sample,) = req.samples
    assert sample.name == "outrider_http_requests_total" and sample.value == 5
    assert sample.labels == {"route": "/v1/client/fs/{op}", "code": "200"}
    hist = fams["outrider_http_request_duration_seconds"]
    buckets = {s.labels["le"]: s.value for s in hist.samples if s.name.endswith("_bucket")}
    assert buckets == {"0.01": 1, "0.1": 2, "+Inf": 3}
    count = next(s.value for s in hist.samples if s.name.endswith("_count"))
    assert count == 3
    idle = fams["nomad_client_host_cpu_idle"]
    assert idle.samples[0].labels == {"cpu": 'c"0\n'} and idle.samples[0].value == 99.5
    assert fams["outrider_stream_open"].documentation == 'open "streams"\\now'


def test_unregistered_callbacks_stop_reporting() -> None:
    reg = Registry()
    unregister = reg.register_callback(lambda: [("x", {}, 1)])
    assert reg.collect().gauges == [("x", {}, 1.0)]
    unregister()
    unregister()
    assert reg.collect().gauges == []
    assert render_prometheus(reg.collect()) == ""


def test_names() -> None:
    assert prometheus_name("nomad.client.host.cpu.idle") == "nomad_client_host_cpu_idle"
    assert prometheus_name("a-b.c") == "a_b_c"
    assert go_time_string(1714564800.4) == "2024-05-01 12:00:00 +0000 UTC"


def test_updates_from_threads_do_not_break_the_registry() -> None:
    reg = Registry()

    def work(n: int) -> None:
        for i in range(200):
            reg.counter("t.c", {"thread": str(n % 3)}).inc()
            reg.histogram("t.h").observe(i / 1000)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    collected = reg.collect()
    assert len(collected.counters) == 3
    assert collected.histograms[0].count <= 1200
    families(render_prometheus(collected))
