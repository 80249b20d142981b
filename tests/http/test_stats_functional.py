"""GET /v1/client/stats and /v1/client/allocation/<id>/stats against a real agent.

Nomad's side: ``command/agent/stats_endpoint.go``, ``client/alloc_endpoint.go`` ``Stats``.
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import nomad
import psutil
import pytest

from tests.conftest import AgentProcess, make_external_alloc, running_agent

pytestmark = pytest.mark.functional

INTERVAL = 0.2
EMPTY_ALLOC_STATS = (
    b'{"ResourceUsage":{"CpuStats":{"Measured":null,"Percent":0.0,"SystemMode":0.0,"ThrottledPeriods":0,'
    b'"ThrottledTime":0,"TotalTicks":0.0,"UserMode":0.0},"DeviceStats":[],"MemoryStats":{"Cache":0,'
    b'"KernelMaxUsage":0,"KernelUsage":0,"MappedFile":0,"MaxUsage":0,"Measured":null,"RSS":0,"Swap":0,'
    b'"Usage":0}},"Tasks":{},"Timestamp":0}'
)


@pytest.fixture(scope="module")
def fast_agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AgentProcess]:
    """An agent sampling every 200 ms."""
    root = tmp_path_factory.mktemp("stats")
    config = root / "agent.json"
    config.write_text('{"telemetry": {"collection_interval": "200ms"}}')
    with running_agent(root / "data", "--config", str(config)) as proc:
        yield proc


@pytest.fixture
def client(fast_agent: AgentProcess) -> Iterator[httpx.Client]:
    with fast_agent.client() as c:
        yield c


def assert_error(resp: httpx.Response, status: int, text: str) -> None:
    assert (resp.status_code, resp.text) == (status, text)
    assert resp.headers["content-type"] == "text/plain; charset=utf-8"


def test_host_stats_fields_types_and_values(client: httpx.Client, fast_agent: AgentProcess) -> None:
    resp = client.get("/v1/client/stats")
    assert resp.status_code == 200 and resp.headers["content-type"] == "application/json"
    body = resp.json()
    assert list(body) == [
        "AllocDirStats", "CPU", "CPUTicksConsumed", "DeviceStats", "DiskStats", "Memory", "Timestamp", "Uptime",
    ]  # fmt: skip
    logical = psutil.cpu_count()
    assert [c["CPU"] for c in body["CPU"]] == [f"cpu{i}" for i in range(logical)]
    for cpu in body["CPU"]:
        assert list(cpu) == ["CPU", "Idle", "System", "TotalPercent", "TotalTicks", "User"]
        for key in ("Idle", "System", "TotalPercent", "TotalTicks", "User"):
            assert isinstance(cpu[key], float)
        assert 0.0 <= cpu["User"] <= 100.0 and 0.0 <= cpu["Idle"] <= 100.0
        assert cpu["User"] + cpu["System"] <= cpu["TotalPercent"] + 1e-6
    assert body["CPUTicksConsumed"] == pytest.approx(sum(c["TotalTicks"] for c in body["CPU"]))
    assert body["DeviceStats"] is None
    memory = body["Memory"]
    vm = psutil.virtual_memory()
    assert memory["Total"] == vm.total
    assert all(isinstance(memory[k], int) for k in ("Available", "Free", "Total", "Used"))
    assert 0 < memory["Used"] < memory["Total"] and memory["Free"] <= memory["Total"]
    assert abs(memory["Available"] - vm.available) < vm.total // 10
    assert abs(body["Uptime"] - (time.time() - psutil.boot_time())) < 10
    assert abs(body["Timestamp"] - time.time_ns()) < 60 * 10**9
    alloc_dir = body["AllocDirStats"]
    assert alloc_dir["Device"] == "" and alloc_dir["Mountpoint"] == ""
    assert alloc_dir["Size"] == psutil.disk_usage(str(fast_agent.alloc_dir)).total
    assert isinstance(body["DiskStats"], list)
    partitions = {p.mountpoint for p in psutil.disk_partitions()}
    for disk in body["DiskStats"]:
        if disk["Mountpoint"] in partitions:
            assert disk["Size"] == psutil.disk_usage(disk["Mountpoint"]).total


def test_snapshots_advance_without_blocking_requests(client: httpx.Client) -> None:
    first = client.get("/v1/client/stats").json()["Timestamp"]
    later = first
    for _ in range(50):
        later = client.get("/v1/client/stats").json()["Timestamp"]
        if later != first:
            break
        time.sleep(INTERVAL / 2)
    assert later > first


def test_host_stats_node_targeting(client: httpx.Client) -> None:
    local = client.get("/v1/nodes").json()[0]["ID"]
    assert client.get("/v1/client/stats", params={"node_id": local}).status_code == 200
    assert client.get("/v1/client/stats", params={"node_id": ""}).status_code == 200
    assert_error(client.get("/v1/client/stats", params={"node_id": "nope"}), 404, "Unknown node nope")
    trailing = client.get("/v1/client/stats/")
    assert (trailing.status_code, trailing.content) == (404, b"")
    assert_error(
        client.get("/v1/client/stats", params={"stale": "x"}),
        400,
        "Expect `true` or `false` for `stale` query string parameter",
    )


def test_python_nomad_reads_host_stats(fast_agent: AgentProcess) -> None:
    port = int(fast_agent.url.rsplit(":", 1)[1])
    api = nomad.Nomad(host="127.0.0.1", port=port, timeout=10)
    stats = api.client.stats.read_stats()
    assert stats["Memory"]["Total"] == psutil.virtual_memory().total


def test_alloc_stats_of_unknown_and_external_allocations(
    client: httpx.Client, fast_agent: AgentProcess
) -> None:
    missing = str(uuid.uuid4())
    assert_error(client.get(f"/v1/client/allocation/{missing}/stats"), 404, f'Unknown allocation "{missing}"')
    assert_error(client.get(f"/v1/client/allocation/{missing}/stats/x"), 404, "resource not found")
    alloc = make_external_alloc(fast_agent.alloc_dir, ("web",))
    # An allocation Outrider serves but does not run has no task samples: the reference's empty body.
    resp = client.get(f"/v1/client/allocation/{alloc.id}/stats")
    assert resp.status_code == 200 and resp.content == EMPTY_ALLOC_STATS
    assert (
        client.get(f"/v1/client/allocation/{alloc.id}/stats", params={"task": "web"}).content
        == EMPTY_ALLOC_STATS
    )
    pretty = client.get(f"/v1/client/allocation/{alloc.id}/stats", params={"pretty": "1"}).text
    assert pretty.endswith("}\n") and '    "Tasks": {},' in pretty


# -- a real task through the task runner --------------------------------------------------------

BURN = "while True:\n    pass\n"


def _job(job_id: str) -> dict[str, object]:
    return {
        "Job": {
            "ID": job_id,
            "Name": job_id,
            "Type": "batch",
            "Datacenters": ["*"],
            "TaskGroups": [
                {
                    "Name": "g",
                    "Count": 1,
                    "Tasks": [
                        {
                            "Name": "burn",
                            "Driver": "raw_exec",
                            "Config": {"command": sys.executable, "args": ["-c", BURN]},
                        }
                    ],
                }
            ],
        }
    }


def test_alloc_stats_of_a_busy_task(client: httpx.Client) -> None:
    job_id = f"burn-{uuid.uuid4().hex[:8]}"
    resp = client.post("/v1/jobs", json=_job(job_id))
    assert resp.status_code == 200, resp.text
    try:
        alloc_id = ""
        for _ in range(100):
            allocs = client.get(f"/v1/job/{job_id}/allocations").json()
            if allocs:
                alloc_id = allocs[0]["ID"]
                break
            time.sleep(0.1)
        assert alloc_id, "the job got no allocation"
        percent = 0.0
        body: dict[str, object] = {}
        # Generous: the task must first start; then two sampling intervals suffice.
        for _ in range(100):
            body = client.get(f"/v1/client/allocation/{alloc_id}/stats", params={"task": "burn"}).json()
            tasks = body["Tasks"]
            assert isinstance(tasks, dict)
            if "burn" in tasks:
                percent = tasks["burn"]["ResourceUsage"]["CpuStats"]["Percent"]
                if percent > 25:
                    break
            time.sleep(INTERVAL / 2)
        assert percent > 25, body
        task = body["Tasks"]["burn"]  # type: ignore[index]
        assert task["Pids"] and all(p.isdigit() for p in task["Pids"])
        assert "Percent" in task["ResourceUsage"]["CpuStats"]["Measured"]
        assert body["ResourceUsage"]["CpuStats"]["Percent"] > 25  # type: ignore[index]
    finally:
        client.delete(f"/v1/job/{job_id}", params={"purge": "true"})


def test_a_non_positive_collection_interval_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "bad.json"
    config.write_text('{"telemetry": {"collection_interval": "0s"}}')
    cmd = [sys.executable, "-m", "outrider", "agent", "--dev", "--http-port", "0", "--config", str(config)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert "telemetry.collection_interval must be positive" in done.stderr
