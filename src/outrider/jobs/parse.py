"""Nomad's JSON job (``{"Job": {...}}``) checked against the subset Outrider runs.

Supported: job types ``service`` and ``batch``; task groups with ``Count``,
``RestartPolicy`` and ``EphemeralDisk``; ``raw_exec`` tasks with ``Config``
(``command``, ``args``), ``Env``, ``KillSignal``, ``KillTimeout`` (ns),
``LogConfig`` and a task-level ``RestartPolicy``. Scheduling settings that mean
nothing on a single node (``Update``, ``Migrate``, ``Reschedule``, ``Affinities``,
``Spreads``, ``Resources``...) are accepted and ignored. Any other field must be
absent or empty (Nomad's canonical JSON sends many as ``null``); otherwise the
job is refused with a 400 naming the field.

``LogConfig.MaxFileSizeBytes`` is an Outrider extension: when positive it sets
the size limit of each log file in bytes and replaces ``MaxFileSizeMB``.
"""

from __future__ import annotations

import copy
import fnmatch
from dataclasses import dataclass
from typing import Any

from outrider.jobs.errors import JobError
from outrider.jobs.fields import (
    check_fields,
    read_bool,
    read_env,
    read_exec_str,
    read_int,
    read_list,
    read_name,
    read_obj,
    read_str,
    too_deep,
)
from outrider.runner.restart import MODE_DELAY, MODE_FAIL, RestartPolicy
from outrider.runner.spec import (
    DEFAULT_KILL_SIGNAL,
    DEFAULT_KILL_TIMEOUT,
    DEFAULT_MAX_FILE_SIZE_MB,
    DEFAULT_MAX_FILES,
    MIB,
    LogConfig,
    TaskSpec,
    signal_number,
)
from outrider.runner.taskstate import go_duration

JOB_TYPES = ("service", "batch")
DEFAULT_PRIORITY = 50
# Nomad's job_max_priority default: the servers refuse anything above it.
MAX_PRIORITY = 100
DEFAULT_DISK_MB = 300
MIN_RESTART_INTERVAL = 5_000_000_000  # Nomad's RestartPolicyMinInterval

# Limits Nomad does not have. With no scheduler in between, a job is run here as
# sent, so one request must not be able to start an unbounded number of
# processes, or hold the event loop for long while the job is checked.
MAX_DEPTH = 64
MAX_GROUPS = 100
MAX_TASKS = 100
MAX_COUNT = 1000
MAX_JOB_TASKS = 1000
"""The most task processes one job may start: ``Count`` times the tasks, summed over the groups."""

# Fields Outrider acts on, and fields it accepts and ignores; every other field must be empty.
_JOB_USED = {
    "ID",
    "Name",
    "Namespace",
    "Type",
    "Region",
    "Datacenters",
    "TaskGroups",
    "Priority",
    "NodePool",
    "Stop",
}
_JOB_IGNORED = {
    "AllAtOnce", "Meta", "Status", "StatusDescription", "Version", "CreateIndex", "ModifyIndex",
    "JobModifyIndex", "SubmitTime", "Stable", "Update", "Migrate", "Reschedule", "Affinities",
    "Spreads", "ConsulNamespace", "VaultNamespace", "UI", "VersionTag",
}  # fmt: skip
_GROUP_USED = {"Name", "Count", "Tasks", "RestartPolicy", "EphemeralDisk"}
_GROUP_IGNORED = {
    "Meta", "Update", "Migrate", "ReschedulePolicy", "Affinities", "Spreads", "Scaling",
    "ShutdownDelay", "StopAfterClientDisconnect", "MaxClientDisconnect", "PreventRescheduleOnLost",
    "Disconnect",
}  # fmt: skip
_TASK_USED = {"Name", "Driver", "Config", "Env", "KillSignal", "KillTimeout", "LogConfig", "RestartPolicy"}
_TASK_IGNORED = {"Meta", "Resources", "ShutdownDelay", "Kind"}
_LOG_FIELDS = {"MaxFiles", "MaxFileSizeMB", "MaxFileSizeBytes", "Disabled", "Enabled"}
_RESTART_FIELDS = {"Attempts", "Interval", "Delay", "Mode", "RenderTemplates"}
_DISK_FIELDS = {"SizeMB", "Sticky", "Migrate"}
_CONFIG_FIELDS = {"command", "args"}

