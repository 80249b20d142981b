"""Host stats computation (``client/hoststats/host.go``) and the fixes of its CPU math."""

from __future__ import annotations

import os
import time
from pathlib import Path

import psutil
import pytest

from outrider.stats.cpufreq import core_ids, core_mhz
from outrider.stats.disks import DiskCollector, parse_mountinfo, physical_fstypes, statfs_stats, unescape
from outrider.stats.host import HostSampler, cpu_stats, read_proc_stat

CPU_FIELDS = {"CPU", "Idle", "System", "TotalPercent", "TotalTicks", "User"}


def write_stat(path: Path, lines: list[str]) -> str:
    path.write_text("cpu  1 2 3 4 5 6 7 8 9 10\n" + "".join(f"{line}\n" for line in lines) + "intr 1 2 3\n")
    return str(path)


def test_proc_stat_parsing_excludes_aggregate_and_guest(tmp_path: Path) -> None:
    # user nice system idle iowait irq softirq steal guest guest_nice
    path = write_stat(tmp_path / "stat", ["cpu0 100 10 50 800 20 5 5 10 60 4", "cpu3 1 0 1 8"])
    got = read_proc_stat(path)
    assert list(got) == ["cpu0", "cpu3"]
    total = 100 + 10 + 50 + 800 + 20 + 5 + 5 + 10  # guest (60) and guest_nice (4) are inside user/nice
    assert got["cpu0"] == (total, 800, 100, 50)
    assert got["cpu3"] == (10, 8, 1, 1)


def test_cpu_percentages_from_deltas(tmp_path: Path) -> None:
    before = read_proc_stat(write_stat(tmp_path / "a", ["cpu0 100 0 100 800 0 0 0 0 0 0"]))
    # 200 ticks pass: 50 user (30 of it guest), 30 system, 100 idle, 20 iowait.
    after = read_proc_stat(write_stat(tmp_path / "b", ["cpu0 150 0 130 900 20 0 0 0 30 0"]))
    (cpu,) = cpu_stats(before, after, {0: 2000.0})
    assert cpu["CPU"] == "cpu0"
    assert cpu["User"] == pytest.approx(25.0)
    assert cpu["System"] == pytest.approx(15.0)
    assert cpu["Idle"] == pytest.approx(50.0)
    assert cpu["TotalPercent"] == pytest.approx(50.0)  # iowait is busy, as in the reference
    assert cpu["TotalTicks"] == pytest.approx(1000.0)


def test_total_ticks_use_each_cores_speed() -> None:
    prev = {"cpu0": (0, 0, 0, 0), "cpu1": (0, 0, 0, 0)}
    cur = {"cpu0": (100, 50, 50, 0), "cpu1": (100, 50, 50, 0)}
    cpus = cpu_stats(prev, cur, {0: 1000.0, 1: 3000.0})
    assert [c["TotalTicks"] for c in cpus] == [pytest.approx(500.0), pytest.approx(1500.0)]


def test_sanitising_without_elapsed_ticks_or_with_a_counter_reset() -> None:
    same = {"cpu0": (100, 60, 30, 10)}
    (cpu,) = cpu_stats(same, same, {0: 1000.0})
    assert (cpu["Idle"], cpu["User"], cpu["System"], cpu["TotalPercent"], cpu["TotalTicks"]) == (
        100.0,
        0.0,
        0.0,
        0.0,
        0.0,
    )
    # Counters that went backwards (a CPU reset while offline) give negative deltas.
    (reset,) = cpu_stats({"cpu0": (100, 50, 30, 10)}, {"cpu0": (150, 20, 5, 1)}, {0: 1000.0})
    assert reset["User"] == 0.0 and reset["System"] == 0.0
    assert reset["Idle"] == 100.0  # a negative idle percentage is cleaned to 100
    assert reset["TotalPercent"] == 100.0
    # A CPU that was not there before (hot-plugged) reports idle.
    (new,) = cpu_stats({}, same, {0: 1000.0})
    assert new["Idle"] == 100.0 and new["TotalPercent"] == 0.0


def test_first_snapshot_measures_the_window_after_priming() -> None:
    sampler = HostSampler("/", {i: 1000.0 for i in core_ids()})
    sampler.prime()
    deadline = time.monotonic() + 0.2
    while time.monotonic() < deadline:  # keep one core busy during the window
        pass
    snap = sampler.sample()
    assert max(c["TotalPercent"] for c in snap["CPU"]) > 50.0
    # Without a baseline there is no delta: the snapshot says idle rather than
    # publishing the since-boot average the reference shows first.
    unprimed = HostSampler("/", {i: 1000.0 for i in core_ids()}).sample()
    assert all(c["Idle"] == 100.0 and c["TotalPercent"] == 0.0 for c in unprimed["CPU"])


