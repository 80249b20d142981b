"""Positions and the three ways HCL v1 fails: a positioned error, a plain error, a recovered panic."""

from __future__ import annotations

from typing import NamedTuple


class Pos(NamedTuple):
    """``token.Pos``: a byte offset, a 1-based line and a 1-based column counted in runes."""

    offset: int = 0
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        # An invalid position (line 0, as every JSON-sourced node has) prints as "-".
        return f"{self.line}:{self.column}" if self.line > 0 else "-"

    def go_struct(self) -> str:
        """The ``%+v`` rendering Go uses inside ``Unknown token: ...`` messages."""
        return f"{{Filename: Offset:{self.offset} Line:{self.line} Column:{self.column}}}"


class HCLError(Exception):
    """A parse or decode failure; ``str()`` is the text HCL v1 gives."""


class PosError(HCLError):
    """``parser.PosError``: ``At <line>:<col>: <err>``."""

    def __init__(self, pos: Pos, err: str) -> None:
        super().__init__(f"At {pos}: {err}")
        self.pos = pos
        self.err = err


class GoPanic(HCLError):
    """What panics inside the Go parser or decoder; Nomad recovers these and reports the text."""


INDEX_OUT_OF_RANGE = "runtime error: index out of range [0] with length 0"
