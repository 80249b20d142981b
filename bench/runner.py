"""Run the selected scenarios under each server, collect outcomes and write the report."""

from __future__ import annotations

import contextlib
import datetime
import importlib.util
import time
import traceback
from pathlib import Path
from typing import Any

from bench import report
from bench.agent import AgentPool
from bench.context import Context, Progress, Scenario
from bench.machine import describe
from bench.model import Outcome
from bench.plan import Plan, human_bytes
from bench.tools import ensure_tools
from bench.workspace import Workspace, raise_fd_limit

DEFAULT_SERVER = "uvicorn"
SERVER_MODULES = {"hypercorn": "hypercorn", "uvicorn": "uvicorn"}


def installed_servers() -> list[str]:
    """Every server whose package is importable (both are dependencies of the agent)."""
    return [name for name, module in SERVER_MODULES.items() if importlib.util.find_spec(module) is not None]


def _run_one(ctx: Context, scenario: Scenario, server: str) -> Outcome:
    started = time.monotonic()
    try:
        if scenario.needs:
            agent = ctx.agents.get(server)
            missing = [agent.capabilities[c] for c in scenario.needs if agent.capabilities.get(c)]
            if missing:
                ctx.progress.say(f"{scenario.name} [{server}]: not available ({missing[0]})")
                return Outcome(scenario.name, server, "unavailable", "; ".join(m for m in missing if m))
        rows = scenario.measure(ctx, server)
        return Outcome(scenario.name, server, "ok", rows=rows, seconds=time.monotonic() - started)
    except Exception as exc:
        detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        ctx.progress.say(f"{scenario.name} [{server}]: FAILED: {detail}")
        where = traceback.extract_tb(exc.__traceback__)[-1]
        reason = f"{detail} (at {Path(where.filename).name}:{where.lineno})"
        return Outcome(scenario.name, server, "failed", reason, seconds=time.monotonic() - started)


def run_suite(
    plan: Plan, scenarios: list[Scenario], servers: list[str], out_dir: Path, command: str
) -> list[Outcome]:
    """Measure ``scenarios`` (the per-server ones under every server in ``servers``) and write the report."""
    progress = Progress()
    progress.say(f"mode {plan.mode}: {', '.join(s.name for s in scenarios)} under {', '.join(servers)}")
    tools = ensure_tools()
    raise_fd_limit()
    # Described before measuring: which native modules load is part of what was measured.
    machine = describe(tools)
    finished_at = ""
    outcomes: list[Outcome] = []
    ws = Workspace(plan.big_file)
    progress.say(f"workspace {ws.root} with a {human_bytes(plan.big_file)} file of real bytes")
    ctx = Context(plan, ws, tools, progress, AgentPool(ws))
    try:
        for i, server in enumerate(servers):
            for scenario in scenarios:
                if scenario.per_server or i == 0:
                    outcomes.append(_run_one(ctx, scenario, server))
            # One server's processes at a time: the next server gets the machine to itself.
            ctx.close()
    finally:
        with contextlib.suppress(Exception):
            ctx.close()
        ws.remove()
        finished_at = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    order = {s.name: n for n, s in enumerate(scenarios)}
    outcomes.sort(key=lambda o: order[o.scenario])
    meta: dict[str, Any] = {
        "mode": plan.mode,
        "command": command,
        "servers": servers,
        "runs": plan.runs,
        "plan": plan.__dict__,
        "finished": finished_at,
        "seconds": round(progress.elapsed(), 1),
        "machine": machine,
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    report.write_json(out_dir / "results.json", meta, outcomes)
    report.write_markdown(out_dir / "RESULTS.md", meta, outcomes)
    progress.say(f"wrote {out_dir / 'RESULTS.md'} and {out_dir / 'results.json'}")
    return outcomes
