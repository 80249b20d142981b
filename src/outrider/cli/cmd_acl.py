"""``outrider acl bootstrap``, ``acl policy …`` and ``acl token …`` over Nomad's ``/v1/acl/*`` API.

Flags, requests and output follow Nomad's ``command/acl_*.go``, so the commands
work against a Nomad agent as well as an Outrider one.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from outrider.cli.client import path_of
from outrider.cli.errors import CLIError
from outrider.cli.options import api_command, client_of, json_option, ui_of
from outrider.cli.ui import UI, format_time, parse_time, print_json


def _read_file(path: str, what: str) -> str:
    try:
        if path == "-":
            return sys.stdin.read()
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except OSError as exc:
        raise CLIError(f"cannot read the {what} {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise CLIError(f"the {what} {path} is not UTF-8 text") from None


def show_token(ui: UI, token: dict[str, Any]) -> None:
    """Nomad's ``outputACLToken``."""
    pairs: list[tuple[str, Any]] = [
        ("Accessor ID", token.get("AccessorID", "")),
        ("Secret ID", token.get("SecretID", "")),
        ("Name", token.get("Name", "")),
        ("Type", token.get("Type", "")),
        ("Global", str(token.get("Global", False)).lower()),
        ("Create Time", format_time(token.get("CreateTime"))),
        ("Expiry Time", format_time(token.get("ExpirationTime"))),
        ("Create Index", str(token.get("CreateIndex", 0))),
        ("Modify Index", str(token.get("ModifyIndex", 0))),
    ]
    if token.get("Type") == "management":
        pairs += [("Policies", "n/a"), ("Roles", "n/a")]
        ui.kv(pairs)
        return
    pairs.append(("Policies", ",".join(token.get("Policies") or [])))
    ui.kv(pairs)
    ui.out()
    ui.heading("Roles")
    roles = token.get("Roles") or []
    ui.out(
        ui.format_table([["ID", "Name"]] + [[r.get("ID", ""), r.get("Name", "")] for r in roles])
        if roles
        else "<none>"
    )


# -- bootstrap --------------------------------------------------------------------------------------


@api_command("bootstrap", short_help="Create the initial management token.")
@json_option
@click.argument("secret_file", metavar="[FILE]", required=False)
@click.pass_context
def bootstrap(ctx: click.Context, as_json: bool, secret_file: str | None) -> None:
    """Bootstrap the ACL system and print its first management token.

    FILE (or `-` for stdin) holds a secret ID of your own choosing for that token.
    """
    body = None
    if secret_file is not None:
        secret = _read_file(secret_file, "secret file").strip()
        body = {"BootstrapSecret": secret} if secret else None
    token = client_of(ctx).write("POST", "/v1/acl/bootstrap", body, {})
    if as_json:
        print_json(token)
    else:
        show_token(ui_of(ctx), token or {})


# -- policies ---------------------------------------------------------------------------------------


@api_command("apply", short_help="Create or update a policy from a file.")
@click.option("-description", "--description", "description", default="", help="What the policy is for.")
@click.argument("name")
@click.argument("rules_file", metavar="FILE")
@click.pass_context
def policy_apply(ctx: click.Context, description: str, name: str, rules_file: str) -> None:
    """Write policy NAME with the rules in FILE (HCL or JSON; `-` reads stdin)."""
    rules = _read_file(rules_file, "policy file")
    body = {"Name": name, "Description": description, "Rules": rules}
    client_of(ctx).write("POST", path_of("/v1/acl/policy", name), body, {})
    ui_of(ctx).out(f'Successfully wrote "{name}" ACL policy!')


@api_command("list", short_help="List policies.")
@json_option
@click.pass_context
def policy_list(ctx: click.Context, as_json: bool) -> None:
    """List the ACL policies the token may see."""
    policies = client_of(ctx).get("/v1/acl/policies") or []
    ui = ui_of(ctx)
    if as_json:
        print_json(policies)
    elif not policies:
        ui.out("No policies found")
    else:
        ui.table(
            [["Name", "Description"]] + [[p.get("Name", ""), p.get("Description", "")] for p in policies]
        )


