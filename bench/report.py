"""Write ``RESULTS.md`` (tables, ratios, how to reproduce) and ``results.json`` (every sample) from one run."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

from bench.machine import one_line
from bench.model import Outcome, Row
from bench.scenarios import BY_NAME


def fmt(value: float | None) -> str:
    """Numbers as a reader wants them: thousands grouped, three significant digits below 100."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 1:
        return f"{value:.3g}" if abs(value) < 10 else f"{value:.1f}"
    return f"{value:.3g}"


def fmt_ratio(row: Row) -> str:
    ratio = row.ratio
    return "n/a" if ratio is None else f"**{ratio:.2f}x**"


def _arrow(row: Row) -> str:
    return "↑" if row.better == "higher" else "↓"


def write_json(path: Path, meta: dict[str, Any], outcomes: list[Outcome]) -> None:
    data = {"meta": meta, "outcomes": [o.to_json() for o in outcomes]}
    path.write_text(json.dumps(data, indent=1, allow_nan=False, default=_json_default) + "\n")


def _json_default(value: object) -> object:
    return str(value)


def _row_line(row: Row, with_server: bool) -> str:
    if row.notes.startswith("not available"):
        value, peer_value, ratio = "not available", "", "n/a"
    else:
        value, peer_value, ratio = (
            fmt(row.outrider.median),
            fmt(row.peer.median if row.peer else None),
            fmt_ratio(row),
        )
    peer = row.peer.label if row.peer else "—"
    if row.peer is None:
        peer_value = "—"
    cells = [row.case]
    if with_server:
        cells.append(row.server)
    cells += [f"{row.metric} ({row.unit}) {_arrow(row)}", value, peer, peer_value, ratio]
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


def _scenario_section(name: str, outcomes: list[Outcome]) -> list[str]:
    scenario = BY_NAME[name]
    lines = [f"### {scenario.title}", "", f"Peer: {scenario.peer}. {scenario.about}", ""]
    rows = [row for o in outcomes for row in o.rows]
    with_server = len({o.server for o in outcomes}) > 1 or scenario.per_server
    if rows:
        head = [
            "Case",
            *(["Server"] if with_server else []),
            "Metric",
            "Outrider",
            "Peer",
            "Peer value",
            "Ratio",
        ]
        lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += [_row_line(row, with_server) for row in rows]
        lines.append("")
        notes = sorted(
            {
                f"{row.case}: {row.notes}"
                for row in rows
                if row.notes and not row.notes.startswith("not available")
            }
        )
        lines += [f"- {note}" for note in notes]
        if notes:
            lines.append("")
    for o in outcomes:
        if o.status != "ok":
            lines += [f"*{o.server}: {o.status}*: {o.reason}", ""]
    return lines


def server_table(outcomes: list[Outcome], servers: list[str]) -> list[str]:
    """Outrider under each server, for every per-server row; the best in bold.

    Where the peer is the same for every server (nginx), the ratio to it is shown and
    decides: it cancels drift in the machine between the servers' turns. Elsewhere
    the medians decide.
    """
    if len(servers) < 2:
        return []
    table: dict[tuple[str, str, str], dict[str, Row]] = {}
    for o in outcomes:
        for row in o.rows:
            if row.server not in servers or not row.outrider.samples:
                continue
            by_server = table.setdefault((row.scenario, row.case, f"{row.metric} ({row.unit})"), {})
            # One row per server: the one against nginx when there is a choice.
            if row.server not in by_server or (row.peer_fixed and not by_server[row.server].peer_fixed):
                by_server[row.server] = row
    lines = [
        "## Servers compared",
        "",
        "Outrider under each server in the same run; the best is in bold. Rows measured against "
        "nginx show the ratio to nginx in parentheses, and that ratio picks the best (it cancels "
        "drift in the machine between the servers' turns); other rows compare medians.",
        "",
        "| Scenario | Case | Metric | " + " | ".join(servers) + " | Best |",
        "|" + "---|" * (len(servers) + 4),
    ]
    for (scenario, case, metric), by_server in table.items():
        if len(by_server) < 2:
            continue
        lines.append(_server_line(scenario, case, metric, by_server, servers))
    lines.append("")
    return lines


