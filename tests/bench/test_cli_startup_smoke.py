"""The CLI start-up benchmark runs and reports, and the CLI path imports none of the agent's stack.

Only the shape of the report and the list of imported modules are checked, never speed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_cli_startup_bench_reports_and_keeps_the_agent_out(tmp_path: Path) -> None:
    out = tmp_path / "startup.json"
    proc = subprocess.run(
        [sys.executable, "-m", "bench.cli_startup", "--runs", "2", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads(out.read_text())
    assert result["forbidden_imported"] == []
    assert set(result["timings_ms"]) == {
        "python -c pass",
        "outrider --help",
        "outrider alloc logs -h",
        "outrider alloc logs ID (refused)",
    }
    assert all(len(samples) == 2 and min(samples) > 0 for samples in result["timings_ms"].values())
    assert len(result["top_imports"]) == 10
    assert "| `outrider alloc logs ID (refused)` |" in proc.stdout
    assert "Agent modules imported on the CLI path: none" in proc.stdout
