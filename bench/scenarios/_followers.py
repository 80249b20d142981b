"""Shared by the follow scenarios: stream URLs and percentiles."""

from __future__ import annotations

import math


def follow_path(alloc_id: str, rel: str) -> str:
    """A ``stream`` request that follows ``rel`` from its current end (only new data)."""
    return f"/v1/client/fs/stream/{alloc_id}?path={rel}&follow=true&origin=end&offset=0"


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100) of an already sorted list."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]
