"""Fixtures of the runner tests."""

from __future__ import annotations

from outrider.runner.env import AllocContext


def alloc_context(alloc_id: str, alloc_dir: str) -> AllocContext:
    """What a task's environment says about its allocation and node, with a value for every field."""
    return AllocContext(
        alloc_id=alloc_id,
        alloc_name="web.api[2]",
        alloc_index=2,
        alloc_dir=alloc_dir,
        group="api",
        job_id="web",
        job_name="web-name",
        namespace="prod",
        region="eu",
        datacenter="dc2",
        node_id="node-uuid",
        node_name="node-a",
        node_meta={"rack": "r7", "zone": "z1"},
    )
