"""The agent's stream service: created once per agent, configured from it, stopped with it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from outrider.agent import Agent
from outrider.config import AgentConfig
from outrider.stream.service import existing_service, service_for
from tests.stream.conftest import Runner


def test_one_service_per_agent_configured_from_it(run: Runner[Any], tmp_path: Path) -> None:
    async def main() -> None:
        cfg = AgentConfig(data_dir=str(tmp_path), watcher="poll", poll_interval=0.1).finalize()
        agent = Agent(cfg)
        assert existing_service(agent) is None  # looking does not create it
        service = service_for(agent)
        assert service_for(agent) is service and existing_service(agent) is service
        assert service in agent.services
        assert service.watcher.mode == "poll" and service.watcher.poll_interval == 0.1
        await agent.stop()
        assert service.stats()["streams"] == 0

    run(main)
