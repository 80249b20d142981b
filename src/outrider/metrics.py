"""A small in-process metrics registry, cheap enough for hot paths.

Get a handle once (at import or construction) and keep it; updating it is an
attribute addition with no lock and no allocation::

    from outrider.metrics import REGISTRY

    FRAMES = REGISTRY.counter("outrider.stream.frames_sent", {"endpoint": "logs"})
    OPEN = REGISTRY.gauge("outrider.stream.open", help="streams being served")
    FRAMES.inc()          # or .inc(n)
    OPEN.inc(); OPEN.dec()

Values read from elsewhere (a watcher's stats dict, the host sampler) are
registered as callbacks that run only when ``/v1/metrics`` is rendered::

    unregister = REGISTRY.register_callback(lambda: [("outrider.stream.watches", {}, len(w))])

Updates from worker threads are safe to make but may, rarely, lose an
increment to a race; the event loop, where nearly all updates happen, is exact.
Names are dotted (``outrider.http.requests``); the Prometheus rendering turns
the dots into underscores.
"""

from __future__ import annotations

import bisect
import logging
import math
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

log = logging.getLogger("outrider.metrics")

Labels = Mapping[str, str]
LabelKey = tuple[tuple[str, str], ...]
GaugeSample = tuple[str, Labels, float]
Collector = Callable[[], Iterable[GaugeSample]]

# Seconds; spans a cached small response (sub-millisecond) to a slow first byte.
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*\Z")
_LABEL = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def _label_key(labels: Labels | None) -> LabelKey:
    if not labels:
        return ()
    for name in labels:
        if not _LABEL.match(name):
            raise ValueError(f"invalid metric label name {name!r}")
    return tuple(sorted((k, str(v)) for k, v in labels.items()))


class Counter:
    """A monotonically increasing total; ``count`` is how many times it was increased."""

    __slots__ = ("count", "labels", "name", "value")

    def __init__(self, name: str, labels: LabelKey) -> None:
        self.name, self.labels = name, labels
        self.value: int | float = 0
        self.count = 0

    def inc(self, n: int | float = 1) -> None:
        self.value += n
        self.count += 1


class Gauge:
    """A value that goes up and down."""

    __slots__ = ("labels", "name", "value")

    def __init__(self, name: str, labels: LabelKey) -> None:
        self.name, self.labels = name, labels
        self.value: int | float = 0

    def set(self, value: int | float) -> None:
        self.value = value

    def inc(self, n: int | float = 1) -> None:
        self.value += n

    def dec(self, n: int | float = 1) -> None:
        self.value -= n


class Histogram:
    """Observations in fixed buckets, with count, sum, sum of squares, min and max."""

    __slots__ = ("bounds", "buckets", "count", "labels", "max", "min", "name", "sum", "sumsq")

    def __init__(self, name: str, labels: LabelKey, bounds: tuple[float, ...]) -> None:
        self.name, self.labels, self.bounds = name, labels, bounds
        self.buckets = [0] * (len(bounds) + 1)  # the last one is +Inf
        self.count = 0
        self.sum = self.sumsq = 0.0
        self.min, self.max = math.inf, -math.inf

    def observe(self, value: float) -> None:
        # bisect_left puts a value equal to a bound in that bound's bucket (le semantics).
        self.buckets[bisect.bisect_left(self.bounds, value)] += 1
        self.count += 1
        self.sum += value
        self.sumsq += value * value
        if value < self.min:
            self.min = value
        if value > self.max:
            self.max = value


Metric = Counter | Gauge | Histogram


@dataclass
class Collected:
    """A consistent-enough read of the registry for rendering."""

    counters: list[Counter] = field(default_factory=list)
    gauges: list[GaugeSample] = field(default_factory=list)
    histograms: list[Histogram] = field(default_factory=list)
    help: dict[str, str] = field(default_factory=dict)
    uptime: float = 0.0


class Registry:
    """Named metrics, each identified by its name and label set."""

    def __init__(self) -> None:
        self._metrics: dict[tuple[str, LabelKey], Metric] = {}
        self._kinds: dict[str, type] = {}
        self._help: dict[str, str] = {}
        self._callbacks: list[Collector] = []
        self._lock = threading.Lock()
        self.started = time.monotonic()

    def _get(self, kind: type, name: str, labels: Labels | None, help: str, *extra: object) -> Metric:
        key = (name, _label_key(labels))
        metric = self._metrics.get(key)
        if metric is not None:
            if type(metric) is not kind:
                raise ValueError(f"metric {name!r} is a {type(metric).__name__}, not a {kind.__name__}")
            return metric
        if not _NAME.match(name):
            raise ValueError(f"invalid metric name {name!r}")
        with self._lock:
            known = self._kinds.setdefault(name, kind)
            if known is not kind:
                raise ValueError(f"metric {name!r} is a {known.__name__}, not a {kind.__name__}")
            if help:
                self._help[name] = help
            metric = self._metrics.get(key)
            if metric is None:
                metric = kind(name, key[1], *extra)
                self._metrics[key] = metric
        return metric

    def counter(self, name: str, labels: Labels | None = None, help: str = "") -> Counter:
        """The counter ``name{labels}``, created on first use."""
        metric = self._get(Counter, name, labels, help)
        assert isinstance(metric, Counter)
        return metric

    def gauge(self, name: str, labels: Labels | None = None, help: str = "") -> Gauge:
        """The gauge ``name{labels}``, created on first use."""
        metric = self._get(Gauge, name, labels, help)
        assert isinstance(metric, Gauge)
        return metric

    def histogram(
        self,
        name: str,
        labels: Labels | None = None,
        help: str = "",
        buckets: tuple[float, ...] = LATENCY_BUCKETS,
    ) -> Histogram:
        """The histogram ``name{labels}``, created on first use with ``buckets`` (upper bounds)."""
        if list(buckets) != sorted(set(buckets)):
            raise ValueError("histogram buckets must be strictly increasing")
        metric = self._get(Histogram, name, labels, help, tuple(buckets))
        assert isinstance(metric, Histogram)
        return metric

    def describe(self, name: str, help: str) -> None:
        """Set the help text of ``name`` (for callback gauges, which have no handle)."""
        self._help[name] = help

    def register_callback(self, collect: Collector) -> Callable[[], None]:
        """Call ``collect`` at each render for ``(name, labels, value)`` gauges; returns the unregister function."""
        with self._lock:
            self._callbacks.append(collect)

        def unregister() -> None:
            with self._lock:
                if collect in self._callbacks:
                    self._callbacks.remove(collect)

        return unregister

    def collect(self) -> Collected:
        """Everything to render; a failing callback is logged and skipped."""
        out = Collected(help=dict(self._help), uptime=max(time.monotonic() - self.started, 1e-9))
        for metric in list(self._metrics.values()):
            if isinstance(metric, Counter):
                out.counters.append(metric)
            elif isinstance(metric, Gauge):
                out.gauges.append((metric.name, dict(metric.labels), float(metric.value)))
            else:
                out.histograms.append(metric)
        for collect in list(self._callbacks):
            try:
                out.gauges.extend((n, dict(lb), float(v)) for n, lb, v in collect())
            except Exception:
                log.exception("metrics callback failed")
        return out


REGISTRY = Registry()
"""The process-wide registry every module feeds and ``/v1/metrics`` renders."""
