"""Allocation stats: sampling real processes, cgroup v2 groups and the JSON sums.

Nomad's side: ``client/alloc_endpoint.go`` ``Stats``.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from outrider.http.responses import encode_json
from outrider.stats.alloc import AllocSampler, TaskTarget
from outrider.stats.cgroup import is_cgroup_v2, member_pids, read_cgroup
from outrider.stats.proctree import ProcessSampler, RateTracker, boottime_ns, descendants, ppid_map
from outrider.stats.usage import add, alloc_usage, cpu_stats, empty_alloc_usage, memory_stats, resource_usage

INTERVAL = 0.2
SPEC_EMPTY = (
    b'{"ResourceUsage":{"CpuStats":{"Measured":null,"Percent":0.0,"SystemMode":0.0,"ThrottledPeriods":0,'
    b'"ThrottledTime":0,"TotalTicks":0.0,"UserMode":0.0},"DeviceStats":[],"MemoryStats":{"Cache":0,'
    b'"KernelMaxUsage":0,"KernelUsage":0,"MappedFile":0,"MaxUsage":0,"Measured":null,"RSS":0,"Swap":0,'
    b'"Usage":0}},"Tasks":{},"Timestamp":0}'
)


def rounds_until(
    sampler: AllocSampler,
    targets: list[TaskTarget],
    alloc: str,
    task: str,
    check: Callable[[dict[str, Any]], bool],
) -> dict[str, Any]:
    """Sample every INTERVAL until ``check(task_usage)`` holds; at most six rounds."""
    usage: dict[str, Any] = {}
    for _ in range(6):
        sampler.sample(targets)
        usage = sampler.latest.get(alloc, {}).get(task, ({}, False))[0]
        if usage and check(usage):
            return usage
        time.sleep(INTERVAL)
    return usage


def test_rate_tracker() -> None:
    tracker = RateTracker()
    assert tracker.update(1.0, 0.5, 10**9) == (0.0, 0.0, 0.0)  # first reading
    percent, user, system = tracker.update(1.5, 0.75, 2 * 10**9)
    assert (percent, user, system) == pytest.approx((75.0, 50.0, 25.0))
    assert tracker.update(1.5, 0.75, 2 * 10**9) == (0.0, 0.0, 0.0)  # no time passed
    assert tracker.update(1.0, 0.5, 3 * 10**9) == (0.0, 0.0, 0.0)  # counters went back
    born = RateTracker(0)
    assert born.update(0.5, 0.0, 10**9)[0] == pytest.approx(50.0)
    assert RateTracker().update(0, 0, 1) == (0.0, 0.0, 0.0)
    two_cores = RateTracker(0)
    assert two_cores.update(1.2, 0.8, 10**9, total_s=2.0)[0] == pytest.approx(200.0)


def test_process_tree(process_tree: tuple[int, int]) -> None:
    parent, child = process_tree
    parents = ppid_map()
    assert parents[child] == parent
    assert descendants(parent, parents) == [parent, child]
    assert descendants(child, parents) == [child]
    assert descendants(2**22 + 7, parents) == []


def test_busy_task_reaches_one_core(busy_child: subprocess.Popen[str]) -> None:
    sampler = AllocSampler(total_compute=4000.0, numcores=2, interval=INTERVAL)
    targets = [TaskTarget("a1", "burn", True, busy_child.pid)]
    usage = rounds_until(
        sampler, targets, "a1", "burn", lambda u: u["ResourceUsage"]["CpuStats"]["Percent"] > 25
    )
    cpu = usage["ResourceUsage"]["CpuStats"]
    assert 25.0 < cpu["Percent"] < 150.0
    assert cpu["UserMode"] > 20.0
    assert cpu["TotalTicks"] == pytest.approx(cpu["Percent"] / 100 * 2000.0)
    assert cpu["Measured"] == ["System Mode", "User Mode", "Percent"]
    mem = usage["ResourceUsage"]["MemoryStats"]
    assert mem["Measured"] == ["RSS", "Swap"] and mem["RSS"] > 1 << 20
    assert list(usage["Pids"]) == [str(busy_child.pid)]
    pid_entry = usage["Pids"][str(busy_child.pid)]
    assert pid_entry["CpuStats"]["Measured"] == ["System Mode", "User Mode", "Percent"]
    assert pid_entry["MemoryStats"]["RSS"] == mem["RSS"]
    assert usage["ResourceUsage"]["DeviceStats"] is None
    assert abs(usage["Timestamp"] - time.time_ns()) < 10 * 10**9
    body = sampler.usage("a1")
    assert body["ResourceUsage"]["CpuStats"]["Percent"] == cpu["Percent"]
    assert body["Timestamp"] == usage["Timestamp"]
    assert body["ResourceUsage"]["DeviceStats"] == []


def test_a_process_born_since_the_last_round_is_measured_at_once(busy_child: subprocess.Popen[str]) -> None:
    procs = ProcessSampler()
    # The child was born after this instant, so its first sample counts from its birth.
    procs.begin_round(boottime_ns() - 10 * 10**9)
    time.sleep(INTERVAL)
    (sample,) = procs.sample([busy_child.pid], boottime_ns())
    assert sample.percent > 30.0
    # A process older than the round start gets 0 on its first sample, as in the reference.
    fresh = ProcessSampler()
    fresh.begin_round(boottime_ns())
    (old,) = fresh.sample([busy_child.pid], boottime_ns())
    assert old.percent == 0.0
    assert procs.sample([2**22 + 7], boottime_ns()) == []


def test_dead_tasks_keep_their_last_sample_and_leave_the_sums(busy_child: subprocess.Popen[str]) -> None:
    sampler = AllocSampler(total_compute=2000.0, numcores=2, interval=INTERVAL)
    running = [TaskTarget("a1", "web", True, busy_child.pid), TaskTarget("a1", "side", True, os.getpid())]
    rounds_until(sampler, running, "a1", "web", lambda u: u["ResourceUsage"]["CpuStats"]["Percent"] > 25)
    sampler.sample([TaskTarget("a1", "web", False), TaskTarget("a1", "side", True, os.getpid())])
    body = sampler.usage("a1")
    assert set(body["Tasks"]) == {"web", "side"}
    web = body["Tasks"]["web"]["ResourceUsage"]["CpuStats"]["Percent"]
    side = body["Tasks"]["side"]["ResourceUsage"]["CpuStats"]["Percent"]
    assert web > 25.0
    assert body["ResourceUsage"]["CpuStats"]["Percent"] == pytest.approx(side)
    assert body["Timestamp"] == body["Tasks"]["side"]["Timestamp"]
    assert sampler.usage("a1", "web")["Tasks"].keys() == {"web"}
    assert sampler.usage("a1", "nope")["Tasks"] == {}
    # An allocation the runner no longer reports: every task is dead, samples kept.
    sampler.sample([])
    assert sampler.usage("a1")["Timestamp"] == 0 and set(sampler.usage("a1")["Tasks"]) == {"web", "side"}
    # An allocation the agent forgot entirely: dropped.
    sampler.sample([], forget=["a1"])
    assert sampler.latest == {}


def test_no_samples_is_the_reference_empty_body() -> None:
    sampler = AllocSampler(total_compute=2000.0, numcores=2, interval=INTERVAL)
    sampler.sample([TaskTarget("a1", "web", False), TaskTarget("a1", "gone", True, 2**22 + 7)])
    assert encode_json(sampler.usage("a1")) == SPEC_EMPTY
    assert encode_json(alloc_usage({})) == SPEC_EMPTY


def test_add_sums_numbers_and_unions_measured_in_first_seen_order() -> None:
    a = resource_usage(
        cpu_stats(percent=10, total_ticks=5, throttled_periods=1, measured=["User Mode", "Percent"]),
        memory_stats(["RSS"], RSS=100, Cache=1),
    )
    b = resource_usage(
        cpu_stats(percent=20, total_ticks=7, throttled_time=9, measured=["Percent", "Throttled Time"]),
        memory_stats(["Swap", "RSS"], RSS=50, Swap=3),
        device_stats=[{"Name": "gpu"}],
    )
    total = empty_alloc_usage()
    add(total, a)
    add(total, b)
    assert total["CpuStats"]["Percent"] == 30.0 and total["CpuStats"]["TotalTicks"] == 12.0
    assert total["CpuStats"]["ThrottledPeriods"] == 1 and total["CpuStats"]["ThrottledTime"] == 9
    assert total["CpuStats"]["Measured"] == ["User Mode", "Percent", "Throttled Time"]
    assert total["MemoryStats"]["Measured"] == ["RSS", "Swap"]
    assert (total["MemoryStats"]["RSS"], total["MemoryStats"]["Swap"], total["MemoryStats"]["Cache"]) == (
        150,
        3,
        1,
    )
    assert total["DeviceStats"] == [{"Name": "gpu"}]
    with pytest.raises(TypeError):
        memory_stats(Bogus=1)


# -- cgroup v2 ---------------------------------------------------------------------------------


def _cgroup2_mount() -> str | None:
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            if right.split(" ", 1)[0] == "cgroup2":
                return left.split(" ")[4]
    return None


@pytest.fixture
def task_cgroup(tmp_path: Path) -> Iterator[str]:
    mount = _cgroup2_mount()
    if mount is None:
        pytest.skip("this host has no cgroup2 hierarchy mounted")
    path = os.path.join(mount, f"outrider-test-{os.getpid()}-{time.monotonic_ns()}")
    try:
        os.mkdir(path)
    except OSError as exc:
        pytest.skip(f"cannot create a cgroup v2 group here: {exc.strerror}")
    yield path
    # Hand any member back to the root group so the directory can go whatever the teardown order.
    for pid in member_pids(path):
        try:
            with open(os.path.join(mount, "cgroup.procs"), "w") as f:
                f.write(str(pid))
        except OSError:
            pass
    for _ in range(50):
        try:
            os.rmdir(path)
            return
        except OSError:
            time.sleep(0.02)  # members are still exiting
    raise AssertionError(f"could not remove the test cgroup {path}")


def test_task_in_its_own_cgroup(busy_child: subprocess.Popen[str], task_cgroup: str) -> None:
    try:
        with open(os.path.join(task_cgroup, "cgroup.procs"), "w") as f:
            f.write(str(busy_child.pid))
    except OSError as exc:
        pytest.skip(f"cannot move a process into a cgroup v2 group here: {exc.strerror}")
    assert is_cgroup_v2(task_cgroup)
    assert member_pids(task_cgroup) == [busy_child.pid]
    reading = read_cgroup(task_cgroup)
    assert reading.usage_usec is not None and reading.pids == [busy_child.pid]

    sampler = AllocSampler(total_compute=2000.0, numcores=2, interval=INTERVAL)
    targets = [TaskTarget("a1", "burn", True, busy_child.pid, task_cgroup)]
    usage = rounds_until(
        sampler, targets, "a1", "burn", lambda u: u["ResourceUsage"]["CpuStats"]["Percent"] > 25
    )
    cpu = usage["ResourceUsage"]["CpuStats"]
    assert 25.0 < cpu["Percent"] < 150.0
    expected_cpu = ["System Mode", "User Mode"]
    if reading.nr_throttled is not None:
        expected_cpu += ["Throttled Periods", "Throttled Time"]
    assert cpu["Measured"] == [*expected_cpu, "Percent"]
    mem = usage["ResourceUsage"]["MemoryStats"]
    if reading.memory_current is None:
        # No memory controller for the group: the process sums stand in.
        assert mem["Measured"] == ["RSS", "Swap"] and mem["RSS"] > 0
    else:
        assert mem["Measured"][:1] == ["RSS"] and "Usage" in mem["Measured"]
        assert mem["Usage"] == pytest.approx(reading.memory_current, rel=0.5)
    assert list(usage["Pids"]) == [str(busy_child.pid)]
    assert orjson.loads(encode_json(sampler.usage("a1")))["Tasks"]["burn"]["Pids"]


def test_cgroup_files_are_parsed(tmp_path: Path) -> None:
    group = tmp_path / "g"
    (group / "child").mkdir(parents=True)
    (group / "cgroup.procs").write_text("12\n7\n")
    (group / "child" / "cgroup.procs").write_text("99\n")
    (group / "cpu.stat").write_text(
        "usage_usec 5000\nuser_usec 3000\nsystem_usec 2000\nnr_periods 9\nnr_throttled 4\nthrottled_usec 70\n"
    )
    (group / "memory.current").write_text("4096\n")
    (group / "memory.stat").write_text("anon 1024\nfile 2048\nfile_mapped 512\n")
    (group / "memory.swap.current").write_text("0\n")
    reading = read_cgroup(str(group))
    assert reading.pids == [7, 12, 99]
    assert (reading.usage_usec, reading.user_usec, reading.system_usec) == (5000, 3000, 2000)
    assert (reading.nr_throttled, reading.throttled_usec) == (4, 70)
    assert (reading.memory_current, reading.anon, reading.file, reading.file_mapped) == (
        4096,
        1024,
        2048,
        512,
    )
    assert reading.swap_current == 0 and reading.memory_peak is None
    assert is_cgroup_v2(str(group))
    assert not is_cgroup_v2(str(group / "child"))
