"""``outrider node status`` and ``node meta read|apply`` (Nomad's ``command/node_status.go``,
``node_meta_read.go``, ``node_meta_apply.go``)."""

from __future__ import annotations

from typing import Any

import click

from outrider.cli.client import Client, path_of
from outrider.cli.errors import CLIError
from outrider.cli.lookup import alloc_table, local_node_id, sanitize_uuid_prefix
from outrider.cli.options import api_command, client_of, json_option, ui_of, verbose_option
from outrider.cli.ui import UI, format_time, print_json, short_id


@api_command("status", short_help="List nodes, or show one node.")
@click.option("-self", "--self", "self_node", is_flag=True, help="Show the node of the agent answering.")
@verbose_option("Show full IDs and the node's attributes.")
@json_option
@click.argument("node_id", metavar="[NODE]", required=False)
@click.pass_context
def status(ctx: click.Context, self_node: bool, verbose: bool, as_json: bool, node_id: str | None) -> None:
    """List the nodes, or show NODE (an ID or a unique prefix) or, with -self, the local node."""
    client, ui = client_of(ctx), ui_of(ctx)
    if self_node:
        node_id = local_node_id(client)
    if not node_id:
        nodes = client.get("/v1/nodes") or []
        if as_json:
            print_json(nodes)
            return
        rows: list[list[Any]] = [["ID", "Node Pool", "DC", "Name", "Class", "Drain", "Eligibility", "Status"]]
        for n in nodes:
            rows.append(
                [
                    short_id(n.get("ID", ""), verbose),
                    n.get("NodePool", ""),
                    n.get("Datacenter", ""),
                    n.get("Name", ""),
                    n.get("NodeClass", ""),
                    str(n.get("Drain", False)).lower(),
                    n.get("SchedulingEligibility", ""),
                    ui.status(n.get("Status", "")),
                ]
            )
        ui.table(rows)
        return
    node = client.get(path_of("/v1/node", _resolve_node(client, node_id)))
    if as_json:
        print_json(node)
        return
    _show_node(client, ui, node, verbose)


def _resolve_node(client: Client, given: str) -> str:
    if len(given) == 36:
        return given
    if len(given) < 2:
        raise CLIError("Node ID must contain at least two characters.")
    matches = client.get("/v1/nodes", {"prefix": sanitize_uuid_prefix(given)}) or []
    if len(matches) == 1:
        return str(matches[0]["ID"])
    if not matches:
        raise CLIError(f"no node matches prefix {given!r}", "`outrider node status` lists the nodes")
    ids = ", ".join(short_id(m["ID"]) for m in matches)
    raise CLIError(f"prefix {given!r} matched {len(matches)} nodes: {ids}", "give more characters of the ID")


def _show_node(client: Client, ui: UI, node: dict[str, Any], verbose: bool) -> None:
    drivers = sorted(
        name for name, d in (node.get("Drivers") or {}).items() if d.get("Detected") and d.get("Healthy")
    )
    ui.kv(
        [
            ("ID", short_id(node.get("ID", ""), verbose)),
            ("Name", node.get("Name", "")),
            ("Node Pool", node.get("NodePool", "")),
            ("Class", node.get("NodeClass", "")),
            ("DC", node.get("Datacenter", "")),
            ("Drain", str(node.get("Drain", False)).lower()),
            ("Eligibility", node.get("SchedulingEligibility", "")),
            ("Status", ui.status(node.get("Status", ""))),
            ("HTTP Address", node.get("HTTPAddr", "")),
            ("Drivers", ",".join(drivers)),
        ]
    )
    ui.out()
    ui.heading("Node Events")
    events = node.get("Events") or []
    ui.table(
        [["Time", "Subsystem", "Message"]]
        + [
            [format_time(e.get("Timestamp")), e.get("Subsystem", ""), e.get("Message", "")]
            for e in reversed(events)
        ]
    )
    allocs = [
        a
        for a in client.get("/v1/allocations", {"namespace": "*"}) or []
        if a.get("NodeID") == node.get("ID")
    ]
    ui.out()
    ui.heading("Allocations")
    ui.out(alloc_table(ui, allocs, verbose) if allocs else "No allocations placed")
    if verbose:
        ui.out()
        ui.heading("Attributes")
        ui.kv(sorted((node.get("Attributes") or {}).items()))
    ui.out()
    ui.heading("Meta")
    ui.kv(sorted((node.get("Meta") or {}).items()))


node_id_option = click.option(
    "-node-id", "--node-id", "node_id", metavar="NODE", help="Another node (default: the agent's own)."
)


def _node_params(client: Client, node_id: str | None) -> dict[str, str]:
    """``?node_id=`` for ``-node-id`` (a prefix is resolved first), or nothing for the agent's own node."""
    return {"node_id": _resolve_node(client, node_id)} if node_id else {}


@api_command("read", short_help="Show the node's metadata.")
@node_id_option
@json_option
@click.pass_context
def meta_read(ctx: click.Context, node_id: str | None, as_json: bool) -> None:
    """Show the node's metadata: all of it, the dynamic keys, and the static ones."""
    client, ui = client_of(ctx), ui_of(ctx)
    meta = client.get("/v1/client/metadata", _node_params(client, node_id)) or {}
    if as_json:
        print_json(meta)
        return
    ui.heading("All Meta")
    ui.kv(sorted((meta.get("Meta") or {}).items()))
    ui.out()
    ui.heading("Dynamic Meta")
    dynamic = meta.get("Dynamic") or {}
    ui.kv([(k, "<unset>" if v is None else v) for k, v in sorted(dynamic.items())])
    ui.out()
    ui.heading("Static Meta")
    ui.kv(sorted((meta.get("Static") or {}).items()))


@api_command("apply", short_help="Set or unset dynamic node metadata.")
@node_id_option
@click.option(
    "-unset",
    "--unset",
    "unset",
    multiple=True,
    metavar="K1,K2",
    help="Keys to unset (comma separated; repeatable).",
)
@click.argument("pairs", nargs=-1, metavar="KEY=VALUE...")
@click.pass_context
def meta_apply(
    ctx: click.Context, node_id: str | None, unset: tuple[str, ...], pairs: tuple[str, ...]
) -> None:
    """Set each KEY to VALUE and unset the -unset keys, in one change."""
    if not pairs and not any(unset):
        raise click.UsageError("give -unset KEYS or at least one KEY=VALUE")
    meta: dict[str, str | None] = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        meta[key] = value
    for keys in unset:
        for key in keys.split(","):
            if key:
                meta[key] = None
    client = client_of(ctx)
    params = _node_params(client, node_id)
    body: dict[str, object] = {"Meta": meta, **({"NodeID": params["node_id"]} if params else {})}
    client.write("POST", "/v1/client/metadata", body, params)
