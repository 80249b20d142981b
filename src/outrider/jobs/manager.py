"""Registering, stopping and purging jobs, and placing their allocations on this node.

There is no scheduler: a registered job's task groups each get ``Count``
allocations here, at once. Re-registering a job with a changed spec stops its
allocations and places new ones; an unchanged spec changes nothing. The manager
keeps no state of its own: the DB and the task runner hold it all.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import time
import uuid
from typing import Any

from outrider.allocs import Allocation, AllocRegistry
from outrider.config import AgentConfig
from outrider.jobs.errors import JobError
from outrider.jobs.parse import SERVER_FIELDS, ParsedJob, parse_job
from outrider.jobs.store import JobRecord, JobStore
from outrider.runner.env import AllocContext
from outrider.runner.service import TaskRunnerService
from outrider.runner.spec import AllocSpec
from outrider.state.db import StateDB

log = logging.getLogger("outrider.jobs")


def _without_server_fields(job: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in job.items() if k not in SERVER_FIELDS}


RAW_EXEC_DISABLED = (
    'driver "raw_exec" is disabled on this agent: enable it with plugin "raw_exec" '
    "{ config { enabled = true } } in the agent configuration, or run the agent with --dev"
)


class JobManager:
    """The jobs API's operations on one agent: ``agent.jobs``."""

    def __init__(
        self,
        config: AgentConfig,
        node_id: str,
        db: StateDB,
        allocs: AllocRegistry,
        runner: TaskRunnerService,
    ) -> None:
        self.config = config
        self.node_id = node_id
        self.db = db
        self.allocs = allocs
        self.runner = runner
        self.store = JobStore(db)

    def allocs_of(self, namespace: str, job_id: str) -> list[Allocation]:
        """The job's allocations, oldest first; those a client GC destroyed stay until the job is purged."""
        found = [a for a in self.allocs.listed() if a.namespace == namespace and a.job_id == job_id]
        return sorted(found, key=lambda a: (a.create_index, a.index))

    def register(self, raw: Any, namespace: str | None, path_id: str | None = None) -> dict[str, Any]:
        """Register (or update) a job and place its allocations; the body of Nomad's register response."""
        cfg = self.config
        parsed = parse_job(raw, region=cfg.region, datacenter=cfg.datacenter, namespace=namespace)
        if not cfg.raw_exec_enabled:
            # Nomad's raw_exec driver is off unless its plugin config enables it; nothing is stored or run.
            raise JobError(RAW_EXEC_DISABLED)
        if path_id is not None and parsed.id != path_id:
            raise JobError("Job ID does not match name")
        existing = self.store.get(parsed.namespace, parsed.id)
        eval_id = str(uuid.uuid4())
        if existing is not None and _without_server_fields(existing.job) == parsed.job:
            index = self.db.next_index()
            return _write_response(eval_id, index, existing.job_modify_index)
        job_index = self.db.next_index()
        version = existing.version + 1 if existing is not None else 0
        now = time.time_ns()
        job = {
            **parsed.job,
            "Version": version,
            "CreateIndex": existing.create_index if existing is not None else job_index,
            "ModifyIndex": job_index,
            "JobModifyIndex": job_index,
            "SubmitTime": now,
            "Stable": False,
        }
        rec = JobRecord(
            namespace=parsed.namespace,
            id=parsed.id,
            job=job,
            stop=parsed.stop,
            version=version,
            create_index=job["CreateIndex"],
            modify_index=job_index,
            submit_time=now,
        )
        self.store.put(rec)
        for alloc in self.allocs_of(parsed.namespace, parsed.id):
            self.runner.stop_alloc(alloc.id)
        eval_index = self.db.next_index()
        if not parsed.stop:
            self._place(parsed, rec, eval_id, eval_index)
        return _write_response(eval_id, eval_index, job_index)

    def _place(self, parsed: ParsedJob, rec: JobRecord, eval_id: str, index: int) -> None:
        cfg = self.config
        for group in parsed.groups:
            for i in range(group.count):
                alloc_id = str(uuid.uuid4())
                name = f"{parsed.id}.{group.name}[{i}]"
                context = AllocContext(
                    alloc_id=alloc_id,
                    alloc_name=name,
                    alloc_index=i,
                    alloc_dir=os.path.join(cfg.alloc_dir, alloc_id),
                    group=group.name,
                    job_id=parsed.id,
                    job_name=parsed.name,
                    namespace=parsed.namespace,
                    region=cfg.region,
                    datacenter=cfg.datacenter,
                    node_id=self.node_id,
                    node_name=cfg.node_name,
                    node_meta=dict(cfg.meta),
                )
                alloc = Allocation(
                    id=alloc_id,
                    namespace=parsed.namespace,
                    path=context.alloc_dir,
                    tasks=[t.name for t in group.tasks],
                    job_id=parsed.id,
                    task_group=group.name,
                    name=name,
                    index=i,
                    create_index=index,
                    modify_index=index,
                )
                spec = AllocSpec(
                    job=rec.job,
                    job_version=rec.version,
                    eval_id=eval_id,
                    job_type=parsed.type,
                    context=context,
                    tasks=group.tasks,
                )
                self.runner.place(alloc, spec)

    def deregister(self, namespace: str, job_id: str, purge: bool) -> dict[str, Any]:
        """Stop a job's allocations; with ``purge`` also forget the job and destroy its allocations."""
        rec = self.store.get(namespace, job_id)
        if rec is None:
            raise JobError("job not found", 404)
        allocs = self.allocs_of(namespace, job_id)
        try:
            return self._deregister(rec, allocs, purge)
        except sqlite3.OperationalError as exc:
            # The database takes no writes (a full disk): the stop is not recorded, but the
            # allocations are stopped all the same, so a stop always ends the job's tasks
            # (and frees the room their output takes).
            for alloc in allocs:
                with contextlib.suppress(sqlite3.OperationalError):
                    self.runner.stop_alloc(alloc.id)
            log.warning(
                "job stop not recorded; its allocations are stopped",
                extra={"namespace": rec.namespace, "job_id": rec.id, "error": str(exc)},
            )
            raise JobError(
                f"failed to record the job's stop: {exc}; its allocations are being stopped", 500
            ) from exc

    def _deregister(self, rec: JobRecord, allocs: list[Allocation], purge: bool) -> dict[str, Any]:
        namespace, job_id = rec.namespace, rec.id
        index = self.db.next_index()
        if purge:
            self.store.delete(namespace, job_id)
            for alloc in allocs:
                self.runner.in_background(self.runner.purge(alloc.id))
        else:
            if not rec.stop:
                rec.stop = True
                rec.version += 1
                rec.modify_index = index
                rec.job.update(Stop=True, Version=rec.version, ModifyIndex=index, JobModifyIndex=index)
                self.store.put(rec)
            for alloc in allocs:
                self.runner.stop_alloc(alloc.id)
        response = _write_response(str(uuid.uuid4()), index, index)
        response.update(VolumeEvalID="", VolumeEvalIndex=0)
        return response


def _write_response(eval_id: str, index: int, job_modify_index: int) -> dict[str, Any]:
    return {
        "EvalID": eval_id,
        "EvalCreateIndex": index,
        "JobModifyIndex": job_modify_index,
        "Warnings": "",
        "Index": index,
        "LastContact": 0,
        "KnownLeader": False,
    }
