"""One allocation's tasks together: their combined ``ClientStatus``, sibling failure, stop."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from outrider.allocs import Allocation, AllocRegistry
from outrider.runner import taskstate as ts
from outrider.runner.handle import task_state_dir
from outrider.runner.spec import AllocSpec
from outrider.runner.store import RunnerStore
from outrider.runner.taskrunner import TaskRunner
from outrider.state.retry import RetryingWriter

KILL_GRACE = 10.0
"""Seconds beyond a task's kill timeout that a destroy waits for it before giving up on it."""


class AllocRunner:
    """The task runners of one allocation, and what follows from their states."""

    def __init__(
        self,
        *,
        alloc: Allocation,
        spec: AllocSpec,
        saved: dict[str, tuple[dict[str, Any], dict[str, Any]]],
        registry: AllocRegistry,
        store: RunnerStore,
        data_dir: str,
        cgroup_for: Callable[[str, str], str | None],
        next_index: Callable[[], int],
        max_kill_timeout: int | None = None,
        writer: RetryingWriter | None = None,
    ) -> None:
        self.alloc = alloc
        self.spec = spec
        self.registry = registry
        self._next_index = next_index
        self.writer = writer if writer is not None else RetryingWriter("runner")
        self.tasks: dict[str, TaskRunner] = {}
        for task in spec.tasks:
            state_rec, handle = saved.get(task.name, (None, {}))
            state = ts.TaskState.from_record(state_rec) if state_rec else ts.TaskState()
            self.tasks[task.name] = TaskRunner(
                alloc_id=alloc.id,
                alloc_path=alloc.path,
                state_dir=task_state_dir(data_dir, alloc.id, task.name),
                context=spec.context,
                job_type=spec.job_type,
                spec=task,
                store=store,
                state=state,
                handle=handle,
                on_change=self._changed,
                cgroup=cgroup_for(alloc.id, task.name),
                max_kill_timeout=max_kill_timeout,
                writer=self.writer,
            )

    def start(self) -> None:
        """Run the tasks, or resume following them; a stopped allocation's tasks are killed."""
        for runner in self.tasks.values():
            runner.start()
        if self.alloc.desired_status == "stop":
            self.kill()
        self._changed(None)

    def _changed(self, runner: TaskRunner | None) -> None:
        if runner is not None and runner.state.state == ts.DEAD and runner.state.failed:
            # One failed task fails the allocation; its siblings are stopped (Nomad's alloc runner).
            for other in self.tasks.values():
                if other is not runner:
                    other.kill(ts.new_event(ts.SIBLING_FAILED, FailedSibling=runner.name))
        status, _ = ts.client_status([r.state for r in self.tasks.values()])
        if not self.alloc.destroyed:
            # Shown at once; written now or, the database refusing, once it takes writes again.
            with contextlib.suppress(KeyError):
                self.registry.update_status(self.alloc.id, client_status=status, persist=False)
                self.writer.write(("alloc", self.alloc.id), self.save_status)

    def save_status(self) -> None:
        """Write the allocation's status with a new index (a no-op once it is destroyed)."""
        # Any task change is a change of the allocation (its TaskStates): a new index, as
        # Nomad's client updates bump it, so blocking queries on the allocation return.
        if not self.alloc.destroyed:
            with contextlib.suppress(KeyError):
                self.registry.update_status(self.alloc.id, modify_index=self._next_index())

    def kill(self) -> None:
        """Stop every task (``Killing``, kill signal, SIGKILL after the kill timeout)."""
        for runner in self.tasks.values():
            runner.kill()

    async def kill_and_wait(self) -> None:
        """Kill every task still alive and wait, bounded, for each to be dead."""
        self.kill()
        for runner in self.tasks.values():
            timeout = runner.kill_timeout / 1e9 + KILL_GRACE
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(runner.finished.wait(), timeout)

    async def detach(self) -> None:
        """Stop following the tasks; they keep running (the agent is stopping or forgetting them)."""
        for runner in self.tasks.values():
            await runner.detach()

    def client_description(self) -> str:
        return ts.client_status([r.state for r in self.tasks.values()])[1]
