"""A ``--dev`` agent kills its tasks before removing its temporary data directory."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.runner import jobspecs as J
from tests.runner.support import wait_for

pytestmark = pytest.mark.functional


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie our process did not reap is dead too.
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()[0] != "Z"


def test_stopping_a_dev_agent_stops_its_tasks(tmp_path: Path) -> None:
    pid_file = tmp_path / "task.pid"
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "outrider", "agent", "-dev", "-http-port=0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    pid = 0
    try:
        line = proc.stdout.readline()
        assert "HTTP API at http://127.0.0.1:" in line, line
        url = line.rsplit(" ", 1)[1].strip()
        script = f"echo $$ > {pid_file}; exec sleep 300"
        resp = httpx.post(url + "/v1/jobs", json={"Job": J.job("dev", J.sh("t", script))}, timeout=10)
        assert resp.status_code == 200, resp.text
        wait_for(lambda: pid_file.exists() and pid_file.read_text().strip() != "", 20, what="the task")
        pid = int(pid_file.read_text())
        assert _alive(pid)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        proc.stdout.close()
        if pid and _alive(pid):
            os.kill(pid, signal.SIGKILL)
            pytest.fail("the dev agent left its task running")
    assert not _alive(pid)
    assert [p.name for p in tmp_path.iterdir()] == ["task.pid"]
