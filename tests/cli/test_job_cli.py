"""``outrider job run|status|stop`` against a real agent: HCL and JSON job files, placement shown as it
happens, prefixes, stopping with progress, purging, and the errors a person can make."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.cli.support import fails, ok, register, run, wait_dead
from tests.conftest import AgentProcess
from tests.runner import jobspecs as J

pytestmark = pytest.mark.functional

HCL_JOB = """
job "hcl-web" {
  datacenters = ["dc1"]
  type        = "service"
  meta { owner = "team-a" }

  group "web" {
    count = 2
    restart {
      attempts = 1
      interval = "10s"
      delay    = "100ms"
      mode     = "fail"
    }
    task "srv" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "echo \\"started $${NOMAD_ALLOC_ID}\\"; exec sleep 60"]
      }
      env { GREETING = "hello" }
      kill_timeout = "2s"
      logs {
        max_files     = 3
        max_file_size = 1
      }
      resources {
        cpu    = 100
        memory = 64
      }
    }
  }
}
"""


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_run_hcl_shows_placement_and_task_events(agent: AgentProcess, tmp_path: Path) -> None:
    text = ok("job", "run", write(tmp_path, "web.hcl", HCL_JOB), agent=agent)
    assert re.search(r'Monitoring evaluation "[0-9a-f]{8}"', text)
    assert len(re.findall(r'Allocation "[0-9a-f]{8}" created: node "[0-9a-f]{8}", group "web"', text)) == 2
    assert (
        len(re.findall(r'Task "srv" of allocation "[0-9a-f]{8}": Started: Task started by client', text)) == 2
    )
    assert text.index("Received") < text.index("Started")
    assert 'Job "hcl-web": 2 allocation(s) placed, 2 running, 0 failed' in text
    with agent.client() as http:
        job = http.get("/v1/job/hcl-web").json()
        allocs = http.get("/v1/job/hcl-web/allocations").json()
    task = job["TaskGroups"][0]["Tasks"][0]
    assert task["Config"]["args"][1] == 'echo "started ${NOMAD_ALLOC_ID}"; exec sleep 60'
    assert task["Env"] == {"GREETING": "hello"}
    assert task["KillTimeout"] == 2_000_000_000
    assert task["LogConfig"]["MaxFiles"] == 3 and task["LogConfig"]["MaxFileSizeMB"] == 1
    assert job["TaskGroups"][0]["RestartPolicy"]["Delay"] == 100_000_000
    assert job["Meta"] == {"owner": "team-a"}
    # The task saw its own allocation ID: the interpolation reached the runner unexpanded.
    logs = ok("alloc", "logs", allocs[0]["ID"], agent=agent)
    assert logs == f"started {allocs[0]['ID']}\n"
    ok("job", "stop", "-purge", "hcl-web", agent=agent)


def test_run_json_with_and_without_the_wrapper(agent: AgentProcess, tmp_path: Path) -> None:
    bare = J.job("json-bare", J.sh("t", "echo bare"))
    wrapped = {"Job": J.job("json-wrapped", J.sh("t", "echo wrapped"))}
    for name, body in (("bare.json", bare), ("wrapped.nomad", wrapped)):
        text = ok("job", "run", write(tmp_path, name, json.dumps(body)), agent=agent)
        assert "1 allocation(s) placed" in text
    with agent.client() as http:
        assert http.get("/v1/job/json-bare").status_code == 200
        assert http.get("/v1/job/json-wrapped").status_code == 200


def test_run_from_stdin_and_detached(agent: AgentProcess) -> None:
    body = json.dumps(J.job("from-stdin", J.sh("t", "echo hi")))
    text = ok("job", "run", "-detach", "-json", "-", agent=agent, stdin=body.encode())
    assert text.startswith("Job registration successful\nEvaluation ID: ")


def test_run_unchanged_job_places_nothing(agent: AgentProcess, tmp_path: Path) -> None:
    path = write(tmp_path, "same.json", json.dumps(J.job("same", J.sh("t", "sleep 30"), type_="service")))
    ok("job", "run", path, agent=agent)
    text = ok("job", "run", path, agent=agent)
    assert "No allocation placed" in text
    ok("job", "stop", "-purge", "same", agent=agent)


def test_run_failing_task_exits_1(agent: AgentProcess, tmp_path: Path) -> None:
    job = J.job("doomed", J.task("t", ["/nonexistent/binary"]), RestartPolicy={"Attempts": 0, "Mode": "fail"})
    result = run("job", "run", write(tmp_path, "doomed.json", json.dumps(job)), agent=agent)
    assert result.returncode == 1
    assert b"Driver Failure" in result.stdout
    assert b"1 failed" in result.stdout


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            'job "x" {\n  group "g" {\n    task "t" {\n      template { data = "x" }\n    }\n  }\n}\n',
            '"template" is not supported',
        ),
        ('job "x" {\n  group "g" {\n    count = "two"\n  }\n}\n', "count must be a whole number"),
        ('job "x" {\n  bogus = 1\n}\n', '"bogus" is not supported'),
        ("job {", "is not valid HCL"),
        ('variable "v" {}\njob "x" {}\n', '"variable" is not supported'),
        ('job "a" {}\njob "b" {}\n', "exactly one job block"),
        (
            'job "x" {\n  group "g" {\n    task "t" {\n      kill_timeout = "soon"\n    }\n  }\n}\n',
            "invalid duration",
        ),
    ],
)
def test_bad_hcl_is_a_clear_error(agent: AgentProcess, tmp_path: Path, text: str, message: str) -> None:
    assert message in fails("job", "run", write(tmp_path, "bad.hcl", text), agent=agent)


def test_api_refusal_and_missing_file_are_clear_errors(agent: AgentProcess, tmp_path: Path) -> None:
    job = J.job("refused", J.sh("t", "true"))
    job["TaskGroups"][0]["Tasks"][0]["Driver"] = "docker"
    text = fails("job", "run", write(tmp_path, "refused.json", json.dumps(job)), agent=agent)
    assert "Error: Unexpected response code: 400" in text
    assert "cannot read the job file" in fails("job", "run", str(tmp_path / "missing.hcl"), agent=agent)
    assert "is not valid JSON" in fails("job", "run", write(tmp_path, "broken.json", "{"), agent=agent)


def test_status_lists_shows_and_matches_prefixes(agent: AgentProcess) -> None:
    allocs = register(agent, J.job("status-demo", J.sh("t", "sleep 30"), type_="service", count=2))
    listing = ok("job", "status", agent=agent)
    header, *rows = listing.splitlines()
    assert header.split() == ["ID", "Type", "Priority", "Status", "Submit", "Date"]
    assert any(r.split()[:4] == ["status-demo", "service", "50", "running"] for r in rows)
    detail = ok("job", "status", "status-d", agent=agent)
    assert re.search(r"^ID\s+= status-demo$", detail, re.M)
    assert re.search(r"^Status\s+= running$", detail, re.M)
    assert re.search(r"^g\s+0\s+0\s+2\s+0\s+0\s+0\s+0$", detail, re.M)
    for alloc in allocs:
        assert re.search(rf"^{alloc['ID'][:8]}\s+\S+\s+g\s+0\s+run\s+running\s+\d+s ago", detail, re.M)
    as_json = json.loads(ok("job", "status", "-json", "status-demo", agent=agent))
    assert as_json["Job"]["ID"] == "status-demo"
    assert {a["ID"] for a in as_json["Allocations"]} == {a["ID"] for a in allocs}
    assert json.loads(ok("job", "status", "--json", agent=agent))
    assert "no job matches 'nope'" in fails("job", "status", "nope", agent=agent)
    ok("job", "stop", "-purge", "status-demo", agent=agent)


def test_ambiguous_job_prefix_lists_the_candidates(agent: AgentProcess) -> None:
    register(agent, J.job("twin-a", J.sh("t", "true")))
    register(agent, J.job("twin-b", J.sh("t", "true")))
    text = fails("job", "status", "twin", agent=agent)
    assert "prefix 'twin' matched 2 jobs" in text and "twin-a" in text and "twin-b" in text


def test_stop_shows_allocations_as_they_stop_then_purge_forgets(agent: AgentProcess) -> None:
    allocs = register(agent, J.job("stopper", J.sh("t", "exec sleep 60"), type_="service", count=2))
    text = ok("job", "stop", "stopper", agent=agent)
    assert 'Stopping job "stopper"' in text
    for alloc in allocs:
        assert f'Allocation "{alloc["ID"][:8]}" stopped: complete' in text
    assert 'Job "stopper" stopped: 2 allocation(s) stopped' in text
    assert re.search(r"^Status\s+= dead$", ok("job", "status", "stopper", agent=agent), re.M)
    ok("job", "stop", "-purge", "stopper", agent=agent)
    assert "no job matches 'stopper'" in fails("job", "status", "stopper", agent=agent)


def test_stop_detach_returns_at_once(agent: AgentProcess) -> None:
    allocs = register(agent, J.job("detached", J.sh("t", "exec sleep 60"), type_="service"))
    assert ok("job", "stop", "-detach", "detached", agent=agent).startswith("Evaluation ID: ")
    wait_dead(agent, allocs[0]["ID"])
