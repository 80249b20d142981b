"""``python -m bench.cli_startup``: how long the command line takes to start, and what it imports.

A command line is started many times a day, often in loops, so its start-up is
part of its speed: ``outrider alloc logs`` must be ready in well under 150 ms.
This script measures, on this machine, each in fresh processes (best and median
of ``--runs``):

- the bare interpreter (``python -c pass``), the floor nothing can go under;
- ``outrider --help`` and ``outrider alloc logs -h`` (the command tree and one
  command module, no network);
- ``outrider alloc logs ID`` against a closed loopback port: the whole path up to
  the first connection, which fails at once, so no agent's speed is measured.

Then ``python -X importtime`` of ``alloc logs`` gives the import cost of the CLI
path (the sum over every module it imported beyond the bare interpreter's) and its
ten most expensive modules, and checks that the agent's stack (starlette, uvloop,
uvicorn, hypercorn, the agent itself) stays out of it. The report is Markdown on stdout;
``--json FILE`` also writes every sample.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUDGET_MS = 150.0
FORBIDDEN = (
    "starlette",
    "uvloop",
    "hypercorn",
    "uvicorn",
    "outrider.agent",
    "outrider.http",
    "outrider.runner",
    "hcl2",
)


def _env() -> dict[str, str]:
    src = str(ROOT / "src")
    path = os.environ.get("PYTHONPATH", "")
    return {**os.environ, "PYTHONPATH": src + (os.pathsep + path if path else ""), "NO_COLOR": "1"}


def _closed_port() -> int:
    """A loopback port nothing listens on: bound, then closed, so a connect is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _time(cmd: list[str], runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def _imports(cmd: list[str]) -> dict[str, tuple[int, int]]:
    """``-X importtime``: module -> (self µs, cumulative µs)."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", *cmd], env=_env(), capture_output=True, text=True, check=False
    )
    out: dict[str, tuple[int, int]] = {}
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        parts = line[len("import time:") :].split("|")
        try:
            own, cumulative = int(parts[0]), int(parts[1])
        except ValueError:
            continue  # the header line
        out[parts[2].strip()] = (own, cumulative)
    return out


def measure(runs: int) -> dict[str, object]:
    """Every measurement of the report."""
    cli = [sys.executable, "-m", "outrider"]
    port = _closed_port()
    logs = [
        *cli,
        "alloc",
        "logs",
        "-address",
        f"http://127.0.0.1:{port}",
        "0b8b9e37-0000-4000-8000-000000000000",
    ]
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "outrider --help": [*cli, "--help"],
        "outrider alloc logs -h": [*cli, "alloc", "logs", "-h"],
        "outrider alloc logs ID (refused)": logs,
    }
    timings = {name: _time(cmd, runs) for name, cmd in commands.items()}
    bare = set(_imports(["-c", "pass"]))
    cli_imports = {m: t for m, t in _imports(logs[1:]).items() if m not in bare}
    return {
        "runs": runs,
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg()[0],
        "timings_ms": timings,
        "import_ms": sum(own for own, _ in cli_imports.values()) / 1000,
        "top_imports": sorted(((m, own / 1000) for m, (own, _) in cli_imports.items()), key=lambda x: -x[1])[
            :10
        ],
        "forbidden_imported": sorted(
            m for m in cli_imports if any(m == f or m.startswith(f + ".") for f in FORBIDDEN)
        ),
    }


def report(result: dict[str, object]) -> str:
    """The Markdown report."""
    timings: dict[str, list[float]] = result["timings_ms"]  # type: ignore[assignment]
    bare = min(timings["python -c pass"])
    lines = [
        f"# CLI start-up ({result['runs']} runs each, Python {result['python']})",
        "",
        f"{result['cpus']} CPUs, load average {result['load_average']:.2f} when the runs began "
        "(a loaded machine slows every row, the bare interpreter too).",
        "",
        "| Command | best ms | median ms | over the bare interpreter (best) |",
        "|---|---:|---:|---:|",
    ]
    for name, samples in timings.items():
        extra = "" if name == "python -c pass" else f"+{min(samples) - bare:.1f} ms"
        lines.append(f"| `{name}` | {min(samples):.1f} | {statistics.median(samples):.1f} | {extra} |")
    logs = min(timings["outrider alloc logs ID (refused)"])
    verdict = "within" if logs < BUDGET_MS else "OVER"
    lines += [
        "",
        f"`outrider alloc logs` starts in {logs:.1f} ms at best: {verdict} the {BUDGET_MS:.0f} ms budget.",
        f"Import cost of the CLI path (`-X importtime`, modules beyond the bare interpreter's): "
        f"{result['import_ms']:.1f} ms.",
        "",
        "| Module | self ms |",
        "|---|---:|",
        *(f"| `{m}` | {ms:.1f} |" for m, ms in result["top_imports"]),  # type: ignore[attr-defined]
        "",
        "Agent modules imported on the CLI path: " + (", ".join(result["forbidden_imported"]) or "none"),  # type: ignore[arg-type]
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cli_startup", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20, help="processes started per command (default 20)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write every sample here")
    args = parser.parse_args(argv)
    load = os.getloadavg()[0]
    result = measure(max(1, args.runs))
    result["load_average"] = load
    sys.stdout.write(report(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 1 if result["forbidden_imported"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
