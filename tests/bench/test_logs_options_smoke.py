"""The log options benchmark runs end to end on small logs and prints its table.

Only completion (which includes its own checks: the agent's answers equal ``tail``'s and
``grep``'s bytes, and ``since`` selects exactly the final part) and the table's shape are
checked, never speed.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_logs_options_bench_runs_and_prints_its_table() -> None:
    missing = [tool for tool in ("curl", "tail", "grep") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} missing")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.logs_options",
            "--sizes-mib",
            "1,2",
            "--runs",
            "1",
            "--allocs",
            "2",
            "--follow-seconds",
            "1",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    rows = [line for line in proc.stdout.splitlines() if line.startswith("| ")]
    assert rows[0].startswith("| log | measure | Outrider | tool |")
    for size in ("1 MiB", "2 MiB"):
        measures = [row for row in rows if row.startswith(f"| {size} ")]
        assert len(measures) == 4, rows
    follows = [row for row in rows if row.startswith("| follow |")]
    assert len(follows) == 2 and all("p50 / p99" in row for row in follows)
