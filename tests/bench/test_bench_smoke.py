"""The benchmark suite's smoke pass: each scenario runs for a few seconds and writes well-formed output.

Only completion and the shape of ``results.json``/``RESULTS.md`` are checked,
never speed. A scenario whose endpoint the agent does not serve yet is skipped
with the suite's own reason.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from bench.scenarios import ALL
from bench.tools import which

ROOT = Path(__file__).resolve().parents[2]
RUN_TIMEOUT = 600


def _require_tools() -> None:
    missing = [t for t in ("nginx", "wrk", "curl") if which(t) is None]
    if missing and os.geteuid() != 0:
        pytest.skip(f"{', '.join(missing)} missing and not root, so the suite cannot install them")


def _run_suite(out: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--out", str(out), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
    )
    results = out / "results.json"
    assert results.exists(), f"no results.json (exit {proc.returncode}):\n{proc.stderr[-3000:]}"
    return proc, json.loads(results.read_text())


@pytest.fixture(scope="module")
def smoke(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any], Path]:
    _require_tools()
    out = tmp_path_factory.mktemp("bench-smoke")
    proc, results = _run_suite(out, "--servers", "hypercorn")
    return proc, results, out


def _check_rows(outcome: dict[str, Any]) -> None:
    assert outcome["rows"], f"{outcome['scenario']} produced no rows"
    for row in outcome["rows"]:
        for key in ("scenario", "case", "metric", "unit", "better", "outrider", "server"):
            assert key in row
        assert row["better"] in ("higher", "lower")
        sides = [row["outrider"]] + ([row["peer"]] if row["peer"] else [])
        for side in sides:
            assert isinstance(side["label"], str) and side["label"]
            for value in side["samples"]:
                assert isinstance(value, float | int) and math.isfinite(value) and value >= 0, row
        if not row["notes"].startswith("not available"):
            assert row["outrider"]["samples"], row
        if row["ratio"] is not None:
            assert math.isfinite(row["ratio"]) and row["ratio"] >= 0


@pytest.mark.timeout(RUN_TIMEOUT + 60)
def test_suite_completes_and_writes_report(
    smoke: tuple[subprocess.CompletedProcess[str], dict[str, Any], Path],
) -> None:
    proc, results, out = smoke
    failed = [o for o in results["outcomes"] if o["status"] == "failed"]
    assert not failed, failed
    assert proc.returncode == 0, proc.stderr[-3000:]
    meta = results["meta"]
    assert meta["mode"] == "smoke"
    assert meta["servers"] == ["hypercorn"]
    assert meta["machine"]["cores"] >= 1
    markdown = (out / "RESULTS.md").read_text()
    assert markdown.startswith("# Outrider benchmark results")
    assert "## Reproducing" in markdown
    assert meta["command"] in markdown
    for outcome in results["outcomes"]:
        if outcome["status"] == "ok":
            assert "| " + outcome["rows"][0]["case"] in markdown
    # Progress lines on stderr, one per measured round at least.
    assert "round 1/1" in proc.stderr


@pytest.mark.timeout(RUN_TIMEOUT + 60)
@pytest.mark.parametrize("name", [s.name for s in ALL])
def test_scenario(smoke: tuple[subprocess.CompletedProcess[str], dict[str, Any], Path], name: str) -> None:
    _, results, _ = smoke
    outcomes = [o for o in results["outcomes"] if o["scenario"] == name]
    assert outcomes, f"{name} did not run"
    for outcome in outcomes:
        if outcome["status"] == "unavailable":
            pytest.skip(f"{name}: {outcome['reason']}")
        assert outcome["status"] == "ok", outcome["reason"]
        _check_rows(outcome)


@pytest.mark.timeout(RUN_TIMEOUT + 60)
def test_the_other_server(tmp_path: Path) -> None:
    """The HTTP scenarios also run under hypercorn, the server that is not the default."""
    server = "hypercorn"
    _require_tools()
    proc, results = _run_suite(tmp_path, "--servers", server, "--scenarios", "cat,stream,small_endpoints")
    assert proc.returncode == 0, proc.stderr[-3000:]
    for outcome in results["outcomes"]:
        assert outcome["server"] == server
        if outcome["status"] == "unavailable":
            continue
        assert outcome["status"] == "ok", outcome["reason"]
        _check_rows(outcome)