@api_command("info", short_help="Show a policy and its rules.")
@json_option
@click.argument("name")
@click.pass_context
def policy_info(ctx: click.Context, as_json: bool, name: str) -> None:
    """Show policy NAME."""
    policy = client_of(ctx).get(path_of("/v1/acl/policy", name)) or {}
    if as_json:
        print_json(policy)
        return
    ui = ui_of(ctx)
    ui.kv(
        [
            ("Name", policy.get("Name", "")),
            ("Description", policy.get("Description", "")),
            ("CreateIndex", str(policy.get("CreateIndex", 0))),
            ("ModifyIndex", str(policy.get("ModifyIndex", 0))),
        ]
    )
    ui.out()
    ui.heading("Rules")
    ui.out()
    ui.out(policy.get("Rules", ""))


@api_command("delete", short_help="Delete a policy.")
@click.argument("name")
@click.pass_context
def policy_delete(ctx: click.Context, name: str) -> None:
    """Delete policy NAME (tokens that name it keep the name, which then grants nothing)."""
    client_of(ctx).write("DELETE", path_of("/v1/acl/policy", name), None, {})
    ui_of(ctx).out(f'Successfully deleted "{name}" ACL policy!')


# -- tokens -----------------------------------------------------------------------------------------


@api_command("create", short_help="Create a token.")
@click.option("-name", "--name", "name", default="", help="A name for the token.")
@click.option(
    "-type",
    "--type",
    "token_type",
    type=click.Choice(["client", "management"]),
    default="client",
    show_default=True,
    help="The token's type.",
)
@click.option(
    "-policy",
    "--policy",
    "policies",
    multiple=True,
    metavar="NAME",
    help="A policy the token grants (repeatable).",
)
@click.option("-global", "--global", "is_global", is_flag=True, help="Replicate the token to every region.")
@click.option(
    "-ttl", "--ttl", "ttl", default="", metavar="DURATION", help="Expire the token after this long (e.g. 8h)."
)
@json_option
@click.pass_context
def token_create(
    ctx: click.Context,
    name: str,
    token_type: str,
    policies: tuple[str, ...],
    is_global: bool,
    ttl: str,
    as_json: bool,
) -> None:
    """Create a token and print it with its secret ID."""
    body: dict[str, Any] = {"Name": name, "Type": token_type, "Policies": list(policies), "Global": is_global}
    if ttl:
        body["ExpirationTTL"] = ttl
    token = client_of(ctx).write("POST", "/v1/acl/token", body, {})
    if as_json:
        print_json(token)
    else:
        show_token(ui_of(ctx), token or {})


@api_command("list", short_help="List tokens.")
@json_option
@click.pass_context
def token_list(ctx: click.Context, as_json: bool) -> None:
    """List every token (a management token is needed)."""
    tokens = client_of(ctx).get("/v1/acl/tokens") or []
    ui = ui_of(ctx)
    if as_json:
        print_json(tokens)
        return
    if not tokens:
        ui.out("No tokens found")
        return
    import time

    now = time.time()
    rows: list[list[Any]] = [["Name", "Type", "Global", "Accessor ID", "Expired"]]
    for t in tokens:
        expires = parse_time(t.get("ExpirationTime"))
        rows.append(
            [
                t.get("Name", ""),
                t.get("Type", ""),
                str(t.get("Global", False)).lower(),
                t.get("AccessorID", ""),
                str(expires is not None and expires < now).lower(),
            ]
        )
    ui.table(rows)


@api_command("info", short_help="Show a token by its accessor ID.")
@json_option
@click.argument("accessor")
@click.pass_context
def token_info(ctx: click.Context, as_json: bool, accessor: str) -> None:
    """Show the token whose accessor ID is ACCESSOR."""
    token = client_of(ctx).get(path_of("/v1/acl/token", accessor)) or {}
    if as_json:
        print_json(token)
    else:
        show_token(ui_of(ctx), token)


@api_command("self", short_help="Show the token in use.")
@json_option
@click.pass_context
def token_self(ctx: click.Context, as_json: bool) -> None:
    """Show the token given by NOMAD_TOKEN (or -token)."""
    token = client_of(ctx).get("/v1/acl/token/self") or {}
    if as_json:
        print_json(token)
    else:
        show_token(ui_of(ctx), token)


@api_command("delete", short_help="Delete a token.")
@click.argument("accessor")
@click.pass_context
def token_delete(ctx: click.Context, accessor: str) -> None:
    """Delete the token whose accessor ID is ACCESSOR."""
    client_of(ctx).write("DELETE", path_of("/v1/acl/token", accessor), None, {})
    ui_of(ctx).out(f"Token {accessor} successfully deleted")
