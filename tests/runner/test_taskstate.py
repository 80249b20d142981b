"""Task states, events and the restart policy in Nomad's terms."""

from __future__ import annotations

import pytest

from outrider.runner import taskstate as ts
from outrider.runner.restart import (
    REASON_DELAY,
    REASON_NO_RESTARTS,
    REASON_SUCCESS,
    REASON_UNRECOVERABLE,
    RestartPolicy,
    RestartTracker,
)

S = 1_000_000_000
M = 60 * S


@pytest.mark.parametrize(
    ("ns", "text"),
    [
        (0, "0s"),
        (1, "1ns"),
        (1500, "1.5µs"),
        (250_000_000, "250ms"),
        (5 * S, "5s"),
        (15 * S, "15s"),
        (90 * S, "1m30s"),
        (30 * M, "30m0s"),
        (24 * 60 * M, "24h0m0s"),
        (3600 * S + 1_500_000_000, "1h0m1.5s"),
        (-2 * S, "-2s"),
    ],
)
def test_go_duration(ns: int, text: str) -> None:
    assert ts.go_duration(ns) == text


def test_utc_time() -> None:
    assert ts.utc_time(0) == "0001-01-01T00:00:00Z"
    assert ts.utc_time(1_700_000_000_123_400_000) == "2023-11-14T22:13:20.1234Z"
    assert ts.utc_time(1_700_000_000_000_000_000) == "2023-11-14T22:13:20Z"


def test_event_messages_and_details() -> None:
    term = ts.new_event(ts.TERMINATED, ExitCode=137, Signal=9)
    assert term["DisplayMessage"] == "Exit Code: 137, Signal: 9"
    assert term["Details"] == {"exit_code": "137", "signal": "9", "oom_killed": "false"}
    lost = ts.new_event(ts.TERMINATED, ExitCode=-1, Message='supervisor "x" died')
    assert lost["DisplayMessage"] == 'Exit Code: -1, Exit Message: "supervisor \\"x\\" died"'
    assert lost["Details"]["exit_message"] == 'supervisor "x" died'
    killing = ts.new_event(ts.KILLING, KillTimeout=5 * S)
    assert killing["DisplayMessage"] == "Sent interrupt. Waiting 5s before force killing"
    assert killing["Details"] == {"kill_timeout": "5s"}
    restarting = ts.new_event(ts.RESTARTING, RestartReason=ts.REASON_WITHIN_POLICY, StartDelay=15 * S)
    assert restarting["DisplayMessage"] == "Task restarting in 15s"
    delayed = ts.new_event(ts.RESTARTING, RestartReason=REASON_DELAY, StartDelay=S)
    assert delayed["DisplayMessage"] == f"{REASON_DELAY} - Task restarting in 1s"
    assert (
        ts.new_event(ts.SIGNALING, TaskSignal="SIGUSR1")["DisplayMessage"] == "Task being sent signal SIGUSR1"
    )
    assert (
        ts.new_event(ts.SIBLING_FAILED, FailedSibling="db")["DisplayMessage"] == 'Task\'s sibling "db" failed'
    )
    assert ts.new_event(ts.KILLED)["DisplayMessage"] == "Task successfully killed"
    assert ts.new_event(ts.RECEIVED)["DisplayMessage"] == "Task received by client"


def test_task_state_bookkeeping() -> None:
    state = ts.TaskState()
    for i in range(12):
        state.append(ts.new_event(ts.RESTARTING, now_ns=i + 1, StartDelay=0))
    assert state.restarts == 12 and state.last_restart == 12
    assert len(state.events) == ts.MAX_EVENTS and state.events[0]["Time"] == 3
    state.set_state(ts.RUNNING, 100)
    state.set_state(ts.RUNNING, 200)
    assert state.started_at == 100
    state.append(ts.new_event(ts.NOT_RESTARTING, FailsTask=True))
    state.set_state(ts.DEAD, 300)
    assert state.failed and state.finished_at == 300
    assert ts.TaskState.from_record(state.to_record()) == state
    shown = state.to_json()
    assert shown["State"] == "dead" and shown["StartedAt"].startswith("1970-01-01T00:00:00.0000001")
    assert shown["TaskHandle"] is None


def _states(*pairs: tuple[str, bool]) -> list[ts.TaskState]:
    return [ts.TaskState(state=s, failed=f) for s, f in pairs]


def test_client_status() -> None:
    assert ts.client_status(_states(("pending", False))) == ("pending", "No tasks have started")
    assert ts.client_status(_states(("running", False), ("pending", False)))[0] == "running"
    assert ts.client_status(_states(("dead", False), ("dead", False)))[0] == "complete"
    assert ts.client_status(_states(("dead", True), ("running", False)))[0] == "failed"


def test_defaults_match_nomad() -> None:
    assert RestartPolicy.default("service") == RestartPolicy(2, 30 * M, 15 * S, "fail")
    assert RestartPolicy.default("batch") == RestartPolicy(3, 24 * 60 * M, 15 * S, "fail")


def test_tracker_fail_mode() -> None:
    tracker = RestartTracker(RestartPolicy(2, 10 * S, S, "fail"), "service", window_start=1)
    for _ in range(2):
        decision = tracker.after_exit(False, now_ns=2)
        assert decision.action == ts.RESTARTING and S <= decision.delay <= 1.25 * S
    decision = tracker.after_exit(True, now_ns=3)  # service tasks restart even after success
    assert decision.action == ts.NOT_RESTARTING
    assert decision.reason == 'Exceeded allowed attempts 2 in interval 10s and mode is "fail"'
    # A new interval starts the count again.
    assert tracker.after_exit(False, now_ns=20 * S).action == ts.RESTARTING


def test_tracker_batch_success_and_delay_mode() -> None:
    batch = RestartTracker(RestartPolicy(3, 10 * S, S, "fail"), "batch", window_start=1)
    assert batch.after_exit(True, now_ns=2).reason == REASON_SUCCESS
    assert batch.after_exit(True, now_ns=2).action == ts.TERMINATED
    delay = RestartTracker(RestartPolicy(1, 10 * S, S, "delay"), "batch", window_start=S)
    assert delay.after_exit(False, now_ns=2 * S).action == ts.RESTARTING
    decision = delay.after_exit(False, now_ns=3 * S)
    assert (decision.action, decision.delay, decision.reason) == (ts.RESTARTING, 8 * S, REASON_DELAY)
    none = RestartTracker(RestartPolicy(0, 10 * S, S, "fail"), "service")
    assert none.after_exit(False).reason == REASON_NO_RESTARTS
    assert none.after_start_error(recoverable=False).reason == REASON_UNRECOVERABLE


def test_tracker_record_round_trip() -> None:
    tracker = RestartTracker(RestartPolicy(2, 10 * S, S, "fail"), "service", window_start=5)
    tracker.after_exit(False, now_ns=6)
    again = RestartTracker(tracker.policy, "service", **tracker.to_record())
    assert (again.count, again.window_start) == (1, 5)
