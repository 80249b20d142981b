"""The log options Nomad's CLI lacks: ``-all``, ``-since``, ``-timestamps`` and ``-grep``.

They are query parameters of Outrider's logs endpoints (``type=all``, ``since=``,
``timestamps=true``, ``filter=``), applied on the agent. A Nomad agent ignores
query parameters it does not know, so asking one for ``filter=`` would print every
line as if it matched: before using these options the command asks the agent what
it is (``/v1/agent/self`` names Outrider in its config) and refuses, saying so,
when it is not Outrider.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import click

from outrider.cli.client import Client
from outrider.cli.errors import APIError, CLIError

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class LineOptions:
    """The agent-side line options of one ``logs`` command (all unset: Nomad's behaviour)."""

    merged: bool = False
    since: str | None = None
    timestamps: bool = False
    grep: str | None = None

    @property
    def flags(self) -> list[str]:
        """The flags given, as typed (for messages)."""
        given = [("-all", self.merged), ("-since", self.since), ("-timestamps", self.timestamps)]
        given.append(("-grep", self.grep))
        return [flag for flag, value in given if value]

    def params(self) -> dict[str, str]:
        """The query parameters that carry these options (``type`` is the caller's)."""
        params: dict[str, str] = {}
        if self.since:
            params["since"] = self.since
        if self.timestamps:
            params["timestamps"] = "true"
        if self.grep is not None:
            params["filter"] = self.grep
        return params


def line_options(*, merged: bool = True, timestamps: bool = True) -> Callable[[F], F]:
    """Add ``-since``, ``-grep`` and, unless turned off, ``-all`` and ``-timestamps``."""

    def decorate(f: F) -> F:
        f = click.option(
            "-grep",
            "--grep",
            "grep",
            metavar="RE",
            help="Only lines matching RE (RE2 syntax, applied on the agent; needs an Outrider agent).",
        )(f)
        if timestamps:
            f = click.option(
                "-timestamps",
                "--timestamps",
                "timestamps",
                is_flag=True,
                help="Prefix each line with the time it was written (RFC 3339; needs an Outrider agent).",
            )(f)
        f = click.option(
            "-since",
            "--since",
            "since",
            metavar="WHEN",
            help="Only lines written since WHEN: a duration back from now (10m, 1h30m) or an RFC 3339 "
            "time (needs an Outrider agent).",
        )(f)
        if merged:
            f = click.option(
                "-all",
                "--all",
                "merged",
                is_flag=True,
                help="stdout and stderr merged in the order they were written (needs an Outrider agent).",
            )(f)
        return f

    return decorate


def require_outrider(client: Client, flags: list[str]) -> None:
    """Refuse ``flags`` when the agent at the address is not an Outrider agent (it would ignore them).

    Outrider names itself in ``/v1/agent/self`` (``stats.outrider``). A token without
    ``agent:read`` cannot ask: the options are then sent, as the user asked for them.
    """
    if not flags:
        return
    try:
        answer = client.get("/v1/agent/self") or {}
    except APIError as exc:
        if exc.status == 403:
            return
        raise
    stats = answer.get("stats") if isinstance(answer, dict) else None
    if isinstance(stats, dict) and "outrider" in stats:
        return
    raise CLIError(
        f"{', '.join(flags)} {'needs' if len(flags) == 1 else 'need'} an Outrider agent, "
        f"and the agent at {client.address} is not one",
        "leave the option out (pipe the output into grep, or use -tail -n instead of -since)",
    )
