"""The restart policy and the tracker that applies it (Nomad's ``client/allocrunner/taskrunner/restarts``)."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Any

from outrider.runner import taskstate
from outrider.runner.taskstate import go_duration

MODE_FAIL = "fail"
MODE_DELAY = "delay"

REASON_NO_RESTARTS = "Policy allows no restarts"
REASON_UNRECOVERABLE = "Error was unrecoverable"
REASON_DELAY = "Exceeded allowed attempts, applying a delay"
REASON_SUCCESS = "Restart unnecessary as task terminated successfully"

# Nomad adds up to 25 % of the delay as jitter, so restarts of many tasks spread out.
JITTER = 0.25

_MINUTE = 60 * 1_000_000_000
_DEFAULTS = {
    # nomad/structs/structs.go: DefaultServiceJobRestartPolicy, DefaultBatchJobRestartPolicy.
    "service": (2, 30 * _MINUTE, 15 * 1_000_000_000),
    "batch": (3, 24 * 60 * _MINUTE, 15 * 1_000_000_000),
}


@dataclass(frozen=True)
class RestartPolicy:
    """``RestartPolicy`` of a task group: durations in nanoseconds, as Nomad's JSON has them."""

    attempts: int
    interval: int
    delay: int
    mode: str = MODE_FAIL

    @classmethod
    def default(cls, job_type: str) -> RestartPolicy:
        attempts, interval, delay = _DEFAULTS[job_type]
        return cls(attempts, interval, delay, MODE_FAIL)

    def to_json(self) -> dict[str, Any]:
        return {
            "Attempts": self.attempts,
            "Interval": self.interval,
            "Delay": self.delay,
            "Mode": self.mode,
            "RenderTemplates": False,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RestartPolicy:
        return cls(int(data["Attempts"]), int(data["Interval"]), int(data["Delay"]), str(data["Mode"]))


@dataclass(frozen=True)
class Decision:
    """What to do after a task attempt ended: a task state event type, a delay and the reason."""

    action: str  # taskstate.RESTARTING, NOT_RESTARTING or TERMINATED
    delay: int = 0
    reason: str = ""


class RestartTracker:
    """Counts attempts within the policy's interval and decides whether to restart.

    Its counters are part of the task's persisted handle, so an agent that
    restarts keeps counting where the previous one stopped.
    """

    def __init__(self, policy: RestartPolicy, job_type: str, count: int = 0, window_start: int = 0) -> None:
        self.policy = policy
        # Batch tasks that exit successfully are done; service tasks restart even then.
        self.on_success = job_type != "batch"
        self.count = count
        self.window_start = window_start or time.time_ns()

    def after_exit(self, successful: bool, now_ns: int | None = None) -> Decision:
        """The decision after the task exited on its own (``successful``: exit code 0, no signal)."""
        if successful and not self.on_success:
            return Decision(taskstate.TERMINATED, 0, REASON_SUCCESS)
        return self._next(now_ns)

    def after_start_error(self, recoverable: bool, now_ns: int | None = None) -> Decision:
        """The decision after the task could not be started at all."""
        if not recoverable:
            return Decision(taskstate.NOT_RESTARTING, 0, REASON_UNRECOVERABLE)
        return self._next(now_ns)

    def _next(self, now_ns: int | None) -> Decision:
        now = now_ns if now_ns is not None else time.time_ns()
        if self.policy.attempts == 0:
            return Decision(taskstate.NOT_RESTARTING, 0, REASON_NO_RESTARTS)
        if now > self.window_start + self.policy.interval:
            self.count = 0
            self.window_start = now
        self.count += 1
        if self.count > self.policy.attempts:
            if self.policy.mode == MODE_FAIL:
                reason = (
                    f"Exceeded allowed attempts {self.policy.attempts} in interval "
                    f'{go_duration(self.policy.interval)} and mode is "fail"'
                )
                return Decision(taskstate.NOT_RESTARTING, 0, reason)
            return Decision(
                taskstate.RESTARTING, self.window_start + self.policy.interval - now, REASON_DELAY
            )
        delay = max(self.policy.delay, 1)
        jitter = int(random.randrange(delay) * JITTER)
        return Decision(taskstate.RESTARTING, delay + jitter, taskstate.REASON_WITHIN_POLICY)

    def to_record(self) -> dict[str, int]:
        return {"count": self.count, "window_start": self.window_start}
