"""Job validation: Nomad's JSON shape, the supported subset, defaults, and the 400 texts."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from outrider.jobs import JobError, parse_job
from outrider.jobs.fields import is_empty
from outrider.runner.restart import RestartPolicy
from outrider.runner.spec import MIB, LogConfig
from tests.runner import jobspecs as J


def parse(job: dict[str, Any]) -> Any:
    return parse_job(job, region="global", datacenter="dc1")


def refused(job: dict[str, Any]) -> str:
    with pytest.raises(JobError) as info:
        parse(job)
    assert info.value.status == 400
    return info.value.message


def base() -> dict[str, Any]:
    return J.job("web", J.sh("server", "echo hi"), type_="service")


def test_defaults_are_nomads() -> None:
    job = {"ID": "x", "TaskGroups": [{"Name": "g", "Tasks": [J.task("t", ["/bin/true"])]}]}
    parsed = parse(job)
    assert (parsed.id, parsed.name, parsed.namespace, parsed.type) == ("x", "x", "default", "service")
    (group,) = parsed.groups
    (task,) = group.tasks
    assert group.count == 1
    assert task.restart == RestartPolicy.default("service")
    assert task.logs == LogConfig(10, 10 * MIB, False)
    assert (task.kill_signal, task.kill_timeout) == ("SIGINT", 2 * J.S)
    out = parsed.job
    assert out["Datacenters"] == ["*"] and out["Priority"] == 50 and out["Region"] == "global"
    g = out["TaskGroups"][0]
    assert g["EphemeralDisk"] == {"SizeMB": 300, "Sticky": False, "Migrate": False}
    assert g["RestartPolicy"]["Interval"] == 30 * 60 * J.S
    assert g["Tasks"][0]["LogConfig"] == {"MaxFiles": 10, "MaxFileSizeMB": 10, "Disabled": False}
    assert job == {"ID": "x", "TaskGroups": [{"Name": "g", "Tasks": [J.task("t", ["/bin/true"])]}]}


def test_batch_defaults_and_task_restart_override() -> None:
    job = base()
    job["Type"] = "batch"
    del job["TaskGroups"][0]["RestartPolicy"]
    job["TaskGroups"][0]["Tasks"][0]["RestartPolicy"] = {"Attempts": 5}
    (task,) = parse(job).groups[0].tasks
    assert task.restart == RestartPolicy(5, 24 * 3600 * J.S, 15 * J.S, "fail")


def test_canonical_nulls_are_accepted() -> None:
    job = base()
    job.update(
        Periodic=None, ParameterizedJob=None, Constraints=None, Multiregion=None, Update={"Stagger": 0}
    )
    job["TaskGroups"][0].update(Networks=[], Services=None, Volumes={}, Scaling=None)
    job["TaskGroups"][0]["Tasks"][0].update(
        Artifacts=[], Templates=None, Vault=None, Lifecycle=None, Leader=False
    )
    assert parse(job).id == "web"


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ((), ("Periodic", {"Enabled": True, "Spec": "* * * * *"}), "Job.Periodic is not supported by Outrider"),
        ((), ("Constraints", [{"LTarget": "${attr.kernel.name}"}]), "Job.Constraints is not supported by Outrider"),
        ((0,), ("Services", [{"Name": "s"}]), "Job.TaskGroups[0].Services is not supported by Outrider"),
        ((0, 0), ("Artifacts", [{"GetterSource": "x"}]), "Job.TaskGroups[0].Tasks[0].Artifacts is not supported by Outrider"),
        ((0, 0), ("Leader", True), "Job.TaskGroups[0].Tasks[0].Leader is not supported by Outrider"),
        ((0, 0), ("Lifecycle", {"Hook": "prestart"}), "Job.TaskGroups[0].Tasks[0].Lifecycle is not supported by Outrider"),
        ((0, 0), ("Driver", "docker"), 'task "server": driver "docker" is not supported by Outrider (only raw_exec)'),
        ((), ("Type", "system"), 'job type "system" is not supported by Outrider (service or batch)'),
        ((), ("Datacenters", ["eu*"]), "job datacenters ['eu*'] do not include this agent's datacenter \"dc1\""),
        ((), ("Namespace", "prod"), 'nonexistent namespace "prod": Outrider has only namespace "default"'),
        ((), ("Region", "eu"), "job region \"eu\" is not this agent's region \"global\""),
        ((), ("ID", ""), "Job ID hasn't been provided"),
        ((0,), ("Count", "2"), "Job.TaskGroups[0].Count must be an integer"),
        ((0,), ("Count", -1), "Job.TaskGroups[0].Count must be at least 0, got -1"),
        ((), ("Priority", 0), "Job.Priority must be at least 1, got 0"),
        ((), ("Priority", 101), "Job.Priority must be at most 100, got 101"),
        ((0, 0), ("Name", "alloc"), "task name 'alloc' cannot be used as a directory name"),
        ((0, 0), ("Name", "../x"), "task name '../x' cannot be used as a directory name"),
        ((0, 0), ("KillSignal", "SIGWHAT"), 'task "server": unknown kill signal "SIGWHAT"'),
        ((0, 0), ("Config", {"command": "/bin/true", "pid_mode": "host"}), "Job.TaskGroups[0].Tasks[0].Config.pid_mode is not supported by Outrider"),
        ((0, 0), ("Config", {"args": ["x"]}), 'task "server": missing command in config'),
        ((0, 0), ("Env", {"A": 1}), "Job.TaskGroups[0].Tasks[0].Env.A must be a string"),
        ((0, 0), ("LogConfig", {"MaxFiles": 0}), 'task "server": minimum number of files is 1; got 0'),
        ((0, 0), ("LogConfig", {"MaxFiles": 40}), 'task "server": log storage (400 MB) must be less than requested disk capacity (300 MB)'),
        ((0,), ("RestartPolicy", {"Mode": "sometimes"}), 'Unsupported restart mode: "sometimes"'),
        ((0,), ("RestartPolicy", {"Interval": J.S}), "Interval can not be less than 5s (got 1s)"),
        ((0,), ("RestartPolicy", {"Attempts": 10, "Delay": J.S, "Interval": 5 * J.S}), "Nomad can't restart the TaskGroup 10 times in an interval of 5s with a delay of 1s"),
        ((0,), ("Count", 2**63), f"Job.TaskGroups[0].Count must be at most 1000, got {2**63}"),
        ((0,), ("Tasks", [J.sh(f"t{i}", "true") for i in range(101)]), "Job.TaskGroups[0].Tasks has 101 entries; the limit is 100"),
        ((), ("TaskGroups", [{"Name": f"g{i}"} for i in range(101)]), "Job.TaskGroups has 101 entries; the limit is 100"),
        ((0, 0), ("Name", "é" * 101), "task name is 202 bytes long; the limit is 200"),
        ((0, 0), ("Config", {"command": "/bin/tr\x00ue"}), "Job.TaskGroups[0].Tasks[0].Config.command contains a NUL byte"),
        ((0, 0), ("Config", {"command": "/bin/sh", "args": ["-c", "tr\x00ue"]}), "Job.TaskGroups[0].Tasks[0].Config.args[1] contains a NUL byte"),
        ((0, 0), ("Env", {"A": "b\x00"}), "Job.TaskGroups[0].Tasks[0].Env.A contains a NUL byte"),
        ((0, 0), ("Env", {"A=B": "c"}), "Job.TaskGroups[0].Tasks[0].Env has a variable name containing '=' or a NUL byte: 'A=B'"),
        ((), ("Name", "we\x00b"), "Job.Name contains a NUL byte"),
    ],
)  # fmt: skip
def test_refusals(path: tuple[int, ...], value: tuple[str, Any], message: str) -> None:
    job = base()
    target = job
    if path:
        target = job["TaskGroups"][path[0]]
    if len(path) > 1:
        target = target["Tasks"][path[1]]
    target[value[0]] = value[1]
    assert refused(job) == message


def test_one_job_starts_a_bounded_number_of_tasks() -> None:
    job = base()
    job["TaskGroups"][0]["Count"] = 1000
    assert parse(job).groups[0].count == 1000
    job["TaskGroups"][0]["Tasks"].append(J.sh("other", "true"))
    assert refused(job) == "Job would start 2000 tasks on this node; the limit is 1000"


def test_deep_nesting_is_refused_without_recursion() -> None:
    job = base()
    deep: list[Any] = []
    for _ in range(5000):
        deep = [deep]
    job["Meta"] = {"k": deep}
    assert refused(job) == "Job nests objects and arrays more than 64 levels deep"


def test_duplicate_names() -> None:
    job = base()
    job["TaskGroups"].append(copy.deepcopy(job["TaskGroups"][0]))
    assert refused(job) == 'Job task group 2 redefines "g" from group 1'
    job = base()
    job["TaskGroups"][0]["Tasks"].append(J.sh("server", "true"))
    assert refused(job) == 'Task group "g": task 2 redefines "server"'


def test_log_size_in_bytes_extension() -> None:
    job = base()
    job["TaskGroups"][0]["Tasks"][0]["LogConfig"] = {"MaxFiles": 500, "MaxFileSizeBytes": 65536}
    (task,) = parse(job).groups[0].tasks
    assert task.logs == LogConfig(500, 65536, False)


def test_server_fields_are_dropped() -> None:
    job = base()
    job.update(Status="running", Version=7, ModifyIndex=9, SubmitTime=1)
    assert not {"Status", "Version", "ModifyIndex", "SubmitTime"} & set(parse(job).job)


def test_is_empty() -> None:
    assert all(is_empty(v) for v in (None, False, 0, 0.0, "", [], {}, {"a": None, "b": {"c": 0}}))
    assert not any(is_empty(v) for v in (True, 1, "x", [None], {"a": 1}))
