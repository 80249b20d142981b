"""The flags every API command takes, as Nomad's ``command/meta.go`` defines them.

``-address``, ``-token``, ``-namespace`` and ``-region`` (with ``NOMAD_ADDR``,
``NOMAD_TOKEN``, ``NOMAD_NAMESPACE`` and ``NOMAD_REGION``), ``-no-color`` and
``-force-color``. Each is accepted with one dash or two, after the command as in
Nomad (``outrider alloc logs -address=http://h:4646 ID``) or before it
(``outrider -address=http://h:4646 alloc logs ID``); a flag beats its variable,
and a flag after the command beats the same flag before it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

import click

from outrider.cli.client import DEFAULT_ADDRESS, Client, Settings
from outrider.cli.ui import UI, wants_color

F = TypeVar("F", bound=Callable[..., Any])

_META_KEY = "outrider.globals"
GENERAL = "general"  # marks a parameter as one of the general options in help

CONTEXT_SETTINGS: dict[str, Any] = {
    "help_option_names": ["-h", "-help", "--help"],
    # A fixed width keeps help identical on every terminal (the golden files depend on it).
    "terminal_width": 100,
    "max_content_width": 100,
}

# (name, env variable, metavar, help)
_VALUE_OPTIONS = (
    ("address", "NOMAD_ADDR", "ADDR", f"The agent's HTTP address (NOMAD_ADDR; default {DEFAULT_ADDRESS})."),
    ("token", "NOMAD_TOKEN", "SECRET", "The secret ID of an ACL token (NOMAD_TOKEN)."),
    ("namespace", "NOMAD_NAMESPACE", "NS", "The target namespace (NOMAD_NAMESPACE)."),
    ("region", "NOMAD_REGION", "REGION", "The target region (NOMAD_REGION)."),
)
_FLAG_OPTIONS = (
    ("no-color", "Never colour the output (as NO_COLOR does)."),
    ("force-color", "Colour the output even when it is not a terminal."),
)


def _remember(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    # Context.meta is shared by a context and every context nested in it, so a
    # leaf's flag, parsed after the root's, overrides it.
    if value is not None and value is not False and param.name is not None:
        ctx.meta.setdefault(_META_KEY, {})[param.name] = value


def general_options(f: F) -> F:
    """Add the general options to a command (or to the root group)."""
    for name, _flag in reversed(_FLAG_OPTIONS):
        f = click.option(
            f"-{name}",
            f"--{name}",
            name.replace("-", "_"),
            is_flag=True,
            default=False,
            expose_value=False,
            callback=_remember,
            help=_flag,
        )(f)
    for name, _env, metavar, text in reversed(_VALUE_OPTIONS):
        f = click.option(
            f"-{name}", f"--{name}", name, metavar=metavar, expose_value=False, callback=_remember, help=text
        )(f)
    return f


def verbose_option(help_text: str = "Show full IDs.") -> Callable[[F], F]:
    """``-verbose``: full IDs instead of their first eight characters."""
    return click.option("-verbose", "--verbose", "verbose", is_flag=True, help=help_text)


def alloc_task_arguments(task_help: str) -> Callable[[F], F]:
    """``ALLOC [TASK]`` and ``-task TASK`` (Nomad takes the task either way; the flag wins)."""

    def decorate(f: F) -> F:
        f = click.argument("task", required=False)(f)
        f = click.argument("alloc_id", metavar="ALLOC")(f)
        return click.option("-task", "--task", "task_flag", metavar="TASK", help=task_help)(f)

    return decorate


def job_option(f: F) -> F:
    """``-job``: the ALLOC argument is a job ID, and one of its allocations is used (Nomad's ``-job``)."""
    return click.option(
        "-job", "--job", "by_job", is_flag=True, help="ALLOC is a job ID: use one of its allocations."
    )(f)


def json_option(f: F) -> F:
    """``-json``: print the API's object instead of the table."""
    return click.option("-json", "--json", "as_json", is_flag=True, help="Print the answer as JSON.")(f)


def _given(ctx: click.Context) -> dict[str, Any]:
    return dict(ctx.meta.get(_META_KEY, {}))


def settings_of(ctx: click.Context) -> Settings:
    """The global flags resolved: flag, then environment variable, then default."""
    given = _given(ctx)
    values = {}
    for name, env, _metavar, _help in _VALUE_OPTIONS:
        value = given.get(name)
        values[name] = value if value is not None else os.environ.get(env, "")
    return Settings(
        address=values["address"] or DEFAULT_ADDRESS,
        token=values["token"],
        namespace=values["namespace"],
        region=values["region"],
    )


def client_of(ctx: click.Context) -> Client:
    """The HTTP client for this invocation (made once per command)."""
    cached = ctx.meta.get("outrider.client")
    if cached is None:
        cached = ctx.meta["outrider.client"] = Client(settings_of(ctx))
    return cached


def ui_of(ctx: click.Context) -> UI:
    """The output writer for this invocation."""
    cached = ctx.meta.get("outrider.ui")
    if cached is None:
        import sys

        given = _given(ctx)
        no, force = bool(given.get("no_color")), bool(given.get("force_color"))
        cached = ctx.meta["outrider.ui"] = UI(
            wants_color(sys.stdout, no, force), wants_color(sys.stderr, no, force)
        )
    return cached


class OrderedHelp(click.Command):
    """Help option names in the order given (click builds them from a set, so help would vary between runs)."""

    def get_help_option_names(self, ctx: click.Context) -> list[str]:
        taken = {opt for param in self.params for opt in (*param.opts, *param.secondary_opts)}
        return [name for name in ctx.help_option_names if name not in taken]


class ApiCommand(OrderedHelp):
    """A command that talks to an agent: its help lists the general options apart, as Nomad's does."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("context_settings", CONTEXT_SETTINGS)
        super().__init__(*args, **kwargs)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        given = list(args)  # the parser consumes the list it is handed
        try:
            return super().parse_args(ctx, args)
        except click.NoSuchOption as exc:
            # "-bogus" fails as an unknown short option "-b"; name the word that was typed.
            word = next((a.split("=", 1)[0] for a in given if _single_dash_word(a, exc.option_name)), None)
            if word is None:
                raise
            raise click.NoSuchOption(word, ctx=ctx) from None

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        general_names = {name for name, *_ in _VALUE_OPTIONS} | {
            n.replace("-", "_") for n, _ in _FLAG_OPTIONS
        }
        own, general = [], []
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is None:
                continue
            (general if param.name in general_names else own).append(record)
        if own:
            with formatter.section("Options"):
                formatter.write_dl(own)
        if general:
            with formatter.section("General Options"):
                formatter.write_dl(general)


def _single_dash_word(arg: str, short: str) -> bool:
    name = arg.split("=", 1)[0]
    return len(short) == 2 and name.startswith(short) and not name.startswith("--") and len(name) > 2


def api_command(name: str, **kwargs: Any) -> Callable[[F], click.Command]:
    """Declare a command that takes the general options."""

    def decorate(f: F) -> click.Command:
        return click.command(name, cls=ApiCommand, **kwargs)(general_options(f))

    return decorate
