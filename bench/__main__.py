"""``python -m bench``: run Outrider's benchmark suite and write RESULTS.md and results.json.

Examples::

    python -m bench                      # the full suite (< 15 min), every installed server
    python -m bench --quick              # < 2 min, uvicorn (the default) only, smaller files
    python -m bench --smoke --out /tmp/b # a few seconds per scenario; what CI runs
    python -m bench --scenarios cat,readat --servers uvicorn,hypercorn
"""

from __future__ import annotations

import argparse
import shlex
import sys
import tempfile
from pathlib import Path

from bench.plan import PLANS
from bench.runner import DEFAULT_SERVER, installed_servers, run_suite
from bench.scenarios import ALL, BY_NAME

BENCH_DIR = Path(__file__).resolve().parent


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Outrider's benchmark suite: end-to-end scenarios against real peers, and micro-benchmarks.",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="smaller files and shorter runs (< 2 minutes)")
    mode.add_argument(
        "--smoke", action="store_true", help="a few seconds per scenario; proves the suite runs"
    )
    parser.add_argument("--scenarios", metavar="A,B", help="comma-separated scenario names (default: all)")
    parser.add_argument(
        "--servers",
        metavar="A,B",
        help="ASGI servers for the HTTP scenarios (default: every installed one; --quick: uvicorn, the default)",
    )
    parser.add_argument(
        "--out",
        metavar="DIR",
        type=Path,
        help="where RESULTS.md and results.json go (default: bench/ for the full suite, else a temp dir)",
    )
    parser.add_argument("--list", action="store_true", help="list the scenarios and exit")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.list:
        for s in ALL:
            print(f"{s.name:16} {s.title} (peer: {s.peer})")
        return 0
    mode = "smoke" if args.smoke else "quick" if args.quick else "full"
    names = args.scenarios.split(",") if args.scenarios else [s.name for s in ALL]
    unknown = [n for n in names if n not in BY_NAME]
    if unknown:
        print(f"unknown scenario(s): {', '.join(unknown)}; see --list", file=sys.stderr)
        return 2
    installed = installed_servers()
    if args.servers:
        servers = args.servers.split(",")
        absent = [s for s in servers if s not in installed]
        if absent:
            print(
                f"server(s) not installed: {', '.join(absent)} (installed: {', '.join(installed)})",
                file=sys.stderr,
            )
            return 2
    else:
        servers = [DEFAULT_SERVER] if mode == "quick" else installed
    out = args.out or (
        BENCH_DIR if mode == "full" else Path(tempfile.gettempdir()) / f"outrider-bench-{mode}"
    )
    command = shlex.join(["python", "-m", "bench", *(sys.argv[1:] if argv is None else argv)])
    outcomes = run_suite(PLANS[mode], [BY_NAME[n] for n in names], servers, out, command)
    return 1 if any(o.status == "failed" for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
