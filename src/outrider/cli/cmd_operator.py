"""``outrider operator api`` (Nomad's ``command/operator_api.go``) and ``outrider system gc``."""

from __future__ import annotations

import os
import stat
import sys

import click

from outrider.cli.client import Client
from outrider.cli.cmd_logs import copy
from outrider.cli.errors import CLIError
from outrider.cli.options import api_command, client_of, ui_of


@api_command("api", short_help="Call any HTTP API path, with a body from stdin.")
@click.option(
    "-X",
    "--method",
    "method",
    metavar="METHOD",
    help="The HTTP method (default: POST with a body on stdin, else GET).",
)
@click.option(
    "-H",
    "--header",
    "headers",
    multiple=True,
    metavar="'KEY: VALUE'",
    help="An extra request header (repeatable).",
)
@click.option(
    "-filter", "--filter", "filter_expr", metavar="EXPR", help="A filter expression, sent as ?filter=."
)
@click.option(
    "-verbose",
    "--verbose",
    "verbose",
    is_flag=True,
    help="Show the request and the response headers on stderr.",
)
@click.argument("path", metavar="PATH")
@click.pass_context
def api(
    ctx: click.Context,
    method: str | None,
    headers: tuple[str, ...],
    filter_expr: str | None,
    verbose: bool,
    path: str,
) -> int:
    """Send a request to PATH (such as /v1/allocations) and write the answer's body as it arrives.

    When standard input is a pipe or a file its content is the request body, as in
    `echo '{"Meta": {"rack": "r2"}}' | outrider operator api /v1/client/metadata`.
    The namespace, region and token of the general options are added unless the
    path or a -H header already sets them. The exit code is 1 for an error status.
    """
    client, ui = client_of(ctx), ui_of(ctx)
    sent: dict[str, str] = {}
    for header in headers:
        key, sep, value = header.partition(":")
        if not sep or not key.strip():
            raise click.BadParameter(f"headers are 'Key: Value', got {header!r}", param_hint="-H")
        sent[key.strip()] = value.strip()
    body = _stdin_body()
    method = (method or ("POST" if body is not None else "GET")).upper()
    target, params = _split(path, client)
    if filter_expr:
        params["filter"] = filter_expr
    if verbose:
        ui.warn(f"> {method} {client.address}{target}")
        for key, value in sent.items():
            ui.warn(f"> {key}: {value}")
    try:
        response = client.request(method, target, params, body=body, headers=sent, timeout=None, scoped=False)
    except CLIError as exc:
        from outrider.cli.errors import APIError

        if isinstance(exc, APIError):
            # The body is the answer the person asked for, error or not.
            sys.stdout.write(exc.text + "\n")
            raise CLIError(f"{method} {target} answered {exc.status}", exc.hint) from None
        raise
    with response:
        if verbose:
            ui.warn(f"< HTTP {response.status} {response.raw.reason}")
            for key, value in response.raw.getheaders():
                ui.warn(f"< {key}: {value}")
        copy(response.chunks(), sys.stdout.buffer)
    return 0


def _stdin_body() -> bytes | None:
    """Standard input's bytes when it is a pipe or a file (not a terminal), as Nomad's command reads it."""
    try:
        mode = os.fstat(sys.stdin.fileno()).st_mode
    except (OSError, ValueError, AttributeError):
        return None  # no standard input at all
    if stat.S_ISCHR(mode):
        return None
    return sys.stdin.buffer.read()


def _split(path: str, client: Client) -> tuple[str, dict[str, str]]:
    """The request target and its query, with the general options' namespace and region added when absent."""
    from urllib.parse import parse_qsl, urlsplit

    parts = urlsplit(
        path if "://" in path else "http://agent" + (path if path.startswith("/") else "/" + path)
    )
    if "://" in path and f"{parts.scheme}://{parts.netloc}" != client.address:
        raise CLIError(
            f"{path} is not on the agent at {client.address}",
            "give a path such as /v1/allocations, or set NOMAD_ADDR (or -address) to that agent",
        )
    params = dict(parse_qsl(parts.query, keep_blank_values=True))
    if client.settings.namespace:
        params.setdefault("namespace", client.settings.namespace)
    if client.settings.region:
        params.setdefault("region", client.settings.region)
    return parts.path or "/", params


@api_command("gc", short_help="Collect the node's terminal allocations.")
@click.pass_context
def system_gc(ctx: click.Context) -> None:
    """Collect every terminal allocation on the agent's node (its directories and state).

    Nomad's `system gc` asks the servers to collect jobs, evaluations and
    allocations; an Outrider agent has no servers, so this collects on the node
    (`/v1/client/gc`).
    """
    client_of(ctx).request("PUT", "/v1/client/gc").close()
    ui_of(ctx).out("Garbage collection of terminal allocations started")
