"""Watching a job's allocations as they are placed, start and stop, as Nomad's ``command/monitor.go`` does.

It holds blocking queries on ``/v1/job/<id>/allocations`` (``?index=N&wait=…``),
so each change is shown when it happens, without polling. Each line carries the
local time, as Nomad's monitor prints them. On a terminal a status line below
says what it is waiting for; Ctrl-C stops the watching, never the job.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

from outrider.cli.client import Client, path_of
from outrider.cli.ui import UI, format_time, short_id

WAIT = "5s"  # each blocking query's wait: short, so a dead agent is noticed
NO_PLACEMENT_GRACE = 3.0  # seconds to wait for an evaluation's first allocation
NO_PLACEMENT_WAIT = "1s"  # the blocking wait while none is placed, so the grace is kept to
_LIVE = ("pending", "running")


class Progress:
    """One status line on a terminal's stderr, rewritten in place; nothing elsewhere."""

    def __init__(self, ui: UI) -> None:
        self.enabled = ui.err_color and sys.stderr.isatty()
        self.shown = False

    def show(self, text: str) -> None:
        if self.enabled:
            sys.stderr.write(f"\r\x1b[K{text}")
            sys.stderr.flush()
            self.shown = True

    def clear(self) -> None:
        if self.shown:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()
            self.shown = False


class AllocWatch:
    """The allocations of one job, re-read whenever the agent's index moves."""

    def __init__(self, client: Client, ui: UI, job_id: str, namespace: str) -> None:
        self.client = client
        self.ui = ui
        self.job_id = job_id
        self.namespace = namespace
        self.index = 0
        self.wait = WAIT
        self.progress = Progress(ui)
        self.seen_events: dict[tuple[str, str], int] = {}
        self.seen_status: dict[str, str] = {}

    def line(self, text: str, lead: str = "    ") -> None:
        self.progress.clear()
        stamp = format_time(time.time_ns())
        self.ui.out(f"{lead}{stamp}: {text}")
        sys.stdout.flush()

    def fetch(self) -> list[dict[str, Any]]:
        params = {"index": self.index, "wait": self.wait, "namespace": self.namespace}
        allocs, index = self.client.get_indexed(
            path_of("/v1/job", self.job_id) + "/allocations", params, timeout=30
        )
        self.index = max(index, self.index)
        return allocs or []

    def until(self, done: Callable[[list[dict[str, Any]]], str | None]) -> list[dict[str, Any]]:
        """Watch until ``done`` returns its summary; return the last allocations seen."""
        try:
            while True:
                allocs = self.fetch()
                summary = done(allocs)
                if summary is not None:
                    return allocs
        finally:
            self.progress.clear()

    # -- reporting -----------------------------------------------------------------------------

    def report_placement(self, alloc: dict[str, Any]) -> None:
        if alloc["ID"] in self.seen_status:
            return
        self.seen_status[alloc["ID"]] = ""
        self.line(
            f'Allocation "{short_id(alloc["ID"])}" created: node "{short_id(alloc.get("NodeID", ""))}", '
            f'group "{alloc.get("TaskGroup", "")}"'
        )

    def report_events(self, alloc: dict[str, Any]) -> None:
        for task, state in sorted((alloc.get("TaskStates") or {}).items()):
            events = state.get("Events") or []
            key = (alloc["ID"], task)
            for event in events[self.seen_events.get(key, 0) :]:
                message = event.get("DisplayMessage") or event.get("Message") or ""
                self.line(
                    f'Task "{task}" of allocation "{short_id(alloc["ID"])}": {event.get("Type", "")}'
                    + (f": {message}" if message else "")
                )
            self.seen_events[key] = len(events)


def tasks_settled(alloc: dict[str, Any]) -> bool:
    """Every task of the allocation has started or ended (none is still pending)."""
    states = alloc.get("TaskStates") or {}
    if alloc.get("ClientStatus") not in _LIVE:
        return True
    return bool(states) and all(s.get("State") != "pending" for s in states.values())


def watch_placement(watch: AllocWatch, eval_id: str) -> tuple[int, int, int]:
    """Report the evaluation's allocations until every task started or ended: (placed, running, failed)."""
    started = time.monotonic()
    counts = (0, 0, 0)

    def done(allocs: list[dict[str, Any]]) -> str | None:
        nonlocal counts
        mine = [a for a in allocs if a.get("EvalID") == eval_id]
        for alloc in mine:
            watch.report_placement(alloc)
            watch.report_events(alloc)
        running = sum(1 for a in mine if a.get("ClientStatus") == "running")
        failed = sum(1 for a in mine if a.get("ClientStatus") in ("failed", "lost"))
        counts = (len(mine), running, failed)
        watch.wait = WAIT if mine else NO_PLACEMENT_WAIT
        if not mine:
            if time.monotonic() - started > NO_PLACEMENT_GRACE:
                return "none placed"
            watch.progress.show("waiting for the evaluation to place allocations…")
            return None
        if all(tasks_settled(a) for a in mine):
            return "settled"
        settled = sum(1 for a in mine if tasks_settled(a))
        watch.progress.show(f"waiting for tasks to start: {settled}/{len(mine)} allocations ready")
        return None

    watch.until(done)
    return counts


def watch_stop(watch: AllocWatch) -> int:
    """Report allocations as they stop, until none is live; the number that were stopped."""
    stopped = 0

    def done(allocs: list[dict[str, Any]]) -> str | None:
        nonlocal stopped
        live = [a for a in allocs if a.get("ClientStatus") in _LIVE]
        present = {a["ID"] for a in allocs}
        for alloc_id, status in list(watch.seen_status.items()):
            if alloc_id not in present and status in _LIVE:
                watch.line(f'Allocation "{short_id(alloc_id)}" stopped and purged')
                watch.seen_status[alloc_id] = "purged"
                stopped += 1
        for alloc in allocs:
            before = watch.seen_status.get(alloc["ID"])
            status = alloc.get("ClientStatus", "")
            if before in _LIVE and status not in _LIVE:
                watch.line(f'Allocation "{short_id(alloc["ID"])}" stopped: {status}')
                stopped += 1
            watch.seen_status[alloc["ID"]] = status
        if not live:
            return "stopped"
        watch.progress.show(f"waiting for {len(live)} allocation(s) to stop…")
        return None

    watch.until(done)
    return stopped
