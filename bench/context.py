"""What a scenario gets to work with, and how it declares itself."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from bench.agent import AgentPool
from bench.model import Row
from bench.peers import BareApp, Floor, Nginx
from bench.plan import Plan
from bench.workspace import Workspace


class Progress:
    """Timestamped progress lines on stderr, so a long run shows where it is."""

    def __init__(self, stream: object = None) -> None:
        self.started = time.monotonic()
        self.stream = stream or sys.stderr

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def say(self, text: str) -> None:
        print(f"[{self.elapsed():6.1f}s] {text}", file=self.stream, flush=True)  # type: ignore[call-overload]


@dataclass
class Context:
    """The shared workspace, tools, peers and agents of one suite run."""

    plan: Plan
    ws: Workspace
    tools: dict[str, str]
    progress: Progress
    agents: AgentPool
    _nginx: Nginx | None = None
    _bare: dict[str, BareApp] = field(default_factory=dict)
    _floor: Floor | None = None

    def nginx(self) -> Nginx:
        """nginx over the workspace's alloc dir, started on first use."""
        if self._nginx is None:
            self._nginx = Nginx(self.tools["nginx"], self.ws.alloc_dir, self.ws.root / "nginx").start()
        return self._nginx

    def bare_app(self, server: str) -> BareApp:
        """The bare Starlette app under ``server``, started on first use."""
        app = self._bare.get(server)
        if app is None:
            app = self._bare[server] = BareApp(server, self.ws.root).start()
        return app

    def floor(self) -> Floor:
        """The floor of the stream scenarios (:mod:`bench.floor`) over the workspace's allocation, started on first use."""
        if self._floor is None:
            self._floor = Floor(self.ws.alloc_path, self.ws.root).start()
        return self._floor

    def close(self) -> None:
        self.agents.stop_all()
        if self._floor is not None:
            self._floor.stop()
            self._floor = None
        for app in self._bare.values():
            app.stop()
        self._bare.clear()
        if self._nginx is not None:
            self._nginx.stop()
            self._nginx = None


Measure = Callable[[Context, str], list[Row]]


@dataclass(frozen=True)
class Scenario:
    """One benchmark: what it measures, against which peer, and what the agent must serve for it."""

    name: str
    title: str
    peer: str
    needs: tuple[str, ...]
    per_server: bool
    measure: Measure
    about: str
    """One paragraph for the README: what is measured and how."""


Sample = dict[str, float]
RunFn = Callable[[], Sample]


def interleave(
    ctx: Context, what: str, sides: list[tuple[str, RunFn]], runs: int | None = None
) -> dict[str, dict[str, list[float]]]:
    """Run every side once per round, in order (A B A B ...), for ``runs`` rounds.

    Each run returns named values; the result maps side -> value name -> samples.
    A progress line follows every round.
    """
    rounds = runs or ctx.plan.runs
    out: dict[str, dict[str, list[float]]] = {label: {} for label, _ in sides}
    for r in range(rounds):
        shown = []
        for label, run in sides:
            sample = run()
            for key, value in sample.items():
                out[label].setdefault(key, []).append(value)
            head = next(iter(sample.items()), None)
            if head is not None:
                shown.append(f"{label} {head[0]}={_fmt(head[1])}")
        ctx.progress.say(f"{what} round {r + 1}/{rounds}: " + " | ".join(shown))
    return out


def _fmt(value: float) -> str:
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"
