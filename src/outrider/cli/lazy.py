"""A command group that imports a subcommand's module only when that subcommand runs.

``outrider alloc logs`` must start fast, so the tree is a table of names, one-line
summaries and ``module:attribute`` locations; ``--help`` lists the summaries
without importing anything, and running a command imports its module alone.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

import click

from outrider.cli.options import CONTEXT_SETTINGS, OrderedHelp


class LazyGroup(click.Group, OrderedHelp):
    """``lazy`` maps a name to ``("module:attribute", summary)``; ``add_command`` adds eager ones."""

    def __init__(self, *args: Any, lazy: Mapping[str, tuple[str, str]], **kwargs: Any) -> None:
        kwargs.setdefault("context_settings", CONTEXT_SETTINGS)
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        entry = self.lazy.get(cmd_name)
        if entry is None:
            return None
        module, _, attr = entry[0].partition(":")
        command = getattr(importlib.import_module(module), attr)
        if not isinstance(command, click.Command):
            raise TypeError(f"{entry[0]} is not a click command")
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, self._summary(ctx, name)) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def _summary(self, ctx: click.Context, name: str) -> str:
        if name in self.lazy:
            return self.lazy[name][1]
        return self.commands[name].get_short_help_str(limit=90)


def group(name: str, help_text: str, lazy: Mapping[str, tuple[str, str]]) -> LazyGroup:
    """A subcommand group such as ``alloc`` or ``acl token``."""
    return LazyGroup(name, help=help_text, lazy=lazy, no_args_is_help=True)
