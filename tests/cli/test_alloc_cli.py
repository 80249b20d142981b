"""``outrider alloc status|logs|fs|restart|signal|stats`` against a real agent: real tasks, real rotation,
ID prefixes (an ambiguous one lists the candidates), and every byte of the logs checked."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from typing import Any

import pytest

from tests.cli.support import cli_env, err, fails, ok, out, register, run, wait_dead
from tests.conftest import AgentProcess
from tests.http.conftest import log_bytes
from tests.runner import jobspecs as J
from tests.runner.support import log_indexes, wait_for

pytestmark = pytest.mark.functional

SMALL_LOGS = {"MaxFiles": 50, "MaxFileSizeBytes": 64 * 1024}
# 100-byte numbered lines, 3,000 of them: about 300 KB, so the stdout log rotates four times or more.
WRITER = (
    "import sys\n"
    "for i in range(3000):\n"
    "    sys.stdout.write(f'line {i:06d} ' + 'x' * 87 + '\\n')\n"
    "    sys.stderr.write(f'err {i}\\n') if i % 1000 == 0 else None\n"
)
EXPECTED = b"".join(f"line {i:06d} ".encode() + b"x" * 87 + b"\n" for i in range(3000))


def newest_log(agent: AgentProcess, alloc_id: str, task: str, kind: str = "stdout") -> bytes:
    logs = agent.alloc_dir / alloc_id / "alloc" / "logs"
    return (logs / f"{task}.{kind}.{log_indexes(logs, task, kind)[-1]}").read_bytes()


@pytest.fixture(scope="module")
def rotated(agent: AgentProcess) -> dict[str, Any]:
    """A finished batch allocation whose stdout rotated across several files."""
    alloc = register(agent, J.job("rotated", J.python("w", WRITER, LogConfig=dict(SMALL_LOGS))))[0]
    wait_dead(agent, alloc["ID"])
    assert log_bytes(agent, alloc["ID"], "w") == EXPECTED
    assert len(os.listdir(agent.alloc_dir / alloc["ID"] / "alloc" / "logs")) >= 5
    return alloc


@pytest.fixture(scope="module")
def sleeper(agent: AgentProcess) -> dict[str, Any]:
    """A running service allocation with two tasks."""
    job = J.job(
        "sleeper",
        J.sh("main", "echo main-out; echo main-err >&2; exec sleep 120"),
        J.sh("side", "echo side-out; exec sleep 120"),
        type_="service",
    )
    return register(agent, job)[0]


# -- logs ---------------------------------------------------------------------------------------------


def test_logs_print_every_byte_across_rotations(agent: AgentProcess, rotated: dict[str, Any]) -> None:
    result = run("alloc", "logs", rotated["ID"], agent=agent)
    assert result.returncode == 0
    assert hashlib.sha256(result.stdout).hexdigest() == hashlib.sha256(EXPECTED).hexdigest()
    stderr = ok("alloc", "logs", "-stderr", rotated["ID"], "w", agent=agent)
    assert stderr == "err 0\nerr 1000\nerr 2000\n"


def test_logs_prefix_and_task_argument_forms(agent: AgentProcess, rotated: dict[str, Any]) -> None:
    by_prefix = run("alloc", "logs", rotated["ID"][:6], agent=agent).stdout
    by_flag = run("alloc", "logs", "-task", "w", rotated["ID"][:9], agent=agent).stdout
    assert by_prefix == by_flag == EXPECTED


@pytest.mark.parametrize("lines", [1, 5, 40])
def test_logs_n_keeps_the_last_lines_of_the_newest_file(
    agent: AgentProcess, rotated: dict[str, Any], lines: int
) -> None:
    got = run("alloc", "logs", "-n", str(lines), rotated["ID"], agent=agent).stdout
    # Nomad's CLI asks for lines*120 bytes back from the end of the newest file, then keeps whole lines.
    window = newest_log(agent, rotated["ID"], "w")[-lines * 120 :]
    want = b"".join(window.splitlines(keepends=True)[-lines:])
    assert got == want
    assert EXPECTED.endswith(got) and got.count(b"\n") == min(lines, want.count(b"\n"))
    assert run("alloc", "logs", "-tail", "-n", str(lines), rotated["ID"], agent=agent).stdout == got


def test_logs_tail_c_and_default_tail(agent: AgentProcess, rotated: dict[str, Any]) -> None:
    assert run("alloc", "logs", "-c", "250", rotated["ID"], agent=agent).stdout == EXPECTED[-250:]
    default = run("alloc", "logs", "-tail", rotated["ID"], agent=agent).stdout
    assert default == b"".join(EXPECTED.splitlines(keepends=True)[-10:])
    assert run("alloc", "logs", "-n", "0", rotated["ID"], agent=agent).stdout == b""
    assert "cannot be used together" in fails(
        "alloc", "logs", "-n", "1", "-c", "1", rotated["ID"], agent=agent
    )
    assert "invalid size" in fails("alloc", "logs", "-n", "-3", rotated["ID"], agent=agent)


def test_logs_follow_ends_with_the_task_and_keeps_every_byte(agent: AgentProcess) -> None:
    writer = "import sys, time\n" + "".join(
        f"sys.stdout.write('burst {b} ' + 'y' * 30000 + '\\n'); sys.stdout.flush(); time.sleep(0.05)\n"
        for b in range(12)
    )
    job = J.job(
        "follower", J.python("w", "import time; time.sleep(1.5)\n" + writer, LogConfig=dict(SMALL_LOGS))
    )
    alloc_id = register(agent, job)[0]["ID"]
    # Start following while the task sleeps; the stream must end by itself when the task exits.
    result = run("alloc", "logs", "-stdout", "-f", alloc_id, agent=agent, timeout=60)
    assert result.returncode == 0, err(result)
    want = b"".join(f"burst {b} ".encode() + b"y" * 30000 + b"\n" for b in range(12))
    assert result.stdout == want
    assert log_bytes(agent, alloc_id, "w") == want


def test_logs_follow_alone_streams_both_from_the_end(agent: AgentProcess) -> None:
    script = "i=0; while [ $i -lt 40 ]; do echo out $i; echo err $i >&2; i=$((i+1)); sleep 0.05; done"
    job = J.job("both", J.sh("t", "sleep 1; " + script))
    alloc_id = register(agent, job)[0]["ID"]
    result = run("alloc", "logs", "-f", alloc_id, agent=agent, timeout=60)
    assert result.returncode == 0, err(result)
    outs = "".join(f"out {i}\n" for i in range(40))
    errs = "".join(f"err {i}\n" for i in range(40))
    assert out(result) and outs.endswith(out(result))
    assert err(result) and errs.endswith(err(result))


def test_logs_follow_n_shows_recent_lines_then_new_ones(agent: AgentProcess) -> None:
    script = "i=0; while [ $i -lt 30 ]; do echo tick $i; i=$((i+1)); sleep 0.1; done"
    alloc = register(agent, J.job("ticker", J.sh("t", script)))[0]
    result = run("alloc", "logs", "-f", "-n", "3", alloc["ID"], agent=agent, timeout=60)
    assert result.returncode == 0
    lines = out(result).splitlines()
    assert lines[-1] == "tick 29"
    first = int(lines[0].split()[1])
    assert lines == [f"tick {i}" for i in range(first, 30)]


def test_logs_needs_the_task_when_there_are_several(agent: AgentProcess, sleeper: dict[str, Any]) -> None:
    text = fails("alloc", "logs", sleeper["ID"], agent=agent)
    assert "is running the following tasks:\n  * main\n  * side" in text
    assert ok("alloc", "logs", sleeper["ID"], "side", agent=agent) == "side-out\n"
    assert ok("alloc", "logs", "-stderr", sleeper["ID"], "main", agent=agent) == "main-err\n"
    assert "has no task 'nope'" in fails("alloc", "logs", sleeper["ID"], "nope", agent=agent)


def test_logs_of_a_job_picks_its_running_allocation(agent: AgentProcess, sleeper: dict[str, Any]) -> None:
    assert ok("alloc", "logs", "-job", "sleeper", "main", agent=agent) == "main-out\n"
    assert "does not exist or has no allocations" in fails("alloc", "logs", "-job", "ghost", agent=agent)


# -- prefixes and status ------------------------------------------------------------------------------


def test_unknown_short_and_ambiguous_prefixes(agent: AgentProcess) -> None:
    assert "no allocation matches prefix 'ffff0000'" in fails("alloc", "status", "ffff0000", agent=agent)
    assert "at least two characters" in fails("alloc", "status", "f", agent=agent)
    # Two allocations sharing their first byte: 64 allocations make that all but certain (birthday bound).
    ids: list[str] = []
    shared = None
    for attempt in range(3):
        allocs = register(agent, J.job(f"many-{attempt}", J.task("t", ["/bin/true"]), count=64))
        ids += [a["ID"] for a in allocs]
        firsts = [i[:2] for i in ids]
        shared = next((p for p in firsts if firsts.count(p) > 1), None)
        if shared:
            break
    assert shared is not None
    text = fails("alloc", "status", shared, agent=agent)
    assert f"prefix '{shared}' matched" in text
    # Every allocation the agent holds counts: the agent is shared with other tests' jobs.
    with agent.client() as http:
        every = [a["ID"] for a in http.get("/v1/allocations").json()]
    candidates = [i for i in every if i.startswith(shared)]
    for alloc_id in candidates:
        assert re.search(rf"^{alloc_id[:8]}\s+[0-9a-f]{{8}}\s+g\s+0\s+run\s+", text, re.M)
    assert text.count("\n" + shared) == len(candidates)
    # An odd number of hex digits is cut to whole bytes, as Nomad's CLI does: three digits ask for the same two.
    odd = shared + candidates[0][2]
    assert f"prefix '{odd}' matched {len(candidates)} allocations" in fails(
        "alloc", "status", odd, agent=agent
    )


def test_status_shows_the_allocation_and_its_events(agent: AgentProcess, sleeper: dict[str, Any]) -> None:
    text = ok("alloc", "status", sleeper["ID"][:8], agent=agent)
    assert re.search(rf"^ID\s+= {sleeper['ID'][:8]}$", text, re.M)
    assert re.search(r"^Client Status\s+= running$", text, re.M)
    assert re.search(r"^Created\s+= \d+[smh]\d*[smh]? ago$", text, re.M)
    assert 'Task "main" is "running"' in text and 'Task "side" is "running"' in text
    assert re.search(r"^\S+\s+Started\s+Task started by client$", text, re.M)
    verbose = ok("alloc", "status", "-verbose", sleeper["ID"][:8], agent=agent)
    assert re.search(rf"^ID\s+= {sleeper['ID']}$", verbose, re.M)
    as_json = json.loads(ok("alloc", "status", "-json", sleeper["ID"], agent=agent))
    assert as_json["ID"] == sleeper["ID"] and as_json["TaskStates"]["main"]["State"] == "running"


# -- fs -----------------------------------------------------------------------------------------------


def test_fs_lists_stats_and_prints(agent: AgentProcess, rotated: dict[str, Any]) -> None:
    alloc_id = rotated["ID"]
    root = ok("alloc", "fs", alloc_id, agent=agent)
    assert re.search(r"^Mode\s+Size\s+Modified Time\s+Name$", root, re.M)
    assert re.search(r"^d\S+\s+\S+ \S+\s+\S+\s+alloc/$", root, re.M)
    assert re.search(r"^d\S+\s+\S+ \S+\s+\S+\s+w/$", root, re.M)
    listing = ok("alloc", "fs", "-H", alloc_id, "alloc/logs", agent=agent)
    assert re.search(r"^-rw\S+\s+65\d\d\d\s+\S+\s+w\.stdout\.0$", listing, re.M)
    stat = ok("alloc", "fs", "-stat", alloc_id, "alloc/logs/w.stdout.0", agent=agent)
    assert re.search(r"^-rw\S+\s+6\d KiB\s+\S+\s+text/plain; charset=utf-8\s+w\.stdout\.0$", stat, re.M)
    info = json.loads(ok("alloc", "fs", "-stat", "-json", alloc_id, "alloc/logs/w.stdout.0", agent=agent))
    assert info["Name"] == "w.stdout.0" and info["IsDir"] is False
    names = {e["Name"] for e in json.loads(ok("alloc", "fs", "-json", alloc_id, "alloc/logs", agent=agent))}
    assert "w.stdout.0" in names and "w.stderr.0" in names
    first = (agent.alloc_dir / alloc_id / "alloc" / "logs" / "w.stdout.0").read_bytes()
    assert run("alloc", "fs", alloc_id, "alloc/logs/w.stdout.0", agent=agent).stdout == first
    assert run("alloc", "fs", "-n", "2", alloc_id, "alloc/logs/w.stdout.0", agent=agent).stdout == b"".join(
        first.splitlines(keepends=True)[-2:]
    )
    assert run("alloc", "fs", "-c", "7", alloc_id, "alloc/logs/w.stdout.0", agent=agent).stdout == first[-7:]
    text = fails("alloc", "fs", alloc_id, "no/such/file", agent=agent)
    assert "Unexpected response code: 404" in text or "no such file" in text


def test_fs_follow_prints_appended_bytes(agent: AgentProcess, sleeper: dict[str, Any]) -> None:
    target = agent.alloc_dir / sleeper["ID"] / "alloc" / "data" / "grow.txt"
    target.write_bytes(b"one\ntwo\n")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "outrider",
            "alloc",
            "fs",
            "-f",
            "-n",
            "1",
            sleeper["ID"],
            "alloc/data/grow.txt",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=cli_env(agent),
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == b"two\n"
        with target.open("ab") as handle:
            handle.write(b"three\n")
        assert proc.stdout.readline() == b"three\n"
    finally:
        proc.send_signal(2)
        assert proc.wait(20) == 130
        assert b"Traceback" not in (proc.stderr.read() if proc.stderr else b"")
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


# -- restart, signal, stats -------------------------------------------------------------------------


def test_restart_and_signal_act_on_the_tasks(agent: AgentProcess) -> None:
    script = "trap 'echo got-usr1' USR1; echo up; while true; do sleep 0.1; done"
    alloc = register(agent, J.job("lifecycle", J.sh("t", script), type_="service"))[0]
    text = ok("alloc", "signal", "-s", "SIGUSR1", alloc["ID"][:8], agent=agent)
    assert text == f'Sent SIGUSR1 to the running tasks of allocation "{alloc["ID"][:8]}"\n'
    wait_for(lambda: "got-usr1" in ok("alloc", "logs", alloc["ID"], agent=agent), 10)
    assert ok("alloc", "restart", alloc["ID"], "t", agent=agent) == (
        f'Restarted task "t" of allocation "{alloc["ID"][:8]}"\n'
    )

    def restarted() -> bool:
        state = json.loads(ok("alloc", "status", "-json", alloc["ID"], agent=agent))["TaskStates"]["t"]
        return state["Restarts"] == 1 and state["State"] == "running"

    wait_for(restarted, 20)
    text = fails("alloc", "signal", "-s", "SIGNOPE", alloc["ID"], agent=agent)
    assert "Unexpected response code: 400" in text
    ok("job", "stop", "lifecycle", agent=agent)
    assert "Unexpected response code" in fails("alloc", "restart", alloc["ID"], agent=agent)


def test_stats_per_task_and_total(agent: AgentProcess, sleeper: dict[str, Any]) -> None:
    def sampled() -> str | None:
        text = ok("alloc", "stats", sleeper["ID"], agent=agent)
        return text if re.search(r"^main\s+\d+\.\d\d\s+\d+\s+\d+(\.\d)? [KM]iB\s", text, re.M) else None

    text = wait_for(sampled, 20, 0.5)
    assert re.search(r"^Task\s+CPU %\s+CPU MHz\s+Memory RSS\s+Memory Cache\s+Processes$", text, re.M)
    assert re.search(r"^side\s+", text, re.M) and re.search(r"^\(total\)\s+", text, re.M)
    usage = json.loads(ok("alloc", "stats", "-json", sleeper["ID"], agent=agent))
    assert set(usage["Tasks"]) == {"main", "side"}
    only = ok("alloc", "stats", "-task", "main", sleeper["ID"], agent=agent)
    assert "side" not in only and "(total)" not in only


def test_a_full_id_the_jobs_api_does_not_know_still_reaches_the_client_endpoints(agent: AgentProcess) -> None:
    """A sidecar serves a Nomad client's allocation directories, which the jobs API does not list."""
    from tests.conftest import make_external_alloc

    external = make_external_alloc(agent.alloc_dir)
    external.write("web/local/hello.txt", "hi there\n")
    assert ok("alloc", "fs", external.id, "web/local/hello.txt", agent=agent) == "hi there\n"
    assert "no allocation matches prefix" in fails("alloc", "fs", external.id[:8], agent=agent)
