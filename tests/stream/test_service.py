"""The agent's stream service: built with the agent, configured from it, started and stopped with it."""

from __future__ import annotations

import gc
import os
from pathlib import Path
from typing import Any

import pytest

from outrider.agent import YOUNG_GC_THRESHOLD, Agent
from outrider.config import AgentConfig
from tests.stream.conftest import Runner


def test_one_service_per_agent_configured_from_it(run: Runner[Any], tmp_path: Path) -> None:
    async def main() -> None:
        cfg = AgentConfig(data_dir=str(tmp_path), watcher="poll", poll_interval=0.1).finalize()
        agent = Agent(cfg)
        service = agent.streams
        assert service in agent.services
        assert service.watcher.mode == "poll" and service.watcher.poll_interval == 0.1
        thresholds = gc.get_threshold()
        await agent.start()
        try:
            assert service.stats()["streams"] == 0
            # Young collections are made rarer for many long-lived connections; the rest is kept.
            assert gc.get_threshold() == (YOUNG_GC_THRESHOLD, *thresholds[1:])
        finally:
            await agent.stop()
            # The agent froze the collector's view of this process at start; give it back.
            gc.unfreeze()
            gc.set_threshold(*thresholds)
        assert service.stats()["streams"] == 0
        # Stopped with the agent: its watcher takes no new subscriptions.
        fd = os.open(tmp_path, os.O_RDONLY)
        try:
            with pytest.raises(RuntimeError):
                service.watcher.watch(fd, lambda: None, "dir")
        finally:
            os.close(fd)

    run(main)
