"""Host and allocation statistics, the node fingerprint and the metrics registry."""

from outrider.stats.alloc import AllocSampler, TaskTarget
from outrider.stats.host import HostSampler
from outrider.stats.metrics import REGISTRY, Counter, Gauge, Histogram, Registry
from outrider.stats.service import AllocStatsService, HostStatsService, attach

__all__ = [
    "REGISTRY",
    "AllocSampler",
    "AllocStatsService",
    "Counter",
    "Gauge",
    "Histogram",
    "HostSampler",
    "HostStatsService",
    "Registry",
    "TaskTarget",
    "attach",
]
