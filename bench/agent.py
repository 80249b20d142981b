"""The agents the suite measures (started by :mod:`bench.launcher`), and what each one serves."""

from __future__ import annotations

import contextlib
import functools
import urllib.error
import urllib.request
from dataclasses import dataclass, field

from bench.launcher import LaunchedAgent, StartError
from bench.launcher import start_agent as launch_agent
from bench.workspace import PROBE_NAME, TASK, Workspace


def http_get(url: str, timeout: float = 10.0) -> tuple[int, bytes]:
    """A plain GET: ``(status, body)``; HTTP errors are answers too."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@dataclass
class AgentProcess(LaunchedAgent):
    """An agent under measurement: its server, its core and the optional endpoints it serves."""

    server: str = "uvicorn"
    pure: bool = False
    capabilities: dict[str, str | None] = field(default_factory=dict)
    """Capability name -> None when served, else why it is not."""

    @property
    def label(self) -> str:
        return "outrider (pure twin)" if self.pure else "outrider"

    def fs_url(self, op: str, alloc_id: str, query: str) -> str:
        return f"{self.url}/v1/client/fs/{op}/{alloc_id}?{query}"


def start_agent(ws: Workspace, server: str, pure: bool = False) -> AgentProcess:
    """Start an agent serving the workspace's alloc dir with ``server``; ``pure`` forces the twins."""
    data_dir = ws.fresh_dir("agent-data")
    # Thousands of followers come from one address: Nomad's per-client cap would refuse them.
    config = data_dir.parent / f"{data_dir.name}.hcl"
    config.write_text("limits {\n  http_max_conns_per_client = 0\n}\n")
    try:
        agent = launch_agent(
            data_dir,
            "--config",
            str(config),
            "--alloc-dir",
            str(ws.alloc_dir),
            "--server",
            server,
            "--log-level",
            "warn",
            env={"OUTRIDER_PURE": "1" if pure else None},
            make=functools.partial(AgentProcess, server=server, pure=pure),
        )
    except StartError as exc:
        raise StartError(f"agent ({server}) {exc}") from None
    agent.capabilities = probe(agent, ws)
    return agent


def _missing(path: str, status: int) -> str:
    return f"GET {path} answers {status}: this agent does not serve it yet"


def probe(agent: AgentProcess, ws: Workspace) -> dict[str, str | None]:
    """Which optional endpoints this agent serves (None) and why not (text)."""
    aid = ws.alloc_id
    checks = {
        "fs": (f"/v1/client/fs/readat/{aid}?path={PROBE_NAME}&offset=0&limit=1", {200}),
        "stream": (f"/v1/client/fs/stream/{aid}?path={PROBE_NAME}&follow=false", {200}),
        # Any answer but routing's 404 means the handler exists (the task is unknown here).
        "logs": (f"/v1/client/fs/logs/{aid}?task={TASK}&type=stdout", None),
        "metadata": ("/v1/client/metadata", {200}),
        "stats": ("/v1/client/stats", {200}),
        "jobs": ("/v1/jobs", {200}),
    }
    found: dict[str, str | None] = {}
    for name, (path, ok) in checks.items():
        status, body = http_get(agent.url + path)
        if ok is None:
            served = not (status == 404 and body.strip() in (b"", b"Invalid method"))
        else:
            served = status in ok
        found[name] = None if served else _missing(path.split("?")[0], status)
    return found


class AgentPool:
    """The agents of the server being measured: one native, one pure twin (started on demand)."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self._agents: dict[tuple[str, bool], AgentProcess] = {}

    def get(self, server: str, pure: bool = False) -> AgentProcess:
        key = (server, pure)
        agent = self._agents.get(key)
        if agent is None or agent.proc.poll() is not None:
            agent = self._agents[key] = start_agent(self.ws, server, pure)
        return agent

    def restart(self, server: str, pure: bool = False) -> AgentProcess:
        """A fresh agent (for memory measurements that must not inherit earlier garbage)."""
        old = self._agents.pop((server, pure), None)
        if old is not None:
            old.stop()
        return self.get(server, pure)

    def stop_all(self) -> None:
        for agent in self._agents.values():
            with contextlib.suppress(Exception):
                agent.stop()
        self._agents.clear()
