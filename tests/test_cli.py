"""The command line as a user runs it: version, start-up, clean shutdown, state kept across restarts."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from outrider import _impl
from tests.conftest import start_agent


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        [sys.executable, "-m", "outrider", *args],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, **(env or {})},
    )


def test_version_names_the_core() -> None:
    out = run_cli("version").stdout
    assert out.startswith("Outrider v")
    assert f"native core: {_impl.core_name()}" in out
    assert "native core: pure-python" in run_cli("version", env={"OUTRIDER_PURE": "1"}).stdout


def test_missing_data_dir_is_a_clear_error() -> None:
    result = run_cli("agent")
    assert result.returncode == 2
    assert "--data-dir" in result.stderr


@pytest.mark.functional
def test_acl_enabled_starts_with_the_acl_api_on(tmp_path: Path) -> None:
    import httpx

    proc = start_agent(tmp_path, "--acl-enabled")
    try:
        assert httpx.get(proc.url + "/v1/acl/token/self", timeout=10).json()["AccessorID"] == "anonymous"
        assert httpx.get(proc.url + "/v1/acl/policies", timeout=10).json() == []
    finally:
        assert proc.stop() == 0


@pytest.mark.functional
def test_node_id_survives_restart_and_sigint_stops_cleanly(tmp_path: Path) -> None:
    first = start_agent(tmp_path)
    try:
        import httpx

        node_id = httpx.get(first.url + "/v1/agent/self", timeout=10).json()["stats"]["client"]["node_id"]
    finally:
        assert first.stop(signal.SIGINT) == 0
    assert "Outrider agent stopped" in "".join(first.output)
    second = start_agent(tmp_path)
    try:
        import httpx

        again = httpx.get(second.url + "/v1/agent/self", timeout=10).json()["stats"]["client"]["node_id"]
    finally:
        assert second.stop() == 0
    assert again == node_id


def test_dev_mode_temp_dir_is_removed(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "outrider", "agent", "-dev", "-http-port=0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert "HTTP API at http://127.0.0.1:" in line
    import httpx

    data_dir = httpx.get(line.rsplit(" ", 1)[1].strip() + "/v1/agent/self", timeout=10).json()["config"][
        "DataDir"
    ]
    assert Path(data_dir).is_dir()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(20) == 0
    proc.stdout.close()
    assert not Path(data_dir).exists()
