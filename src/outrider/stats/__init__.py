"""Host and allocation statistics, the node fingerprint and the sampling services."""

from outrider.stats.alloc import AllocSampler, TaskTarget
from outrider.stats.host import HostSampler
from outrider.stats.service import AllocStatsService, HostStatsService, StatsGauges

__all__ = [
    "AllocSampler",
    "AllocStatsService",
    "HostSampler",
    "HostStatsService",
    "StatsGauges",
    "TaskTarget",
]
