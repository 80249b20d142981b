"""What a task is and what one attempt runs: defaults, signal names, and the stored JSON forms.

Every spec is stored as JSON (the allocation's record in the state DB, ``spec.json``
for the supervisor) and read back by another process or a later agent, so each
must come back equal through a real encoder.
"""

from __future__ import annotations

import signal
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outrider.runner.env import AllocContext
from outrider.runner.restart import RestartPolicy
from outrider.runner.spec import (
    DEFAULT_KILL_SIGNAL,
    DEFAULT_KILL_TIMEOUT,
    MIB,
    AllocSpec,
    LaunchSpec,
    LogConfig,
    TaskSpec,
    signal_number,
)

# orjson refuses lone surrogates, as the JSON the agent reads never holds them.
TEXT = st.text(st.characters(blacklist_categories=["Cs"]), max_size=20)
NS = st.integers(min_value=0, max_value=2**62)


def stored(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` after a trip through the encoder the agent stores specs with."""
    loaded = orjson.loads(orjson.dumps(data))
    assert isinstance(loaded, dict)
    return loaded


@pytest.mark.parametrize(
    ("name", "number"),
    [
        ("SIGTERM", signal.SIGTERM),
        ("SIGINT", signal.SIGINT),
        ("SIGKILL", signal.SIGKILL),
        ("SIGUSR1", signal.SIGUSR1),
        ("SIGHUP", signal.SIGHUP),
        ("TERM", None),  # Nomad names signals with their SIG prefix
        ("sigterm", None),
        ("SIGNOPE", None),
        ("SIG_DFL", None),  # a handler, not a signal
        ("SIG_IGN", None),
        ("", None),
    ],
)
def test_signal_number(name: str, number: int | None) -> None:
    assert signal_number(name) == number


def test_defaults_are_nomads() -> None:
    spec = TaskSpec(name="t", command="/bin/true")
    # nomad/structs/structs.go DefaultLogConfig (10 files of 10 MB) and DefaultKillTimeout (5s);
    # the executor interrupts a task whose KillSignal is unset (os.Interrupt).
    assert spec.logs == LogConfig(10, 10 * MIB, False)
    assert spec.kill_signal == DEFAULT_KILL_SIGNAL == "SIGINT"
    assert spec.kill_timeout == DEFAULT_KILL_TIMEOUT == 5_000_000_000
    assert spec.restart == RestartPolicy.default("service")
    assert spec.args == [] and spec.env == {}
    assert TaskSpec(name="u", command="x").args is not spec.args  # no shared mutable default


LOG_CONFIGS = st.builds(LogConfig, st.integers(1, 100), st.integers(1, 2**40), st.booleans())
POLICIES = st.builds(RestartPolicy, st.integers(0, 10), NS, NS, st.sampled_from(["fail", "delay"]))
TASKS = st.builds(
    TaskSpec,
    name=TEXT,
    command=TEXT,
    args=st.lists(TEXT, max_size=5),
    env=st.dictionaries(TEXT, TEXT, max_size=5),
    kill_signal=st.sampled_from(["SIGINT", "SIGTERM", "SIGUSR2"]),
    kill_timeout=NS,
    logs=LOG_CONFIGS,
    restart=POLICIES,
)
LAUNCHES = st.builds(
    LaunchSpec,
    attempt=st.integers(1, 1000),
    task=TEXT,
    argv=st.lists(TEXT, min_size=1, max_size=5),
    cwd=TEXT,
    env=st.dictionaries(TEXT, TEXT, max_size=5),
    log_dir=TEXT,
    logs=LOG_CONFIGS,
    kill_signal=st.integers(1, 64),
    kill_timeout=NS,
    cgroup=st.none() | TEXT,
)
CONTEXTS = st.builds(
    AllocContext,
    alloc_id=TEXT,
    alloc_name=TEXT,
    alloc_index=st.integers(0, 1000),
    alloc_dir=TEXT,
    group=TEXT,
    job_id=TEXT,
    job_name=TEXT,
    namespace=TEXT,
    region=TEXT,
    datacenter=TEXT,
    node_id=TEXT,
    node_name=TEXT,
    node_meta=st.dictionaries(TEXT, TEXT, max_size=3),
)


@settings(max_examples=60, deadline=None)
@given(TASKS)
def test_a_task_spec_comes_back_equal(spec: TaskSpec) -> None:
    assert TaskSpec.from_json(stored(spec.to_json())) == spec


@settings(max_examples=60, deadline=None)
@given(LAUNCHES)
def test_a_launch_spec_comes_back_equal(spec: LaunchSpec) -> None:
    assert LaunchSpec.from_json(stored(spec.to_json())) == spec


@settings(max_examples=30, deadline=None)
@given(CONTEXTS, st.lists(TASKS, min_size=1, max_size=3), st.integers(0, 100), TEXT)
def test_an_alloc_spec_comes_back_equal(
    context: AllocContext, tasks: list[TaskSpec], version: int, eval_id: str
) -> None:
    job = {"ID": "web", "Version": version, "TaskGroups": [{"Name": "g", "Count": 1}]}
    spec = AllocSpec(job, version, eval_id, "service", context, tasks)
    assert AllocSpec.from_json(stored(spec.to_json())) == spec


def test_a_launch_spec_written_before_cgroups_reads_as_none() -> None:
    spec = LaunchSpec(1, "t", ["/bin/true"], "/", {}, "/logs", LogConfig(), 2, 5)
    data = spec.to_json()
    del data["cgroup"]
    assert LaunchSpec.from_json(data) == spec and spec.cgroup is None


def test_reading_coerces_json_types() -> None:
    # Numbers in names, arguments and values are read as the strings a task needs.
    data = TaskSpec(name="t", command="c").to_json()
    data.update(args=[1, 2.5], env={"N": 3}, kill_timeout="7")
    spec = TaskSpec.from_json(data)
    assert spec.args == ["1", "2.5"] and spec.env == {"N": "3"} and spec.kill_timeout == 7


def test_a_record_missing_a_field_is_refused() -> None:
    data = TaskSpec(name="t", command="c").to_json()
    del data["logs"]
    with pytest.raises(KeyError):
        TaskSpec.from_json(data)