SERVER_FIELDS = (
    "Status", "StatusDescription", "Version", "CreateIndex", "ModifyIndex", "JobModifyIndex",
    "SubmitTime", "Stable",
)  # fmt: skip
"""Fields the agent sets on a registered job; they play no part in "has the job changed"."""


@dataclass(frozen=True)
class GroupSpec:
    name: str
    count: int
    tasks: list[TaskSpec]


@dataclass(frozen=True)
class ParsedJob:
    """A validated job; ``job`` is its Nomad JSON with defaults filled in and no server fields."""

    id: str
    name: str
    namespace: str
    type: str
    stop: bool
    groups: list[GroupSpec]
    job: dict[str, Any]


def parse_job(raw: Any, *, region: str, datacenter: str, namespace: str | None = None) -> ParsedJob:
    """Validate a job (the value of ``"Job"``) and fill in Nomad's defaults; raises :class:`JobError`."""
    if not isinstance(raw, dict):
        raise JobError("Job must be specified")
    if too_deep(raw, MAX_DEPTH):
        raise JobError(f"Job nests objects and arrays more than {MAX_DEPTH} levels deep")
    job = copy.deepcopy(raw)
    for key in SERVER_FIELDS:
        job.pop(key, None)
    check_fields(job, "Job", _JOB_USED, _JOB_IGNORED)
    job_id = read_str(job.get("ID"), "Job.ID")
    if not job_id:
        raise JobError("Job ID hasn't been provided")
    if " " in job_id or "\x00" in job_id:
        raise JobError("Job ID contains a space or a null character")
    job["ID"] = job_id
    job["Name"] = read_exec_str(job.get("Name"), "Job.Name") or job_id
    job["Namespace"] = read_str(job.get("Namespace"), "Job.Namespace") or namespace or "default"
    if job["Namespace"] != "default":
        raise JobError(f'nonexistent namespace "{job["Namespace"]}": Outrider has only namespace "default"')
    job["Type"] = read_str(job.get("Type"), "Job.Type") or "service"
    if job["Type"] not in JOB_TYPES:
        raise JobError(f'job type "{job["Type"]}" is not supported by Outrider (service or batch)')
    job["Region"] = read_str(job.get("Region"), "Job.Region") or region
    if job["Region"] != region:
        raise JobError(f'job region "{job["Region"]}" is not this agent\'s region "{region}"')
    job["Datacenters"] = _datacenters(job.get("Datacenters"), datacenter)
    job["NodePool"] = read_str(job.get("NodePool"), "Job.NodePool") or "default"
    if job["NodePool"] not in ("default", "all"):
        raise JobError(f'node pool "{job["NodePool"]}" does not exist on this agent')
    job["Priority"] = read_int(job.get("Priority"), "Job.Priority", DEFAULT_PRIORITY, 1, MAX_PRIORITY)
    job["Stop"] = read_bool(job.get("Stop"), "Job.Stop")
    groups_raw = read_list(job.get("TaskGroups"), "Job.TaskGroups", MAX_GROUPS)
    if not groups_raw:
        raise JobError("Missing job task groups")
    groups: list[GroupSpec] = []
    for i, graw in enumerate(groups_raw):
        group, canonical = _group(graw, f"Job.TaskGroups[{i}]", job["Type"])
        earlier = [k for k, g in enumerate(groups) if g.name == group.name]
        if earlier:
            raise JobError(f'Job task group {i + 1} redefines "{group.name}" from group {earlier[0] + 1}')
        groups.append(group)
        groups_raw[i] = canonical
    started = sum(g.count * len(g.tasks) for g in groups)
    if started > MAX_JOB_TASKS:
        raise JobError(f"Job would start {started} tasks on this node; the limit is {MAX_JOB_TASKS}")
    return ParsedJob(job_id, job["Name"], job["Namespace"], job["Type"], job["Stop"], groups, job)


