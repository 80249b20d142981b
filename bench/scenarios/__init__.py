"""Every scenario of the suite, in the order the report lists them."""

from bench.context import Scenario
from bench.scenarios import (
    cat,
    cold_cat,
    follow_latency,
    idle_followers,
    log_capture,
    logs_rotation,
    micro,
    readat,
    small_endpoints,
    stream,
)

ALL: list[Scenario] = [
    cat.SCENARIO,
    readat.SCENARIO,
    stream.SCENARIO,
    follow_latency.SCENARIO,
    cold_cat.SCENARIO,
    idle_followers.SCENARIO,
    small_endpoints.SCENARIO,
    log_capture.SCENARIO,
    logs_rotation.SCENARIO,
    micro.SCENARIO,
]

BY_NAME = {s.name: s for s in ALL}

__all__ = ["ALL", "BY_NAME"]
