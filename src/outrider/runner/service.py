"""The agent's task runner: ``agent.runner``, the one place the rest of Outrider asks about tasks.

It places allocations (their directories, rows and runners), resumes them when
the agent starts, stops, restarts and signals them, and garbage-collects the
terminal ones (Nomad's ``client/gc.go``). It never kills a task when the agent
stops: tasks live in their supervisors, and the next agent picks them up again.

A collected allocation keeps what the jobs API shows of it (the job version it
ran, its task states), as Nomad's servers do, until its job is purged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

from outrider.allocs import Allocation, AllocRegistry
from outrider.config import AgentConfig
from outrider.fs.allocdir import build_alloc_dir
from outrider.runner import cgroup
from outrider.runner import taskstate as ts
from outrider.runner.allocrunner import AllocRunner
from outrider.runner.errors import InvalidSignal, RunnerError, TaskNotRunning
from outrider.runner.handle import alloc_state_dir
from outrider.runner.spec import AllocSpec, signal_number
from outrider.runner.store import RunnerStore
from outrider.runner.taskrunner import TaskRunner
from outrider.state.db import StateDB
from outrider.state.retry import RetryingWriter

log = logging.getLogger("outrider.runner")

RESTART_ONE = "User requested task to restart"
RESTART_RUNNING = "User requested running tasks to restart"
RESTART_ALL = "User requested all tasks to restart"


@dataclass(frozen=True)
class CollectedAlloc:
    """What remains of an allocation a client GC destroyed: what it ran and how its tasks ended."""

    spec: AllocSpec | None
    task_states: dict[str, dict[str, Any]]
    client_description: str


class TaskRunnerService:
    """Runs Outrider's own allocations; an agent service, ``agent.runner``.

    Args:
        db: the state DB: task states, and the index every change takes.
        allocs: the agent's allocation registry; placed allocations are added to it.
        config: where allocation and state directories go, and ``max_kill_timeout``.
    """

    name = "runner"

    def __init__(self, db: StateDB, allocs: AllocRegistry, config: AgentConfig) -> None:
        self.db = db
        self.allocs = allocs
        self.config = config
        self.store = RunnerStore(db)
        # The runners' state writes: retried while the database refuses them, never fatal to a runner.
        self.writer = RetryingWriter("runner")
        self._allocs: dict[str, AllocRunner] = {}
        self._collected: dict[str, CollectedAlloc] = {}
        # Allocations being destroyed, each with the event set once it is.
        self._destroying: dict[str, asyncio.Event] = {}
        self._background: set[asyncio.Task[None]] = set()
        self._cgroups: bool | None = None

    # -- service lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        """Pick up every allocation of the state DB again (re-attach to live tasks, reconcile the rest)."""
        for alloc in self.allocs.owned():
            record, saved = self.store.load(alloc.id)
            if record is None:
                # Placed, but the agent died before its tasks were recorded: nothing ever ran.
                if not alloc.terminal:
                    self.allocs.update_status(alloc.id, client_status="failed")
                continue
            self._run(alloc, AllocSpec.from_json(record), saved)
        for alloc in self.allocs.destroyed():
            self._collected[alloc.id] = self._collected_record(alloc.id)

    async def stop(self) -> None:
        """Stop following tasks (they keep running) and finish nothing half-way.

        With a temporary data directory (``--dev``) nothing could re-attach to the
        tasks once it is removed, so they are killed and waited for first, as Nomad's
        dev mode destroys its allocations (``command/agent/agent.go`` ``Shutdown``).
        """
        for task in list(self._background):
            task.cancel()
        for task in list(self._background):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.config.temp_data_dir:
            await asyncio.gather(*(runner.kill_and_wait() for runner in self._allocs.values()))
        for runner in self._allocs.values():
            await runner.detach()
        await self.writer.close()

    def _run(
        self, alloc: Allocation, spec: AllocSpec, saved: dict[str, tuple[dict[str, Any], dict[str, Any]]]
    ) -> AllocRunner:
        runner = AllocRunner(
            alloc=alloc,
            spec=spec,
            saved=saved,
            registry=self.allocs,
            store=self.store,
            data_dir=self.config.data_dir,
            cgroup_for=self._cgroup_for,
            next_index=self.db.next_index,
            max_kill_timeout=round(self.config.max_kill_timeout * 1e9),
            writer=self.writer,
        )
        self._allocs[alloc.id] = runner
        runner.start()
        return runner

    def _cgroup_for(self, alloc_id: str, task: str) -> str | None:
        if self._cgroups is False:
            return None
        path = cgroup.task_cgroup_path(alloc_id, task)
        self._cgroups = path is not None
        return path

    # -- placement and lifecycle requests -------------------------------------------------------

    def place(self, alloc: Allocation, spec: AllocSpec) -> None:
        """Create the allocation's directory and rows, then start its tasks."""
        build_alloc_dir(self.config.alloc_dir, alloc.id, [t.name for t in spec.tasks])
        self.allocs.add(alloc)
        received = {}
        for task in spec.tasks:
            state = ts.TaskState()
            state.append(ts.new_event(ts.RECEIVED))
            received[task.name] = state.to_record()
        self.store.create(alloc.id, spec.to_json(), received)
        self._run(alloc, spec, {name: (rec, {}) for name, rec in received.items()})

    def stop_alloc(self, alloc_id: str) -> None:
        """Stop an allocation for good (its job was stopped or replaced)."""
        alloc = self.allocs.get(alloc_id)
        if alloc is None or alloc.external or alloc.destroyed:
            return
        runner = self._allocs.get(alloc_id)
        if runner is None:
            if alloc.desired_status != "stop":
                self.allocs.update_status(alloc_id, desired_status="stop", modify_index=self.db.next_index())
            return
        if alloc.desired_status != "stop":
            # In memory first: the stop goes ahead whether or not the database takes the write now.
            self.allocs.update_status(alloc_id, desired_status="stop", persist=False)
            self.writer.write(("alloc", alloc_id), runner.save_status)
        runner.kill()

    def restart(self, alloc_id: str, task: str | None = None, all_tasks: bool = False) -> None:
        """Restart one task, or every running one; raises :class:`RunnerError`."""
        runner = self._runner(alloc_id)
        if task:
            self._task(runner, task, "Could not find task runner for task: ").restart(
                ts.new_event(ts.RESTART_SIGNAL, RestartReason=RESTART_ONE)
            )
            return
        running = [r for r in runner.tasks.values() if r.running]
        if not running:
            raise TaskNotRunning()
        reason = RESTART_ALL if all_tasks else RESTART_RUNNING
        for r in running:
            r.restart(ts.new_event(ts.RESTART_SIGNAL, RestartReason=reason))

    def signal(self, alloc_id: str, signal_name: str, task: str | None = None) -> None:
        """Send a signal (``SIGUSR1``...) to one task or to every running one; raises :class:`RunnerError`."""
        runner = self._runner(alloc_id)
        number = signal_number(signal_name)
        if number is None:
            raise InvalidSignal(signal_name)
        if task:
            self._task(runner, task, "Task not found: ").signal(signal_name, number)
            return
        running = [r for r in runner.tasks.values() if r.running]
        if not running:
            raise TaskNotRunning()
        for r in running:
            r.signal(signal_name, number)

    def _runner(self, alloc_id: str) -> AllocRunner:
        runner = self._allocs.get(alloc_id)
        if runner is None:
            raise TaskNotRunning()
        return runner

    @staticmethod
    def _task(runner: AllocRunner, task: str, missing: str) -> TaskRunner:
        found = runner.tasks.get(task)
        if found is None:
            raise RunnerError(missing + task)
        return found

    # -- garbage collection (Nomad's client/gc.go) ------------------------------------------------

    def gc_eligible(self, alloc_id: str) -> bool:
        """Owned, terminal, not destroyed and not being destroyed: Nomad's "in the GC queue"."""
        alloc = self.allocs.get(alloc_id)
        return (
            alloc is not None
            and not alloc.external
            and not alloc.destroyed
            and alloc.terminal
            and alloc_id not in self._destroying
        )

    async def collect(self, alloc_id: str) -> bool:
        """Destroy one eligible allocation and wait for it; False when it is not eligible."""
        if not self.gc_eligible(alloc_id):
            return False
        await self._destroy_now(alloc_id)
        return True

    def collect_all(self) -> list[str]:
        """Start destroying every eligible allocation in the background; return their IDs (Nomad's ``CollectAll``)."""
        ids = [a.id for a in self.allocs.owned() if self.gc_eligible(a.id)]
        for alloc_id in ids:
            self._claim(alloc_id)
            self.in_background(self._destroy_then_release(alloc_id))
        return ids

    def in_background(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run a coroutine the service owns: it is cancelled when the agent stops."""
        task = asyncio.get_running_loop().create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background_done)

    def _background_done(self, task: asyncio.Task[None]) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            # A purge that failed (the state database refusing writes, say) is said, not lost.
            log.error("background work failed", exc_info=task.exception(), extra={"work": task.get_name()})

    def _claim(self, alloc_id: str) -> None:
        self._destroying[alloc_id] = asyncio.Event()

    def _release(self, alloc_id: str) -> None:
        done = self._destroying.pop(alloc_id, None)
        if done is not None:
            done.set()

    async def _destroy_now(self, alloc_id: str) -> None:
        self._claim(alloc_id)
        try:
            await self._destroy(alloc_id)
        finally:
            self._release(alloc_id)

    async def _destroy_then_release(self, alloc_id: str) -> None:
        try:
            await self._destroy(alloc_id)
        except Exception:
            log.exception("garbage collection failed", extra={"alloc_id": alloc_id})
        finally:
            self._release(alloc_id)

    async def _destroy(self, alloc_id: str) -> None:
        alloc = self.allocs.get(alloc_id)
        assert alloc is not None
        runner = self._allocs.get(alloc_id)
        if runner is not None:
            await runner.kill_and_wait()
            await runner.detach()
        state_dir = alloc_state_dir(self.config.data_dir, alloc_id)
        groups = [g for g in (self._cgroup_for(alloc_id, t) for t in alloc.tasks) if g is not None]
        await asyncio.to_thread(_remove_trees, alloc.path, state_dir, groups)
        self.allocs.mark_destroyed(alloc_id)
        self._collected[alloc_id] = self._collected_record(alloc_id)
        self._allocs.pop(alloc_id, None)
        if runner is not None:
            for task in runner.tasks.values():
                task.finished.set()
        log.info("allocation garbage collected", extra={"alloc_id": alloc_id})

    def _collected_record(self, alloc_id: str) -> CollectedAlloc:
        """What a destroyed allocation's rows still say (the same after a restart as right after the GC)."""
        record, saved = self.store.load(alloc_id)
        spec = AllocSpec.from_json(record) if record is not None else None
        names = [t.name for t in spec.tasks if t.name in saved] if spec is not None else sorted(saved)
        states = [ts.TaskState.from_record(saved[name][0]) for name in names]
        return CollectedAlloc(
            spec=spec,
            task_states={name: state.to_json() for name, state in zip(names, states, strict=True)},
            client_description=ts.client_status(states)[1] if states else "",
        )

    async def purge(self, alloc_id: str) -> None:
        """Stop an allocation, wait for its tasks, destroy it, then forget it (a purged job's allocations)."""
        self.stop_alloc(alloc_id)
        runner = self._allocs.get(alloc_id)
        if runner is not None:
            await runner.kill_and_wait()
        pending = self._destroying.get(alloc_id)
        if pending is not None:
            await pending.wait()  # a GC is under way: it finishes first
        alloc = self.allocs.get(alloc_id)
        if alloc is None or alloc.external:
            return
        if not alloc.destroyed:
            await self._destroy_now(alloc_id)
        self.allocs.forget(alloc_id)
        self._collected.pop(alloc_id, None)
        # The listings changed: blocking queries on them return.
        self.db.next_index()

    # -- what other parts of the agent read -----------------------------------------------------

    def task_states(self, alloc_id: str) -> dict[str, dict[str, Any]]:
        """``TaskStates`` of the allocation: task name to Nomad's ``TaskState`` JSON object."""
        runner = self._allocs.get(alloc_id)
        if runner is None:
            collected = self._collected.get(alloc_id)
            return dict(collected.task_states) if collected is not None else {}
        return {name: r.state.to_json() for name, r in runner.tasks.items()}

    def task_root_pid(self, alloc_id: str, task: str) -> int | None:
        """The pid of the task's main process while it runs; its process tree is the task."""
        found = self._find(alloc_id, task)
        return found.root_pid() if found is not None else None

    def task_cgroup(self, alloc_id: str, task: str) -> str | None:
        """The task's cgroup v2 directory while it runs in one (None when the host does not allow it)."""
        found = self._find(alloc_id, task)
        return found.cgroup_dir() if found is not None else None

    def task_finished(self, alloc_id: str, task: str) -> asyncio.Event | None:
        """Set once the task is dead for good (no restart will follow); None for unknown tasks."""
        found = self._find(alloc_id, task)
        return found.finished if found is not None else None

    def alloc_spec(self, alloc_id: str) -> AllocSpec | None:
        """What the allocation was placed with (its job version, eval, task specs)."""
        runner = self._allocs.get(alloc_id)
        if runner is not None:
            return runner.spec
        collected = self._collected.get(alloc_id)
        return collected.spec if collected is not None else None

    def client_description(self, alloc_id: str) -> str:
        runner = self._allocs.get(alloc_id)
        if runner is not None:
            return runner.client_description()
        collected = self._collected.get(alloc_id)
        return collected.client_description if collected is not None else ""

    def _find(self, alloc_id: str, task: str) -> TaskRunner | None:
        runner = self._allocs.get(alloc_id)
        return runner.tasks.get(task) if runner is not None else None


def _remove_trees(alloc_path: str, state_dir: str, groups: list[str]) -> None:
    for path in (alloc_path, state_dir):
        if os.path.lexists(path):
            shutil.rmtree(path, ignore_errors=True)
    # A supervisor removes its task's cgroup itself; one it could not (killed, or slow
    # to empty) goes now, with anything still in it.
    for group in groups:
        if os.path.isdir(group):
            cgroup.kill_all(group)
            cgroup.remove(group)
