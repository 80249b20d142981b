"""The micro-benchmarks (``bench/micro``, pytest-benchmark): each native piece against its pure twin."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench.context import Context, Scenario
from bench.model import Row, Side
from bench.tools import ToolError

MICRO_DIR = Path(__file__).resolve().parent.parent / "micro"
_TIMING = {
    "quick": ["--benchmark-max-time=0.1", "--benchmark-min-rounds=5"],
    "full": ["--benchmark-max-time=0.5", "--benchmark-min-rounds=5"],
}


def _pytest(args: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "pytest", str(MICRO_DIR), "-q", "-p", "no:cacheprovider", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=MICRO_DIR.parent.parent)


def measure(ctx: Context, server: str) -> list[Row]:
    mode = ctx.plan.micro
    if mode == "smoke":
        # Each benchmark body once, untimed: proves they still run and agree with the twin.
        proc = _pytest(["--benchmark-disable"], 300)
        if proc.returncode != 0:
            raise ToolError(f"micro-benchmarks failed:\n{proc.stdout[-3000:]}")
        passed = re.search(r"(\d+) passed", proc.stdout)
        count = float(passed.group(1)) if passed else 0.0
        return [
            Row(
                "micro",
                "all benchmark bodies, once, untimed",
                "passed",
                "tests",
                "higher",
                Side("native+pure", [count]),
            )
        ]
    out = ctx.ws.root / "micro.json"
    proc = _pytest(["--benchmark-only", f"--benchmark-json={out}", *_TIMING[mode]], 600)
    if proc.returncode != 0:
        raise ToolError(f"micro-benchmarks failed:\n{proc.stdout[-3000:]}")
    return rows_from(json.loads(out.read_text()))


def rows_from(data: dict[str, Any]) -> list[Row]:
    """One row per benchmark group: native calls per second against pure calls per second."""
    groups: dict[str, dict[str, dict[str, Any]]] = {}
    for bench in data["benchmarks"]:
        impl = "native" if "[native" in bench["name"] else "pure"
        groups.setdefault(bench["group"] or bench["name"], {})[impl] = bench
    rows = []
    for group, impls in groups.items():
        native, pure = impls.get("native"), impls.get("pure")
        if pure is None:
            continue
        stats = {
            k: {s: v["stats"][s] for s in ("min", "median", "mean", "stddev", "rounds")}
            for k, v in impls.items()
        }
        identical = all(v["extra_info"].get("identical_to_pure") for v in impls.values())
        rows.append(
            Row(
                scenario="micro",
                case=group,
                metric="calls per second (1 / median)",
                unit="calls/s",
                better="higher",
                outrider=Side("native", [1 / native["stats"]["median"]] if native else []),
                peer=Side("pure-Python twin", [1 / pure["stats"]["median"]]),
                checks={"identical_to_pure": identical, "stats_seconds": stats},
                notes="" if native else "native module not built",
            )
        )
    return rows


SCENARIO = Scenario(
    name="micro",
    title="micro-benchmarks: native core against its pure-Python twins",
    peer="the pure-Python twin of each native module",
    needs=(),
    per_server=False,
    measure=measure,
    about=(
        "pytest-benchmark over `bench/micro/test_bench_*.py`: frame encoding (64 B to 1 MiB), tail "
        "reads (16 MiB in 64 KiB reads), a follower's wake-ups (check, then read 256 B), content sniffing, FileMode strings, the safe open beneath "
        "an alloc dir, directory listings (16 entries), and random positional reads. Each body runs on both twins and records in "
        "`extra_info` that the outputs are identical. Also runnable alone: "
        "`python -m pytest bench/micro --benchmark-only`."
    ),
)