def test_snapshot_fields_types_and_plausible_values(tmp_path: Path) -> None:
    sampler = HostSampler(str(tmp_path))
    sampler.prime()
    time.sleep(0.05)
    snap = sampler.sample()
    assert set(snap) == {
        "AllocDirStats", "CPU", "CPUTicksConsumed", "DeviceStats", "DiskStats", "Memory", "Timestamp", "Uptime",
    }  # fmt: skip
    assert snap is sampler.latest
    assert len(snap["CPU"]) == len(read_proc_stat())
    for cpu in snap["CPU"]:
        assert set(cpu) == CPU_FIELDS
        assert all(isinstance(cpu[k], float) for k in CPU_FIELDS - {"CPU"})
        assert 0.0 <= cpu["Idle"] <= 100.0 and 0.0 <= cpu["TotalPercent"] <= 100.0
    assert snap["CPUTicksConsumed"] == pytest.approx(sum(c["TotalTicks"] for c in snap["CPU"]))
    assert snap["DeviceStats"] is None
    vm = psutil.virtual_memory()
    mem = snap["Memory"]
    assert mem["Total"] == vm.total
    assert 0 < mem["Used"] < mem["Total"] and 0 < mem["Available"] <= mem["Total"]
    assert abs(mem["Available"] - vm.available) < vm.total * 0.1
    assert isinstance(snap["Timestamp"], int) and abs(snap["Timestamp"] - time.time_ns()) < 60 * 10**9
    assert abs(snap["Uptime"] - (time.time() - psutil.boot_time())) < 5
    alloc = snap["AllocDirStats"]
    assert alloc["Device"] == "" and alloc["Mountpoint"] == ""
    assert alloc["Size"] == psutil.disk_usage(str(tmp_path)).total
    assert isinstance(snap["DiskStats"], list)


def test_disk_stats_match_psutil_for_each_mount() -> None:
    stats = DiskCollector().collect()
    by_mount = {d["Mountpoint"]: d for d in stats}
    for part in psutil.disk_partitions(all=False):
        if part.mountpoint in by_mount:
            usage = psutil.disk_usage(part.mountpoint)
            got = by_mount[part.mountpoint]
            assert got["Size"] == usage.total
            assert abs(got["Used"] - usage.used) < max(usage.total // 100, 1 << 20)
            assert got["UsedPercent"] == pytest.approx(usage.percent, abs=1.0)
    for d in stats:
        assert set(d) == {
            "Available",
            "Device",
            "InodesUsedPercent",
            "Mountpoint",
            "Size",
            "Used",
            "UsedPercent",
        }
        assert isinstance(d["UsedPercent"], float) and isinstance(d["InodesUsedPercent"], float)


def test_mount_table_parsing_and_filtering(tmp_path: Path) -> None:
    data = tmp_path / "data dir"
    data.mkdir()
    escaped = str(data).replace(" ", "\\040")
    mountinfo = tmp_path / "mountinfo"
    mountinfo.write_text(
        "22 27 0:21 / /proc rw - proc proc rw\n"
        f"27 1 254:0 / {escaped} rw,relatime - ext4 /dev/vdz rw\n"
        "28 27 0:25 / /tmp rw - tmpfs tmpfs rw\n"
        "29 27 0:26 / /none rw - ext4 none rw\n"
        "garbage line\n"
    )
    filesystems = tmp_path / "filesystems"
    filesystems.write_text("nodev\tproc\nnodev\ttmpfs\n\text4\nnodev\tzfs\n")
    assert physical_fstypes(str(filesystems)) == {"ext4", "zfs"}
    mounts = parse_mountinfo(mountinfo.read_text())
    assert [m.mountpoint for m in mounts] == ["/proc", str(data), "/tmp", "/none"]
    stats = DiskCollector((str(mountinfo),), str(filesystems)).collect()
    assert [(d["Device"], d["Mountpoint"]) for d in stats] == [("/dev/vdz", str(data))]
    assert stats[0]["Size"] == statfs_stats(str(data))["Size"]


def test_disk_stats_are_an_empty_list_when_nothing_qualifies(tmp_path: Path) -> None:
    mountinfo = tmp_path / "mountinfo"
    mountinfo.write_text("1 0 0:1 / / rw - overlay overlay rw\n2 1 0:2 / /dev rw - tmpfs tmpfs rw\n")
    filesystems = tmp_path / "filesystems"
    filesystems.write_text("nodev\toverlay\nnodev\ttmpfs\n\text4\n")
    assert DiskCollector((str(mountinfo),), str(filesystems)).collect() == []
    assert DiskCollector((str(tmp_path / "missing"),), str(filesystems)).collect() == []


def test_mount_that_cannot_be_statted_is_skipped(tmp_path: Path) -> None:
    mountinfo = tmp_path / "mountinfo"
    mountinfo.write_text(
        f"1 0 8:1 / {tmp_path}/gone rw - ext4 /dev/sdz rw\n1 0 8:1 / / rw - ext4 /dev/sdy rw\n"
    )
    filesystems = tmp_path / "filesystems"
    filesystems.write_text("\text4\n")
    collector = DiskCollector((str(mountinfo),), str(filesystems))
    assert [d["Mountpoint"] for d in collector.collect()] == ["/"]
    assert [d["Mountpoint"] for d in collector.collect()] == ["/"]


def test_unescape() -> None:
    assert unescape("/mnt/a\\040b\\011c\\134d") == "/mnt/a b\tc\\d"
    assert unescape("/plain") == "/plain"


def test_core_speeds(tmp_path: Path) -> None:
    for cpu, files in (
        ("cpu0", {"base_frequency": "2000000"}),
        ("cpu1", {"cpuinfo_max_freq": "3500000"}),
        ("cpu2", {}),
    ):
        freq = tmp_path / cpu / "cpufreq"
        freq.mkdir(parents=True)
        for name, value in files.items():
            (freq / name).write_text(value + "\n")
    (tmp_path / "cpufreq").mkdir()  # not a cpuN directory
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 2\ncpu MHz\t\t: 1234.5\n\nprocessor\t: 3\n")
    assert core_mhz(str(tmp_path), str(cpuinfo)) == {0: 2000.0, 1: 3500.0, 2: 1234.5}
    real = core_mhz()
    assert len(real) == len(core_ids()) and all(v > 0 for v in real.values())
    assert len(real) == len(
        [n for n in os.listdir("/sys/devices/system/cpu") if n[3:].isdigit() and n.startswith("cpu")]
    )