def _datacenters(value: Any, datacenter: str) -> list[str]:
    if value is None or value == []:
        return ["*"]
    if not isinstance(value, list) or not all(isinstance(d, str) and d for d in value):
        raise JobError("Job.Datacenters must be a list of names")
    if not any(fnmatch.fnmatchcase(datacenter, d) for d in value):
        raise JobError(f'job datacenters {value} do not include this agent\'s datacenter "{datacenter}"')
    return list(value)


def _group(raw: Any, where: str, job_type: str) -> tuple[GroupSpec, dict[str, Any]]:
    group = dict(read_obj(raw, where))
    check_fields(group, where, _GROUP_USED, _GROUP_IGNORED)
    name = read_name(group.get("Name"), f"{where}.Name", "task group")
    group["Name"] = name
    group["Count"] = read_int(group.get("Count"), f"{where}.Count", 1, 0, MAX_COUNT)
    policy = _restart(group.get("RestartPolicy"), f"{where}.RestartPolicy", RestartPolicy.default(job_type))
    group["RestartPolicy"] = policy.to_json()
    disk = dict(read_obj(group.get("EphemeralDisk"), f"{where}.EphemeralDisk"))
    check_fields(disk, f"{where}.EphemeralDisk", _DISK_FIELDS, set())
    disk_mb = read_int(disk.get("SizeMB"), f"{where}.EphemeralDisk.SizeMB", DEFAULT_DISK_MB, 10)
    group["EphemeralDisk"] = {
        "SizeMB": disk_mb,
        "Sticky": read_bool(disk.get("Sticky"), f"{where}.EphemeralDisk.Sticky"),
        "Migrate": read_bool(disk.get("Migrate"), f"{where}.EphemeralDisk.Migrate"),
    }
    tasks_raw = read_list(group.get("Tasks"), f"{where}.Tasks", MAX_TASKS)
    if not tasks_raw:
        raise JobError(f"Missing tasks for task group {name!r}")
    tasks: list[TaskSpec] = []
    canonical_tasks = []
    for j, traw in enumerate(tasks_raw):
        task, canonical = _task(traw, f"{where}.Tasks[{j}]", policy, disk_mb)
        if any(t.name == task.name for t in tasks):
            raise JobError(f'Task group "{name}": task {j + 1} redefines "{task.name}"')
        tasks.append(task)
        canonical_tasks.append(canonical)
    group["Tasks"] = canonical_tasks
    return GroupSpec(name, group["Count"], tasks), group


def _restart(raw: Any, where: str, base: RestartPolicy) -> RestartPolicy:
    obj = read_obj(raw, where)
    check_fields(obj, where, _RESTART_FIELDS, set())
    policy = RestartPolicy(
        attempts=read_int(obj.get("Attempts"), f"{where}.Attempts", base.attempts, 0),
        interval=read_int(obj.get("Interval"), f"{where}.Interval", base.interval, 0),
        delay=read_int(obj.get("Delay"), f"{where}.Delay", base.delay),
        mode=read_str(obj.get("Mode"), f"{where}.Mode", base.mode) or base.mode,
    )
    # The checks of Nomad's RestartPolicy.Validate, in its words.
    if policy.mode not in (MODE_FAIL, MODE_DELAY):
        raise JobError(f'Unsupported restart mode: "{policy.mode}"')
    if policy.attempts == 0 and policy.mode != MODE_FAIL:
        raise JobError(f'Restart policy "{policy.mode}" with {policy.attempts} attempts is ambiguous')
    if policy.delay < 0:
        raise JobError("Delay cannot be negative")
    if policy.interval < MIN_RESTART_INTERVAL:
        raise JobError(
            f"Interval can not be less than {go_duration(MIN_RESTART_INTERVAL)} (got {go_duration(policy.interval)})"
        )
    if policy.attempts * policy.delay > policy.interval:
        raise JobError(
            f"Nomad can't restart the TaskGroup {policy.attempts} times in an interval of "
            f"{go_duration(policy.interval)} with a delay of {go_duration(policy.delay)}"
        )
    return policy


