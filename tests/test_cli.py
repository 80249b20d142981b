"""The command line as a user runs it: version, start-up, clean shutdown, state kept across restarts."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from outrider import _impl
from tests.conftest import AgentProcess, start_agent


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


def _watcher_figures(agent: AgentProcess) -> dict[str, object]:
    """The running agent's watcher backend and poll interval, as ``/v1/metrics`` reports them."""
    import httpx
    from prometheus_client.parser import text_string_to_metric_families

    text = httpx.get(agent.url + "/v1/metrics", params={"format": "prometheus"}, timeout=10).text
    families = {f.name: f for f in text_string_to_metric_families(text)}
    (mode,) = families["outrider_stream_mode"].samples
    (interval,) = families["outrider_stream_poll_interval"].samples
    return {"mode": mode.labels["mode"], "poll_interval": interval.value}


@pytest.mark.functional
def test_environment_settings_reach_the_running_agent(tmp_path: Path) -> None:
    env = {"OUTRIDER_WATCHER": "poll", "OUTRIDER_POLL_INTERVAL": "40ms"}
    polled = start_agent(tmp_path / "polled", env=env)
    try:
        assert _watcher_figures(polled) == {"mode": "poll", "poll_interval": 0.04}
    finally:
        assert polled.stop() == 0
    # A flag beats the environment.
    flagged = start_agent(tmp_path / "flagged", "--watcher", "inotify", env=env)
    try:
        assert _watcher_figures(flagged) == {"mode": "inotify", "poll_interval": 0.04}
    finally:
        assert flagged.stop() == 0


def test_the_core_list_names_every_native_module() -> None:
    ext = Path(__file__).resolve().parent.parent / "ext" / "outrider" / "_native"
    assert sorted(p.stem for p in ext.glob("*.pyx")) == sorted(_impl.NATIVE_MODULES)


@pytest.fixture(scope="module")
def without_sniff(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """An environment whose ``outrider`` is this tree with one native module (``sniff``) not built."""
    import os
    import shutil

    import outrider

    if _impl.load_native("sniff") is None:
        pytest.skip("the native core is not built here")
    root = tmp_path_factory.mktemp("partial")
    shutil.copytree(
        Path(outrider.__file__).parent, root / "outrider", ignore=shutil.ignore_patterns("__pycache__")
    )
    for built in (root / "outrider" / "_native").glob("sniff.*.so"):
        built.unlink()
    return {"PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")]), "OUTRIDER_PURE": ""}


def test_version_names_each_module_that_fell_back(without_sniff: dict[str, str]) -> None:
    out = run_cli("version", env=without_sniff).stdout
    assert "native core: mixed" in out
    twins = [line for line in out.splitlines() if line.startswith("pure-python twin in use:")]
    assert len(twins) == 1 and "outrider._native.sniff (" in twins[0]


@pytest.mark.functional
def test_start_up_warns_about_each_module_that_fell_back(
    tmp_path: Path, without_sniff: dict[str, str]
) -> None:
    agent = start_agent(tmp_path, env=without_sniff)
    try:
        import httpx

        core = httpx.get(agent.url + "/v1/agent/self", timeout=10).json()["stats"]["outrider"]["core"]
    finally:
        assert agent.stop() == 0
    warnings = [line for line in agent.output if "native module outrider._native." in line]
    assert core == "mixed"
    assert len(warnings) == 1 and "outrider._native.sniff is not available" in warnings[0]


@pytest.mark.parametrize(
    ("hcl", "named"),
    [
        ('bind_adr = "127.0.0.1"\n', "'bind_adr'"),
        ("ports { htp = 4646 }\n", "'ports.htp'"),
        ('client {\n  alloc_dirr = "/x"\n}\n', "'client.alloc_dirr'"),
    ],
)
def test_an_unknown_config_key_refuses_to_start(tmp_path: Path, hcl: str, named: str) -> None:
    path = tmp_path / "agent.hcl"
    path.write_text(hcl)
    result = run_cli("agent", "--data-dir", str(tmp_path / "data"), "--http-port=0", "--config", str(path))
    assert result.returncode == 2
    assert "Outrider agent started" not in result.stdout
    assert result.stderr.count("\n") == 1, result.stderr
    assert str(path) in result.stderr and named in result.stderr and "expected one of" in result.stderr


def test_an_unknown_log_level_refuses_to_start(tmp_path: Path) -> None:
    result = run_cli("agent", "--data-dir", str(tmp_path), "--http-port=0", "--log-level", "verbose")
    assert result.returncode == 2
    assert "Outrider agent started" not in result.stdout
    assert "log_level must be one of trace, debug, info, warn, error, got 'verbose'" in result.stderr


@pytest.mark.functional
def test_quoted_response_header_keys_reach_the_answers(tmp_path: Path) -> None:
    import httpx

    path = tmp_path / "agent.hcl"
    path.write_text('http_api_response_headers { "X-Foo" = "bar" }\n')
    proc = start_agent(tmp_path / "data", "--config", str(path))
    try:
        assert httpx.get(proc.url + "/v1/agent/self", timeout=10).headers["X-Foo"] == "bar"
    finally:
        assert proc.stop() == 0


def _one_line_refusal(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode == 2
    assert "Outrider agent started" not in result.stdout
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    for word in words:
        assert word in result.stderr, result.stderr


def test_an_unusable_data_dir_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    result = run_cli("agent", "--data-dir", str(blocker), "--http-port=0")
    _one_line_refusal(result, f"the data directory {blocker} is not usable", "--data-dir")


def test_a_server_without_its_extra_refuses_before_the_ready_line(tmp_path: Path) -> None:
    import os

    shadow = tmp_path / "shadow" / "uvicorn"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('No module named uvicorn')\n")
    path = os.pathsep.join([str(shadow.parent), os.environ.get("PYTHONPATH", "")])
    result = run_cli(
        "agent",
        "--data-dir",
        str(tmp_path / "d"),
        "--http-port=0",
        "--server",
        "uvicorn",
        env={"PYTHONPATH": path},
    )
    _one_line_refusal(result, "--server uvicorn needs the uvicorn package", "pip install 'outrider[uvicorn]'")


def test_a_failed_dev_start_leaves_no_temporary_directory(tmp_path: Path) -> None:
    import socket

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        port = holder.getsockname()[1]
        result = run_cli("agent", "-dev", f"-http-port={port}", env={"TMPDIR": str(tmp_path)})
    _one_line_refusal(result, f"cannot listen on 127.0.0.1:{port}", "--http-port")
    bad = run_cli("agent", "-dev", "-http-port=0", "--log-level", "verbose", env={"TMPDIR": str(tmp_path)})
    _one_line_refusal(bad, "log_level")
    assert list(tmp_path.iterdir()) == []
