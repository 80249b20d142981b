"""What a benchmark produces: measured sides, result rows and per-scenario outcomes."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any, Literal

Better = Literal["higher", "lower"]
Status = Literal["ok", "unavailable", "failed"]


@dataclass
class Side:
    """One contender of a comparison and every sample measured for it."""

    label: str
    samples: list[float] = field(default_factory=list)

    @property
    def median(self) -> float | None:
        return statistics.median(self.samples) if self.samples else None

    def to_json(self) -> dict[str, Any]:
        return {"label": self.label, "median": self.median, "samples": self.samples}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Side:
        return cls(data["label"], list(data["samples"]))


@dataclass
class Row:
    """One measured quantity: Outrider against its peer, both medians of interleaved runs."""

    scenario: str
    case: str
    metric: str
    unit: str
    better: Better
    outrider: Side
    peer: Side | None = None
    server: str = "-"
    checks: dict[str, Any] = field(default_factory=dict)
    notes: str = ""
    peer_fixed: bool = False
    """The peer does not depend on the server (nginx), so ratios compare servers fairly."""

    @property
    def ratio(self) -> float | None:
        """Outrider's median divided by the peer's (the headline number)."""
        if self.peer is None:
            return None
        mine, theirs = self.outrider.median, self.peer.median
        if mine is None or not theirs:
            return None
        return mine / theirs

    def to_json(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "case": self.case,
            "server": self.server,
            "metric": self.metric,
            "unit": self.unit,
            "better": self.better,
            "outrider": self.outrider.to_json(),
            "peer": None if self.peer is None else self.peer.to_json(),
            "ratio": self.ratio,
            "checks": self.checks,
            "notes": self.notes,
            "peer_fixed": self.peer_fixed,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Row:
        return cls(
            scenario=data["scenario"],
            case=data["case"],
            metric=data["metric"],
            unit=data["unit"],
            better=data["better"],
            outrider=Side.from_json(data["outrider"]),
            peer=Side.from_json(data["peer"]) if data["peer"] else None,
            server=data["server"],
            checks=data["checks"],
            notes=data["notes"],
            peer_fixed=data.get("peer_fixed", False),
        )


@dataclass
class Outcome:
    """How one scenario went under one server."""

    scenario: str
    server: str
    status: Status
    reason: str = ""
    rows: list[Row] = field(default_factory=list)
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "server": self.server,
            "status": self.status,
            "reason": self.reason,
            "seconds": round(self.seconds, 2),
            "rows": [row.to_json() for row in self.rows],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Outcome:
        rows = [Row.from_json(r) for r in data["rows"]]
        return cls(data["scenario"], data["server"], data["status"], data["reason"], rows, data["seconds"])
