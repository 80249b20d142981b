"""Start and stop real ``outrider agent`` processes for the suite, and ask what they serve."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from bench.workspace import PROBE_NAME, TASK, Workspace

READY = re.compile(r"HTTP API at (http://[^\s]+)")
START_TIMEOUT = 30.0
STOP_TIMEOUT = 20.0


class StartError(RuntimeError):
    """A server process did not print its ready line in time."""


def wait_ready(proc: subprocess.Popen[bytes], log: Path, pattern: re.Pattern[str], timeout: float) -> str:
    """Poll ``log`` (the process's output file) for ``pattern``; return its first group."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace") if log.exists() else ""
        match = pattern.search(text)
        if match:
            return match.group(1)
        if proc.poll() is not None:
            raise StartError(f"exited with {proc.returncode}:\n{text[-2000:]}")
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    raise StartError(f"not ready after {timeout:.0f}s:\n{log.read_text(errors='replace')[-2000:]}")


def stop_process(proc: subprocess.Popen[bytes], timeout: float = STOP_TIMEOUT) -> int:
    """SIGTERM, then SIGKILL after ``timeout``; return the exit code."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def http_get(url: str, timeout: float = 10.0) -> tuple[int, bytes]:
    """A plain GET: ``(status, body)``; HTTP errors are answers too."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@dataclass
class AgentProcess:
    """A running agent: its URL, process and the optional endpoints it serves."""

    server: str
    pure: bool
    proc: subprocess.Popen[bytes]
    url: str
    log: Path
    capabilities: dict[str, str | None] = field(default_factory=dict)
    """Capability name -> None when served, else why it is not."""

    @property
    def label(self) -> str:
        return "outrider (pure twin)" if self.pure else "outrider"

    @property
    def host_port(self) -> tuple[str, int]:
        host, port = self.url.removeprefix("http://").rsplit(":", 1)
        return host, int(port)

    def fs_url(self, op: str, alloc_id: str, query: str) -> str:
        return f"{self.url}/v1/client/fs/{op}/{alloc_id}?{query}"

    def rss(self) -> int:
        return int(psutil.Process(self.proc.pid).memory_info().rss)

    def cpu_seconds(self) -> float:
        times = psutil.Process(self.proc.pid).cpu_times()
        return float(times.user + times.system)

    def open_fds(self) -> int:
        return len(os.listdir(f"/proc/{self.proc.pid}/fd"))

    def fd_limit(self) -> int:
        """The agent's soft descriptor limit (it raises its own to the hard limit at start)."""
        soft, _ = psutil.Process(self.proc.pid).rlimit(psutil.RLIMIT_NOFILE)
        return int(soft)

    def stop(self) -> int:
        return stop_process(self.proc)


def start_agent(ws: Workspace, server: str, pure: bool = False) -> AgentProcess:
    """Start an agent serving the workspace's alloc dir with ``server``; ``pure`` forces the twins."""
    data_dir = ws.fresh_dir("agent-data")
    log = data_dir.parent / f"{data_dir.name}.log"
    # Thousands of followers come from one address: Nomad's per-client cap would refuse them.
    config = data_dir.parent / f"{data_dir.name}.hcl"
    config.write_text("limits {\n  http_max_conns_per_client = 0\n}\n")
    env = {k: v for k, v in os.environ.items() if k != "OUTRIDER_PURE"}
    if pure:
        env["OUTRIDER_PURE"] = "1"
    cmd = [
        sys.executable,
        "-m",
        "outrider",
        "agent",
        "--dev",
        "--http-port",
        "0",
        "--data-dir",
        str(data_dir),
        "--alloc-dir",
        str(ws.alloc_dir),
        "--server",
        server,
        "--config",
        str(config),
        "--log-level",
        "warn",
    ]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        url = wait_ready(proc, log, READY, START_TIMEOUT)
    except StartError as exc:
        raise StartError(f"agent ({server}) {exc}") from None
    agent = AgentProcess(server, pure, proc, url, log)
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
