"""The JSON objects of the jobs API in Nomad's shapes: ``Job``, ``JobListStub``, ``JobSummary``,
``JobVersionsResponse``, ``Allocation`` and ``AllocationListStub``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from outrider.allocs import TERMINAL_STATUSES, Allocation
from outrider.jobs.store import JobRecord
from outrider.runner.service import TaskRunnerService


def alloc_is_live(alloc: Allocation) -> bool:
    """Nomad's "not TerminalStatus()": wanted running and not finished."""
    return alloc.desired_status == "run" and alloc.client_status not in TERMINAL_STATUSES


def job_status(rec: JobRecord, allocs: Iterable[Allocation]) -> str:
    """``running`` while any allocation is live, else ``dead`` (Nomad's getJobStatus once its eval completed)."""
    return "running" if any(alloc_is_live(a) for a in allocs) else "dead"


def job_json(rec: JobRecord, allocs: list[Allocation]) -> dict[str, Any]:
    """The registered ``Job`` with its live status."""
    return {**rec.job, "Status": job_status(rec, allocs), "StatusDescription": ""}


def job_versions(
    rec: JobRecord, allocs: list[Allocation], versions: list[dict[str, Any]], index: int
) -> dict[str, Any]:
    """Nomad's ``JobVersionsResponse`` (``command/agent/job_endpoint.go`` ``jobVersions``), newest first.

    The current version carries the job's live status; older ones were replaced
    (their allocations stopped), so they are ``dead``. Diffs are not computed.
    """
    older = [
        {**job, "Status": "dead", "StatusDescription": ""}
        for job in versions
        if job.get("Version") != rec.version
    ]
    return {
        "Versions": [job_json(rec, allocs), *older],
        "Diffs": None,
        "Index": index,
        "LastContact": 0,
        "KnownLeader": True,
        "NextToken": "",
    }


def job_summary(rec: JobRecord, allocs: list[Allocation]) -> dict[str, Any]:
    groups = {g["Name"]: _zero_counts() for g in rec.job.get("TaskGroups", [])}
    for alloc in allocs:
        counts = groups.setdefault(alloc.task_group, _zero_counts())
        key = {"pending": "Starting", "running": "Running", "complete": "Complete", "failed": "Failed"}.get(
            alloc.client_status, "Lost"
        )
        counts[key] += 1
    return {
        "JobID": rec.id,
        "Namespace": rec.namespace,
        "Summary": groups,
        "Children": {"Pending": 0, "Running": 0, "Dead": 0},
        "CreateIndex": rec.create_index,
        "ModifyIndex": rec.modify_index,
    }


def _zero_counts() -> dict[str, int]:
    return {"Queued": 0, "Complete": 0, "Failed": 0, "Running": 0, "Starting": 0, "Lost": 0, "Unknown": 0}


def job_stub(rec: JobRecord, allocs: list[Allocation]) -> dict[str, Any]:
    job = rec.job
    return {
        "ID": rec.id,
        "ParentID": "",
        "Name": job.get("Name", rec.id),
        "Namespace": rec.namespace,
        "Datacenters": job.get("Datacenters"),
        "NodePool": job.get("NodePool", "default"),
        "Multiregion": None,
        "Type": job.get("Type"),
        "Priority": job.get("Priority"),
        "Periodic": False,
        "ParameterizedJob": False,
        "Stop": rec.stop,
        "Status": job_status(rec, allocs),
        "StatusDescription": "",
        "JobSummary": job_summary(rec, allocs),
        "CreateIndex": rec.create_index,
        "ModifyIndex": rec.modify_index,
        "JobModifyIndex": rec.job_modify_index,
        "SubmitTime": rec.submit_time,
        "Meta": job.get("Meta"),
    }


def _alloc_common(
    alloc: Allocation, runner: TaskRunnerService, node_id: str, node_name: str
) -> dict[str, Any]:
    spec = runner.alloc_spec(alloc.id)
    states = runner.task_states(alloc.id)
    return {
        "ID": alloc.id,
        "EvalID": spec.eval_id if spec is not None else "",
        "Name": alloc.name,
        "Namespace": alloc.namespace,
        "NodeID": node_id,
        "NodeName": node_name,
        "JobID": alloc.job_id,
        "TaskGroup": alloc.task_group,
        "DesiredStatus": alloc.desired_status,
        "DesiredDescription": "",
        "DesiredTransition": {
            "Migrate": None,
            "Reschedule": None,
            "ForceReschedule": None,
            "NoShutdownDelay": None,
        },
        "ClientStatus": alloc.client_status,
        "ClientDescription": runner.client_description(alloc.id),
        "TaskStates": states or None,
        "DeploymentStatus": None,
        "FollowupEvalID": "",
        "RescheduleTracker": None,
        "PreemptedAllocations": None,
        "PreemptedByAllocation": "",
        "CreateIndex": alloc.create_index,
        "ModifyIndex": alloc.modify_index,
        "CreateTime": alloc.create_time,
        "ModifyTime": alloc.modify_time,
    }


def alloc_stub(alloc: Allocation, runner: TaskRunnerService, node_id: str, node_name: str) -> dict[str, Any]:
    """An ``AllocationListStub``."""
    spec = runner.alloc_spec(alloc.id)
    out = _alloc_common(alloc, runner, node_id, node_name)
    out.update(
        JobType=spec.job_type if spec is not None else "",
        JobVersion=spec.job_version if spec is not None else 0,
        AllocatedResources=None,
        NextAllocation="",
    )
    return out


def alloc_json(alloc: Allocation, runner: TaskRunnerService, node_id: str, node_name: str) -> dict[str, Any]:
    """A full ``Allocation``, with the job version it runs."""
    spec = runner.alloc_spec(alloc.id)
    out = _alloc_common(alloc, runner, node_id, node_name)
    out.update(
        Job=spec.job if spec is not None else None,
        Resources=None,
        AllocatedResources=None,
        Metrics=None,
        AllocStates=None,
        DeploymentID="",
        NextAllocation="",
        PreviousAllocation="",
        NetworkStatus=None,
        AllocModifyIndex=alloc.modify_index,
    )
    return out
