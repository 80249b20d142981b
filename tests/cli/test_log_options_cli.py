"""``alloc logs -all|-since|-timestamps|-grep`` and ``job logs`` against a real agent with real tasks."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from typing import Any

import httpx
import pytest

from tests.cli.support import cli_env, err, fails, ok, register, run, wait_dead
from tests.conftest import AgentProcess
from tests.runner import jobspecs as J

pytestmark = pytest.mark.functional

# stdout and stderr in turn, far enough apart that capture order is write order on a loaded machine.
TURNS = (
    "import sys, time\n"
    "for i in range(4):\n"
    "    print(f'out {i}', flush=True); time.sleep(0.3)\n"
    "    print(f'err {i}', file=sys.stderr, flush=True); time.sleep(0.3)\n"
)
MERGED = b"".join(b"out %d\nerr %d\n" % (i, i) for i in range(4))
STAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z "


@pytest.fixture(scope="module")
def turns(agent: AgentProcess) -> dict[str, Any]:
    """A finished allocation whose task wrote both streams in turn."""
    alloc = register(agent, J.job("turns", J.python("t", TURNS)))[0]
    wait_dead(agent, alloc["ID"])
    return alloc


def test_all_merges_both_streams_in_write_order(agent: AgentProcess, turns: dict[str, Any]) -> None:
    assert run("alloc", "logs", "-all", turns["ID"], agent=agent).stdout == MERGED


def test_grep_keeps_the_matching_lines_on_the_agent(agent: AgentProcess, turns: dict[str, Any]) -> None:
    assert ok("alloc", "logs", "-grep", "out [13]", turns["ID"], agent=agent) == "out 1\nout 3\n"
    assert ok("alloc", "logs", "-all", "-grep", "[02]$", turns["ID"], agent=agent) == (
        "out 0\nerr 0\nout 2\nerr 2\n"
    )


def test_bad_pattern_is_the_agents_400(agent: AgentProcess, turns: dict[str, Any]) -> None:
    text = fails("alloc", "logs", "-grep", "(", turns["ID"], agent=agent)
    assert "400" in text and "invalid filter pattern" in text


def test_n_is_exact_with_timestamps(agent: AgentProcess, turns: dict[str, Any]) -> None:
    lines = ok("alloc", "logs", "-timestamps", "-n", "2", "-stderr", turns["ID"], agent=agent).splitlines()
    assert len(lines) == 2
    assert re.fullmatch(STAMP + "err 2", lines[0]) and re.fullmatch(STAMP + "err 3", lines[1])


def test_since_selects_by_capture_time(agent: AgentProcess, turns: dict[str, Any]) -> None:
    assert run("alloc", "logs", "-all", "-since", "1h", turns["ID"], agent=agent).stdout == MERGED
    future = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
    assert ok("alloc", "logs", "-since", future, turns["ID"], agent=agent) == ""


def test_flags_that_cannot_combine_are_refused_before_any_request(agent: AgentProcess) -> None:
    result = run(
        "alloc", "logs", "-c", "10", "-grep", "x", "00000000-0000-0000-0000-000000000000", agent=agent
    )
    assert result.returncode == 1 and "-c cannot be used with -grep" in err(result)
    result = run("alloc", "logs", "-all", "-stderr", "00000000", agent=agent)
    assert result.returncode == 1 and "-all cannot be used with -stdout or -stderr" in err(result)


# -- job logs -------------------------------------------------------------------------------------------

CHORUS = (
    "import os\n"
    "idx = os.environ['NOMAD_ALLOC_INDEX']\n"
    "for i in range(3): print(f'{os.environ[\"NOMAD_TASK_NAME\"]} {idx} {i}', flush=True)\n"
)


def test_job_logs_prefix_every_line_with_its_allocation_and_task(agent: AgentProcess) -> None:
    allocs = register(agent, J.job("chorus-cli", J.python("a", CHORUS), count=2))
    for alloc in allocs:
        wait_dead(agent, alloc["ID"])
    by_index = {int(a["Name"].rsplit("[", 1)[1].rstrip("]")): a["ID"] for a in allocs}
    want = {f"{by_index[k][:8]}/a: a {k} {i}" for k in (0, 1) for i in range(3)}
    lines = ok("job", "logs", "-all-allocs", "chorus-cli", agent=agent).splitlines()
    assert sorted(lines) == sorted(want)
    # A prefix of the job's ID works, and -grep filters on the agent.
    grepped = ok("job", "logs", "-all-allocs", "-grep", " 2$", "chorus-c", agent=agent).splitlines()
    assert sorted(grepped) == sorted(line for line in want if line.endswith(" 2"))
    # Stopped allocations are left out without -all-allocs.
    assert ok("job", "logs", "chorus-cli", agent=agent) == ""
    coloured = ok("job", "logs", "-all-allocs", "-force-color", "chorus-cli", agent=agent)
    assert coloured.count("\x1b[0m") == 6 and re.sub(r"\x1b\[\d+m", "", coloured).splitlines() == lines


def test_job_logs_follow_ends_with_the_job(agent: AgentProcess) -> None:
    ticker = "i=0; while :; do echo tick $i; i=$((i+1)); sleep 0.2; done"
    alloc = register(agent, J.job("ticker-cli", J.sh("t", ticker), type_="service"))[0]
    with subprocess.Popen(
        [sys.executable, "-m", "outrider", "job", "logs", "-f", "ticker-cli"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=cli_env(agent),
    ) as proc:
        try:
            assert proc.stdout is not None and proc.stderr is not None
            first = proc.stdout.readline()
            assert first.startswith(f"{alloc['ID'][:8]}/t: tick ".encode())
            with httpx.Client(base_url=agent.url, timeout=10) as http:
                assert http.delete("/v1/job/ticker-cli").status_code == 200
            # The agent ends the stream once the job is stopped and its allocation drained.
            assert proc.wait(timeout=30) == 0
            assert b"Traceback" not in proc.stderr.read()
        finally:
            if proc.poll() is None:
                proc.kill()
