"""Task states and task events in Nomad's JSON shape (``structs.TaskState``, ``structs.TaskEvent``).

Events are kept as plain dicts with every field Nomad's API sends, so they are
stored and served as they are. ``DisplayMessage`` is filled the way Nomad's
``PopulateEventDisplayMessage`` does.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from outrider.gostrconv import quote

PENDING = "pending"
RUNNING = "running"
DEAD = "dead"

# Event types (nomad/structs/structs.go).
RECEIVED = "Received"
TASK_SETUP = "Task Setup"
STARTED = "Started"
TERMINATED = "Terminated"
RESTARTING = "Restarting"
NOT_RESTARTING = "Not Restarting"
KILLING = "Killing"
KILLED = "Killed"
SIGNALING = "Signaling"
RESTART_SIGNAL = "Restart Signaled"
DRIVER_FAILURE = "Driver Failure"
SIBLING_FAILED = "Sibling Task Failed"

BUILDING_TASK_DIR = "Building Task Directory"
REASON_WITHIN_POLICY = "Restart within policy"

# Nomad keeps the most recent ten events per task.
MAX_EVENTS = 10

ZERO_TIME = "0001-01-01T00:00:00Z"


def utc_time(ns: int) -> str:
    """Go's JSON form of a UTC ``time.Time`` (RFC 3339, up to nine fraction digits, ``Z``)."""
    if ns <= 0:
        return ZERO_TIME
    sec, frac = divmod(ns, 1_000_000_000)
    out = datetime.fromtimestamp(sec, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    if frac:
        out += "." + f"{frac:09d}".rstrip("0")
    return out + "Z"


def go_duration(ns: int) -> str:
    """Go's ``time.Duration.String()``: ``0s``, ``250ms``, ``15s``, ``30m0s``, ``24h0m0s``."""
    if ns == 0:
        return "0s"
    sign = "-" if ns < 0 else ""
    u = abs(ns)
    if u < 1_000:
        return f"{sign}{u}ns"
    if u < 1_000_000:
        return f"{sign}{_frac(u, 3)}µs"
    if u < 1_000_000_000:
        return f"{sign}{_frac(u, 6)}ms"
    out = _frac(u % 60_000_000_000, 9) + "s"
    minutes = u // 60_000_000_000
    if minutes:
        out = f"{minutes % 60}m{out}"
        if minutes >= 60:
            out = f"{minutes // 60}h{out}"
    return sign + out


def _frac(value: int, digits: int) -> str:
    whole, frac = divmod(value, 10**digits)
    text = f"{frac:0{digits}d}".rstrip("0")
    return f"{whole}.{text}" if text else str(whole)


def new_event(kind: str, *, now_ns: int | None = None, **fields: Any) -> dict[str, Any]:
    """A ``TaskEvent`` of type ``kind``; ``fields`` set the deprecated top-level fields and ``Details``."""
    event: dict[str, Any] = {
        "Type": kind,
        "Time": now_ns if now_ns is not None else time.time_ns(),
        "Message": "",
        "DisplayMessage": "",
        "Details": {},
        "FailsTask": False,
        "RestartReason": "",
        "SetupError": "",
        "DriverError": "",
        "ExitCode": 0,
        "Signal": 0,
        "KillReason": "",
        "KillTimeout": 0,
        "KillError": "",
        "StartDelay": 0,
        "DownloadError": "",
        "ValidationError": "",
        "DiskLimit": 0,
        "FailedSibling": "",
        "VaultError": "",
        "TaskSignalReason": "",
        "TaskSignal": "",
        "DriverMessage": "",
        "GenericSource": "",
    }
    details: dict[str, str] = event["Details"]
    for key, value in fields.items():
        event[key] = value
        detail = _DETAIL_KEYS.get(key)
        if detail is not None:
            details[detail] = _detail_text(key, value)
    if kind == TERMINATED:
        # Nomad's SetExitMessage puts the message under its own key, and only when there is one.
        message = details.pop("message", "")
        details["oom_killed"] = "false"
        if message:
            details["exit_message"] = message
    event["DisplayMessage"] = _display_message(event)
    return event


_DETAIL_KEYS = {
    "Message": "message",
    "FailsTask": "fails_task",
    "RestartReason": "restart_reason",
    "SetupError": "setup_error",
    "DriverError": "driver_error",
    "ExitCode": "exit_code",
    "Signal": "signal",
    "KillReason": "kill_reason",
    "KillTimeout": "kill_timeout",
    "KillError": "kill_error",
    "StartDelay": "start_delay",
    "FailedSibling": "failed_sibling",
    "TaskSignalReason": "task_signal_reason",
    "TaskSignal": "task_signal",
}


def _detail_text(key: str, value: Any) -> str:
    if key == "KillTimeout":
        return go_duration(int(value))
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


_FIXED_MESSAGES = {
    RECEIVED: "Task received by client",
    STARTED: "Task started by client",
}


def _display_message(e: dict[str, Any]) -> str:
    """Nomad's ``TaskEvent.PopulateEventDisplayMessage`` for the event types Outrider emits."""
    kind = e["Type"]
    fixed = _FIXED_MESSAGES.get(kind)
    if fixed is not None:
        return fixed
    if kind == DRIVER_FAILURE:
        return str(e["DriverError"])
    if kind == TERMINATED:
        text = f"Exit Code: {e['ExitCode']}"
        if e["Signal"]:
            text += f", Signal: {e['Signal']}"
        if e["Message"]:
            text += f", Exit Message: {quote(e['Message'])}"
        return text
    if kind == KILLING:
        if e["KillReason"]:
            return f"Killing task: {e['KillReason']}"
        if e["KillTimeout"]:
            return f"Sent interrupt. Waiting {go_duration(e['KillTimeout'])} before force killing"
        return "Sent interrupt"
    if kind == KILLED:
        return str(e["KillError"]) or "Task successfully killed"
    if kind == RESTARTING:
        delay = f"Task restarting in {go_duration(e['StartDelay'])}"
        reason = e["RestartReason"]
        return f"{reason} - {delay}" if reason and reason != REASON_WITHIN_POLICY else delay
    if kind == NOT_RESTARTING:
        return str(e["RestartReason"]) or "Task exceeded restart policy"
    if kind == SIBLING_FAILED:
        sibling = e["FailedSibling"]
        return f"Task's sibling {quote(sibling)} failed" if sibling else "Task's sibling failed"
    if kind == SIGNALING:
        return _signaling_message(e["TaskSignal"], e["TaskSignalReason"])
    if kind == RESTART_SIGNAL:
        return str(e["RestartReason"]) or "Task signaled to restart"
    return str(e["Message"])


def _signaling_message(sig: str, reason: str) -> str:
    if not sig:
        return reason or "Task being sent a signal"
    return f"Task being sent signal {sig}: {reason}" if reason else f"Task being sent signal {sig}"


@dataclass
class TaskState:
    """One task's state; :meth:`to_json` is Nomad's ``TaskState`` object."""

    state: str = PENDING
    failed: bool = False
    restarts: int = 0
    last_restart: int = 0
    started_at: int = 0
    finished_at: int = 0
    events: list[dict[str, Any]] = field(default_factory=list)

    def append(self, event: dict[str, Any]) -> None:
        """Record an event the way Nomad's ``appendTaskEvent`` does (failure and restart bookkeeping)."""
        if event["FailsTask"]:
            self.failed = True
        if event["Type"] == RESTARTING:
            self.restarts += 1
            self.last_restart = int(event["Time"])
        self.events.append(event)
        del self.events[:-MAX_EVENTS]

    def set_state(self, state: str, now_ns: int | None = None) -> None:
        now = now_ns if now_ns is not None else time.time_ns()
        if state == RUNNING and not self.started_at:
            self.started_at = now
        if state == DEAD and not self.finished_at:
            self.finished_at = now
        if state == RUNNING:
            # A restarted task is no longer finished.
            self.finished_at = 0
        self.state = state

    def to_json(self) -> dict[str, Any]:
        return {
            "State": self.state,
            "Failed": self.failed,
            "Restarts": self.restarts,
            "LastRestart": utc_time(self.last_restart),
            "StartedAt": utc_time(self.started_at),
            "FinishedAt": utc_time(self.finished_at),
            "Events": self.events,
            "TaskHandle": None,
        }

    def to_record(self) -> dict[str, Any]:
        """The persisted form (times as Unix ns, so nothing is lost to formatting)."""
        return {
            "State": self.state,
            "Failed": self.failed,
            "Restarts": self.restarts,
            "LastRestart": self.last_restart,
            "StartedAt": self.started_at,
            "FinishedAt": self.finished_at,
            "Events": self.events,
        }

    @classmethod
    def from_record(cls, rec: dict[str, Any]) -> TaskState:
        return cls(
            state=str(rec["State"]),
            failed=bool(rec["Failed"]),
            restarts=int(rec["Restarts"]),
            last_restart=int(rec["LastRestart"]),
            started_at=int(rec["StartedAt"]),
            finished_at=int(rec["FinishedAt"]),
            events=list(rec["Events"]),
        )


def client_status(states: list[TaskState]) -> tuple[str, str]:
    """An allocation's ``(ClientStatus, ClientDescription)`` from its tasks (Nomad's ``getClientStatus``)."""
    pending = running = dead = failed = False
    for st in states:
        if st.state == RUNNING:
            running = True
        elif st.state == PENDING:
            pending = True
        elif st.failed:
            failed = True
        else:
            dead = True
    if failed:
        return "failed", "Failed tasks"
    if running:
        return "running", "Tasks are running"
    if pending:
        return "pending", "No tasks have started"
    if dead:
        return "complete", "All tasks have completed"
    return "pending", "No tasks have started"
