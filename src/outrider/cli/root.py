"""The ``outrider`` command tree and its entry point.

The words are Nomad's (``outrider alloc logs -f ID``), so people who work with
Nomad need nothing new. ``agent`` and ``version`` keep their own parser in
:mod:`outrider.cli.main`; everything else is a click command that talks to an
agent over HTTP. Each command's module is imported only when it runs
(:mod:`outrider.cli.lazy`), which keeps start-up short.

Exit codes: 0 success, 1 error, 2 usage, 130 after Ctrl-C. When the reader of the
output goes away (``| head``) the command ends quietly with 1, as click arranges
for a broken pipe.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any

import click

from outrider.cli.errors import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_USAGE, CLIError
from outrider.cli.lazy import LazyGroup, group
from outrider.cli.options import CONTEXT_SETTINGS, general_options

_PASSTHROUGH: dict[str, Any] = {
    **CONTEXT_SETTINGS,
    "ignore_unknown_options": True,
    "allow_extra_args": True,
    "help_option_names": [],
}


def _legacy(argv: list[str]) -> int:
    from outrider.cli import main as legacy

    return legacy.main(argv)


@click.command("agent", context_settings=_PASSTHROUGH, add_help_option=False)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def agent(args: tuple[str, ...]) -> int:
    """Run the client agent (`outrider agent -h` lists its flags)."""
    return _legacy(["agent", *args])


@click.command("version", context_settings=_PASSTHROUGH, add_help_option=False)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def version(args: tuple[str, ...]) -> int:
    """Print the version and the core in use."""
    return _legacy(["version", *args])


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        ctx.exit(_legacy(["version"]))


JOB = group(
    "job",
    "Submit, inspect and stop jobs.",
    {
        "run": ("outrider.cli.cmd_job:run", "Run a job from a JSON or HCL file and watch it start."),
        "logs": ("outrider.cli.cmd_job_logs:logs", "Print or follow the logs of every allocation of a job."),
        "status": ("outrider.cli.cmd_job:status", "List jobs, or show one job and its allocations."),
        "stop": ("outrider.cli.cmd_job:stop", "Stop a job (and with -purge, forget it)."),
    },
)
ALLOC = group(
    "alloc",
    "Inspect allocations, their files and logs, and control their tasks.",
    {
        "status": ("outrider.cli.cmd_alloc:status", "Show an allocation's status and task events."),
        "logs": ("outrider.cli.cmd_logs:logs", "Print or follow the logs of a task."),
        "fs": ("outrider.cli.cmd_fs:fs", "List, stat, print or follow files in an allocation."),
        "restart": ("outrider.cli.cmd_alloc:restart", "Restart an allocation's tasks in place."),
        "signal": ("outrider.cli.cmd_alloc:signal", "Send a signal to an allocation's tasks."),
        "stats": ("outrider.cli.cmd_alloc:stats", "Show an allocation's resource usage."),
    },
)
NODE_META = group(
    "meta",
    "Read and change the node's metadata.",
    {
        "read": ("outrider.cli.cmd_node:meta_read", "Show the node's metadata."),
        "apply": ("outrider.cli.cmd_node:meta_apply", "Set or unset dynamic node metadata."),
    },
)
NODE = group(
    "node",
    "Inspect the node.",
    {"status": ("outrider.cli.cmd_node:status", "List nodes, or show one node.")},
)
NODE.add_command(NODE_META)
OPERATOR = group(
    "operator",
    "Tools for operators.",
    {"api": ("outrider.cli.cmd_operator:api", "Call any HTTP API path, with a body from stdin.")},
)
SYSTEM = group(
    "system",
    "System maintenance.",
    {"gc": ("outrider.cli.cmd_operator:system_gc", "Collect the node's terminal allocations.")},
)
ACL_POLICY = group(
    "policy",
    "Manage ACL policies.",
    {
        "apply": ("outrider.cli.cmd_acl:policy_apply", "Create or update a policy from a file."),
        "list": ("outrider.cli.cmd_acl:policy_list", "List policies."),
        "info": ("outrider.cli.cmd_acl:policy_info", "Show a policy and its rules."),
        "delete": ("outrider.cli.cmd_acl:policy_delete", "Delete a policy."),
    },
)
ACL_TOKEN = group(
    "token",
    "Manage ACL tokens.",
    {
        "create": ("outrider.cli.cmd_acl:token_create", "Create a token."),
        "list": ("outrider.cli.cmd_acl:token_list", "List tokens."),
        "info": ("outrider.cli.cmd_acl:token_info", "Show a token by its accessor ID."),
        "self": ("outrider.cli.cmd_acl:token_self", "Show the token in use."),
        "delete": ("outrider.cli.cmd_acl:token_delete", "Delete a token."),
    },
)
ACL = group(
    "acl",
    "Bootstrap ACLs and manage policies and tokens.",
    {"bootstrap": ("outrider.cli.cmd_acl:bootstrap", "Create the initial management token.")},
)
ACL.add_command(ACL_POLICY)
ACL.add_command(ACL_TOKEN)


@click.group("outrider", cls=LazyGroup, lazy={}, no_args_is_help=True)
@click.option(
    "-version",
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_version,
    help="Print the version and exit.",
)
@general_options
def cli() -> None:
    """A Nomad-compatible client agent, and a command line that speaks to it (or to Nomad).

    Every command but `agent` and `version` talks to the agent at NOMAD_ADDR (or
    -address). Flags take one dash or two (-address, --address), before or after the
    command. Run `outrider COMMAND -h` for a command's flags.
    """


for _command in (agent, version, JOB, ALLOC, NODE, OPERATOR, SYSTEM, ACL):
    cli.add_command(_command)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return its exit code (never raise, never print a traceback for a user's error)."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        result = cli.main(args, prog_name="outrider", standalone_mode=False)
    except click.exceptions.Abort:
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        sys.stderr.write("\n")
        return EXIT_INTERRUPTED
    except click.UsageError as exc:
        exc.show()
        return EXIT_USAGE
    except click.ClickException as exc:
        exc.show()
        return EXIT_ERROR
    except CLIError as exc:
        _report(exc, args)
        return EXIT_ERROR
    except BrokenPipeError:
        _quiet_stdout()
        return EXIT_ERROR
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _quiet_stdout()
        return EXIT_ERROR
    return result if isinstance(result, int) else 0


def _report(exc: CLIError, args: list[str]) -> None:
    from outrider.cli.ui import UI, wants_color

    no_color = any(a in ("-no-color", "--no-color") for a in args)
    force = any(a in ("-force-color", "--force-color") for a in args)
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _quiet_stdout()
    UI(False, wants_color(sys.stderr, no_color, force)).error(exc.message, exc.hint)


def _quiet_stdout() -> None:
    """After a broken pipe, point stdout at /dev/null so the interpreter's last flush stays silent."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