def _task(raw: Any, where: str, group_policy: RestartPolicy, disk_mb: int) -> tuple[TaskSpec, dict[str, Any]]:
    task = dict(read_obj(raw, where))
    check_fields(task, where, _TASK_USED, _TASK_IGNORED)
    name = read_name(task.get("Name"), f"{where}.Name", "task")
    driver = read_str(task.get("Driver"), f"{where}.Driver")
    if driver != "raw_exec":
        raise JobError(f'task "{name}": driver "{driver}" is not supported by Outrider (only raw_exec)')
    config = dict(read_obj(task.get("Config"), f"{where}.Config"))
    check_fields(config, f"{where}.Config", _CONFIG_FIELDS, set())
    command = read_exec_str(config.get("command"), f"{where}.Config.command")
    if not command:
        raise JobError(f'task "{name}": missing command in config')
    args = config.get("args") or []
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        raise JobError(f"{where}.Config.args must be a list of strings")
    for k, arg in enumerate(args):
        read_exec_str(arg, f"{where}.Config.args[{k}]")
    env = read_env(task.get("Env"), f"{where}.Env")
    kill_signal = read_str(task.get("KillSignal"), f"{where}.KillSignal") or DEFAULT_KILL_SIGNAL
    if signal_number(kill_signal) is None:
        raise JobError(f'task "{name}": unknown kill signal "{kill_signal}"')
    kill_timeout = read_int(task.get("KillTimeout"), f"{where}.KillTimeout", DEFAULT_KILL_TIMEOUT, 0)
    logs, log_json = _log_config(task.get("LogConfig"), f"{where}.LogConfig", name, disk_mb)
    policy = _restart(task.get("RestartPolicy"), f"{where}.RestartPolicy", group_policy)
    task.update(
        Name=name,
        Driver=driver,
        Config={"command": command, "args": list(args)},
        Env=env or None,
        KillSignal=kill_signal,
        KillTimeout=kill_timeout,
        LogConfig=log_json,
        RestartPolicy=policy.to_json(),
    )
    spec = TaskSpec(name, command, list(args), env, kill_signal, kill_timeout, logs, policy)
    return spec, task


def _log_config(raw: Any, where: str, task: str, disk_mb: int) -> tuple[LogConfig, dict[str, Any]]:
    obj = dict(read_obj(raw, where))
    check_fields(obj, where, _LOG_FIELDS, set())
    max_files = read_int(obj.get("MaxFiles"), f"{where}.MaxFiles", DEFAULT_MAX_FILES)
    size_mb = read_int(obj.get("MaxFileSizeMB"), f"{where}.MaxFileSizeMB", DEFAULT_MAX_FILE_SIZE_MB)
    size_bytes = read_int(obj.get("MaxFileSizeBytes"), f"{where}.MaxFileSizeBytes", 0, 0)
    # Nomad 1.10 added ``Enabled``; ``Disabled`` is its older, inverted spelling.
    disabled = read_bool(obj.get("Disabled"), f"{where}.Disabled") or obj.get("Enabled") is False
    # The checks of Nomad's LogConfig.Validate, in its words.
    if max_files < 1:
        raise JobError(f'task "{task}": minimum number of files is 1; got {max_files}')
    if size_mb < 1 and not size_bytes:
        raise JobError(f'task "{task}": minimum file size is 1MB; got {size_mb}')
    usage_mb = max_files * (size_bytes / MIB if size_bytes else size_mb)
    if disk_mb <= usage_mb:
        raise JobError(
            f'task "{task}": log storage ({usage_mb:g} MB) must be less than requested disk capacity ({disk_mb} MB)'
        )
    canonical: dict[str, Any] = {"MaxFiles": max_files, "MaxFileSizeMB": size_mb, "Disabled": disabled}
    if size_bytes:
        canonical["MaxFileSizeBytes"] = size_bytes
    return LogConfig(max_files, size_bytes or size_mb * MIB, disabled), canonical