def _server_line(scenario: str, case: str, metric: str, by_server: dict[str, Row], servers: list[str]) -> str:
    any_row = next(iter(by_server.values()))
    by_ratio = all(r.peer_fixed and r.ratio is not None for r in by_server.values())
    scores = {
        s: (r.ratio if by_ratio else r.outrider.median)
        for s, r in by_server.items()
        if (r.ratio if by_ratio else r.outrider.median) is not None
    }
    pick = max if any_row.better == "higher" else min
    top = pick(scores.values()) if scores else None
    winners = [s for s, v in scores.items() if v == top]
    cells = []
    for s in servers:
        row = by_server.get(s)
        if row is None:
            cells.append("n/a")
            continue
        text = fmt(row.outrider.median) + (
            f" ({row.ratio:.2f}x)" if by_ratio and row.ratio is not None else ""
        )
        cells.append(f"**{text}**" if len(winners) == 1 and s in winners else text)
    best = winners[0] if len(winners) == 1 else "tie"
    return f"| {scenario} | {case} | {metric} {_arrow(any_row)} | " + " | ".join(cells) + f" | {best} |"


def write_markdown(path: Path, meta: dict[str, Any], outcomes: list[Outcome]) -> None:
    machine = meta["machine"]
    lines = [
        "# Outrider benchmark results",
        "",
        f"Mode `{meta['mode']}`, servers {', '.join(meta['servers'])}, {meta['finished']}, "
        f"{meta['seconds'] / 60:.1f} minutes.",
        "",
        f"- Machine: {one_line(machine)}.",
        f"- Command: `{meta['command']}` (from the repository root).",
        "",
        "Every ratio is Outrider's median divided by the peer's median, both measured in the same "
        "run, interleaved (A B A B ...), over "
        f"{meta['runs']} runs each. ↑ marks rows where higher is better (a ratio above 1 favours "
        "Outrider), ↓ rows where lower is better (a ratio below 1 favours Outrider). Every sample "
        "is in `results.json` beside this file.",
        "",
        "## Results",
        "",
    ]
    by_scenario: dict[str, list[Outcome]] = {}
    for o in outcomes:
        by_scenario.setdefault(o.scenario, []).append(o)
    for name, group in by_scenario.items():
        lines += _scenario_section(name, group)
    lines += server_table(outcomes, meta["servers"])
    lines += [
        "## Reproducing",
        "",
        f"`{meta['command']}` from the repository root, on {one_line(machine)}.",
        "Versions: "
        + ", ".join(f"{k} {v}" for k, v in machine["packages"].items())
        + f"; {machine['nginx']}; {machine['wrk']}.",
        "Native modules: " + ", ".join(f"{k} {v}" for k, v in machine["native_modules"].items()) + ".",
        "nginx runs one worker process (the agent is one process); wrk runs one thread, leaving "
        "the other core to the server under test. All traffic is on 127.0.0.1.",
        "",
    ]
    kept = hand_run_sections(path.read_text()) if path.exists() else ""
    path.write_text("\n".join(lines) + (f"\n{kept}" if kept else ""))


SOAK_HEADING = "## Soak"
"""Written by ``python -m bench.soak --record``; a new suite run keeps it."""
LOGS_HEADING = "## Logs beyond Nomad"
"""Written by ``python -m bench.logs_options --record``; a new suite run keeps it."""

SUITE_HEADINGS = ("## Results", "## Servers compared", "## Reproducing")
"""The sections this report writes; every other ``## `` section (the soak, the fleet and the
logs scripts, run by hand) is kept as it is when the suite's tables are written again."""


def hand_run_sections(text: str) -> str:
    """Every ``## `` section of ``text`` that the suite's report does not write, in order."""
    headings = [line for line in text.splitlines() if line.startswith("## ")]
    return "".join(section(text, h) for h in headings if h not in SUITE_HEADINGS)


def section(text: str, heading: str) -> str:
    """The ``heading`` section of a Markdown text (to the next ``## `` heading), or ``""``."""
    start = text.find(f"\n{heading}\n")
    if start < 0:
        return ""
    end = text.find("\n## ", start + len(heading) + 2)
    return text[start + 1 : None if end < 0 else end + 1]


def replace_section(text: str, heading: str, body: str) -> str:
    """``text`` with its ``heading`` section replaced by ``body`` (appended when absent)."""
    old = section(text, heading)
    if old:
        return text.replace(old, body, 1)
    return text.rstrip("\n") + "\n\n" + body


def main(argv: list[str] | None = None) -> int:
    """``python -m bench.report results.json [RESULTS.md]``: write the Markdown again from saved results."""
    args = sys.argv[1:] if argv is None else argv
    if not args:
        print("usage: python -m bench.report RESULTS_JSON [RESULTS_MD]", file=sys.stderr)
        return 2
    source = Path(args[0])
    target = Path(args[1]) if len(args) > 1 else source.with_name("RESULTS.md")
    data = json.loads(source.read_text())
    write_markdown(target, data["meta"], [Outcome.from_json(o) for o in data["outcomes"]])
    return 0


if __name__ == "__main__":
    sys.exit(main())
