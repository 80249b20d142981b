"""Rendering the registry as Nomad's metrics JSON and as Prometheus text (``/v1/metrics``).

The JSON follows go-metrics' ``MetricsSummary`` (``Timestamp``, ``Gauges``,
``Counters``, ``Samples``, ``Points``), with one difference: Nomad shows the
last finished 10-second interval, Outrider shows totals since the agent
started (the Prometheus reading). ``Rate`` is therefore per second since
start, and a counter's ``Min``, ``Max`` and ``Stddev`` are 0 because counters
keep only a count and a sum. Prometheus text is exposition format 0.0.4.
"""

from __future__ import annotations

import math
import re
import time
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from outrider.metrics import Collected, Counter, Histogram

PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_INVALID = re.compile(r"[^A-Za-z0-9_:]")


def go_time_string(seconds: float) -> str:
    """Go's ``time.Time.String()`` of a UTC instant rounded to the second, as go-metrics stamps intervals."""
    return time.strftime("%Y-%m-%d %H:%M:%S +0000 UTC", time.gmtime(round(seconds)))


def _sample_stats(
    count: int, total: float, sumsq: float, lo: float, hi: float, uptime: float
) -> dict[str, Any]:
    mean = total / count if count else 0.0
    var = (sumsq - total * total / count) / (count - 1) if count > 1 else 0.0
    return {
        "Count": count,
        "Max": hi if count else 0.0,
        "Mean": mean,
        "Min": lo if count else 0.0,
        "Rate": total / uptime,
        "Stddev": math.sqrt(max(var, 0.0)),
        "Sum": total,
    }


def _sort_key(name: str, labels: Mapping[str, str]) -> tuple[str, list[tuple[str, str]]]:
    return name, sorted(labels.items())


def render_json(collected: Collected, now: float | None = None) -> dict[str, Any]:
    """The ``MetricsSummary`` object, entries sorted by name then labels."""
    gauges = [
        {"Labels": dict(labels), "Name": name, "Value": value}
        for name, labels, value in sorted(collected.gauges, key=lambda g: _sort_key(g[0], g[1]))
    ]
    counters = []
    for c in sorted(collected.counters, key=lambda m: (m.name, m.labels)):
        entry = _sample_stats(c.count, float(c.value), 0.0, 0.0, 0.0, collected.uptime)
        entry.update({"Max": 0.0, "Min": 0.0, "Stddev": 0.0, "Labels": dict(c.labels), "Name": c.name})
        counters.append(entry)
    samples = []
    for h in sorted(collected.histograms, key=lambda m: (m.name, m.labels)):
        entry = _sample_stats(h.count, h.sum, h.sumsq, h.min, h.max, collected.uptime)
        entry.update({"Labels": dict(h.labels), "Name": h.name})
        samples.append(entry)
    return {
        "Counters": counters,
        "Gauges": gauges,
        "Points": [],
        "Samples": samples,
        "Timestamp": go_time_string(time.time() if now is None else now),
    }


def prometheus_name(name: str) -> str:
    """A valid Prometheus metric name for a dotted registry name."""
    out = _INVALID.sub("_", name)
    return "_" + out if out[:1].isdigit() else out


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(labels: Mapping[str, str] | tuple[tuple[str, str], ...], extra: str = "") -> str:
    items = labels.items() if isinstance(labels, Mapping) else labels
    parts = [f'{prometheus_name(k)}="{_escape(str(v))}"' for k, v in items]
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}" if parts else ""


def _number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if float(value).is_integer() and abs(value) < 2**53:
        return str(int(value))
    return repr(float(value))


def _header(lines: list[str], name: str, kind: str, help: str) -> None:
    if help:
        escaped = help.replace("\\", "\\\\").replace("\n", "\\n")
        lines.append(f"# HELP {name} {escaped}")
    lines.append(f"# TYPE {name} {kind}")


def render_prometheus(collected: Collected) -> str:
    """Prometheus text exposition: one family per name, ``_total`` counters, cumulative histograms."""
    lines: list[str] = []
    counters: dict[str, list[Counter]] = defaultdict(list)
    for c in collected.counters:
        counters[c.name].append(c)
    for name in sorted(counters):
        family = prometheus_name(name)
        if not family.endswith("_total"):
            family += "_total"
        _header(lines, family, "counter", collected.help.get(name, ""))
        for c in sorted(counters[name], key=lambda m: m.labels):
            lines.append(f"{family}{_labels(c.labels)} {_number(c.value)}")
    gauges: dict[str, list[tuple[Mapping[str, str], float]]] = defaultdict(list)
    for name, labels, value in collected.gauges:
        gauges[name].append((labels, value))
    for name in sorted(gauges):
        family = prometheus_name(name)
        _header(lines, family, "gauge", collected.help.get(name, ""))
        for labels, value in sorted(gauges[name], key=lambda g: sorted(g[0].items())):
            lines.append(f"{family}{_labels(labels)} {_number(value)}")
    histograms: dict[str, list[Histogram]] = defaultdict(list)
    for h in collected.histograms:
        histograms[h.name].append(h)
    for name in sorted(histograms):
        family = prometheus_name(name)
        _header(lines, family, "histogram", collected.help.get(name, ""))
        for h in sorted(histograms[name], key=lambda m: m.labels):
            cumulative = 0
            for bound, n in zip((*h.bounds, math.inf), h.buckets, strict=True):
                cumulative += n
                le = 'le="' + _number(bound) + '"'
                lines.append(f"{family}_bucket{_labels(h.labels, le)} {cumulative}")
            lines.append(f"{family}_sum{_labels(h.labels)} {_number(h.sum)}")
            lines.append(f"{family}_count{_labels(h.labels)} {h.count}")
    return "\n".join(lines) + "\n" if lines else ""
