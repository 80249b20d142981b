"""``outrider alloc status|restart|signal|stats`` (Nomad's ``command/alloc_status.go``, ``alloc_restart.go``,
``alloc_signal.go``; ``stats`` is ``alloc status -stats`` on its own)."""

from __future__ import annotations

from typing import Any

import click

from outrider.cli.client import path_of
from outrider.cli.lookup import AllocRef, pick_task, resolve_alloc
from outrider.cli.options import (
    alloc_task_arguments,
    api_command,
    client_of,
    json_option,
    ui_of,
    verbose_option,
)
from outrider.cli.ui import UI, ago, format_time, ibytes, print_json, short_id

_RECENT_EVENTS = 10


@api_command("status", short_help="Show an allocation's status and task events.")
@json_option
@verbose_option("Show full IDs and every event.")
@click.argument("alloc_id", metavar="ALLOC")
@click.pass_context
def status(ctx: click.Context, as_json: bool, verbose: bool, alloc_id: str) -> None:
    """Show allocation ALLOC (an ID or a unique prefix): its status and each task's recent events."""
    client, ui = client_of(ctx), ui_of(ctx)
    ref = resolve_alloc(client, ui, alloc_id, verbose)
    alloc = ref.alloc
    if alloc is None:
        alloc = {"ID": ref.id, "Namespace": ref.namespace}
    if as_json:
        print_json(alloc)
        return
    job = alloc.get("Job") or {}
    ui.kv(
        [
            ("ID", short_id(alloc.get("ID", ""), verbose)),
            ("Eval ID", short_id(alloc.get("EvalID", ""), verbose)),
            ("Name", alloc.get("Name", "")),
            ("Namespace", alloc.get("Namespace", "")),
            ("Node ID", short_id(alloc.get("NodeID", ""), verbose)),
            ("Node Name", alloc.get("NodeName", "")),
            ("Job ID", alloc.get("JobID", "")),
            ("Job Version", str(job.get("Version", 0))),
            ("Client Status", ui.status(alloc.get("ClientStatus", ""))),
            ("Client Description", alloc.get("ClientDescription", "")),
            ("Desired Status", alloc.get("DesiredStatus", "")),
            ("Desired Description", alloc.get("DesiredDescription", "")),
            ("Created", ago(alloc.get("CreateTime"))),
            ("Modified", ago(alloc.get("ModifyTime"))),
        ]
    )
    for task, state in sorted((alloc.get("TaskStates") or {}).items()):
        ui.out()
        ui.out(ui.bold(f'Task "{task}" is "{state.get("State", "")}"'))
        _task_summary(ui, state)
        _events(ui, state.get("Events") or [], verbose)


def _task_summary(ui: UI, state: dict[str, Any]) -> None:
    pairs = [("Restarts", str(state.get("Restarts", 0))), ("Failed", str(state.get("Failed", False)).lower())]
    if format_time(state.get("StartedAt")):
        pairs.append(("Started", f"{format_time(state.get('StartedAt'))} ({ago(state.get('StartedAt'))})"))
    if format_time(state.get("FinishedAt")):
        pairs.append(("Finished", f"{format_time(state.get('FinishedAt'))} ({ago(state.get('FinishedAt'))})"))
    ui.kv(pairs)


def _events(ui: UI, events: list[dict[str, Any]], verbose: bool) -> None:
    shown = list(reversed(events))
    if not verbose:
        shown = shown[:_RECENT_EVENTS]
    ui.out()
    ui.out("Recent Events:" if not verbose else "Events:")
    rows: list[list[Any]] = [["Time", "Type", "Description"]]
    for event in shown:
        rows.append([format_time(event.get("Time")), event.get("Type", ""), event.get("DisplayMessage", "")])
    ui.table(rows)


def _lifecycle(ctx: click.Context, ref: AllocRef, action: str, body: dict[str, Any]) -> None:
    path = path_of("/v1/client/allocation", ref.id) + f"/{action}"
    client_of(ctx).write("POST", path, body, {"namespace": ref.namespace})


@api_command("restart", short_help="Restart an allocation's tasks in place.")
@click.option(
    "-all-tasks", "--all-tasks", "all_tasks", is_flag=True, help="Restart every task, not only running ones."
)
@verbose_option()
@alloc_task_arguments("Restart this task only.")
@click.pass_context
def restart(
    ctx: click.Context, task_flag: str | None, all_tasks: bool, verbose: bool, alloc_id: str, task: str | None
) -> None:
    """Restart the tasks of allocation ALLOC (an ID or a unique prefix), or only TASK."""
    name = task_flag or task
    if name and all_tasks:
        raise click.UsageError("give a task or -all-tasks, not both")
    ref = resolve_alloc(client_of(ctx), ui_of(ctx), alloc_id, verbose)
    if name:
        name = pick_task(ref, name)
    _lifecycle(ctx, ref, "restart", {"TaskName": name or "", "AllTasks": all_tasks})
    what = f'task "{name}"' if name else "tasks"
    ui_of(ctx).out(f'Restarted {what} of allocation "{short_id(ref.id, verbose)}"')


@api_command("signal", short_help="Send a signal to an allocation's tasks.")
@click.option(
    "-s",
    "--signal",
    "signal_name",
    default="SIGKILL",
    show_default=True,
    metavar="SIGNAL",
    help="The signal to send.",
)
@verbose_option()
@alloc_task_arguments("Signal this task only.")
@click.pass_context
def signal(
    ctx: click.Context,
    signal_name: str,
    task_flag: str | None,
    verbose: bool,
    alloc_id: str,
    task: str | None,
) -> None:
    """Send SIGNAL to the running tasks of allocation ALLOC (an ID or a unique prefix), or only to TASK."""
    ref = resolve_alloc(client_of(ctx), ui_of(ctx), alloc_id, verbose)
    name = pick_task(ref, task_flag or task) if (task_flag or task) else ""
    _lifecycle(ctx, ref, "signal", {"Signal": signal_name.upper(), "Task": name})
    what = f'task "{name}"' if name else "the running tasks"
    ui_of(ctx).out(f'Sent {signal_name.upper()} to {what} of allocation "{short_id(ref.id, verbose)}"')


@api_command("stats", short_help="Show an allocation's resource usage.")
@json_option
@click.option("-task", "--task", "task_flag", metavar="TASK", help="Only this task.")
@verbose_option()
@click.argument("alloc_id", metavar="ALLOC")
@click.pass_context
def stats(ctx: click.Context, as_json: bool, task_flag: str | None, verbose: bool, alloc_id: str) -> None:
    """Show the CPU and memory use of allocation ALLOC (an ID or a unique prefix), per task."""
    client, ui = client_of(ctx), ui_of(ctx)
    ref = resolve_alloc(client, ui, alloc_id, verbose)
    params = {"namespace": ref.namespace, "task": task_flag or None}
    usage = client.get(path_of("/v1/client/allocation", ref.id) + "/stats", params) or {}
    if as_json:
        print_json(usage)
        return
    rows: list[list[Any]] = [["Task", "CPU %", "CPU MHz", "Memory RSS", "Memory Cache", "Processes"]]
    for task, entry in sorted((usage.get("Tasks") or {}).items()):
        rows.append(
            [task, *_usage_cells(entry.get("ResourceUsage") or {}), str(len(entry.get("Pids") or {}))]
        )
    if len(rows) > 2 or not task_flag:
        rows.append(["(total)", *_usage_cells(usage.get("ResourceUsage") or {}), ""])
    ui.table(rows)


def _usage_cells(usage: dict[str, Any]) -> list[str]:
    cpu = usage.get("CpuStats") or {}
    memory = usage.get("MemoryStats") or {}
    return [
        f"{float(cpu.get('Percent') or 0):.2f}",
        f"{float(cpu.get('TotalTicks') or 0):.0f}",
        ibytes(int(memory.get("RSS") or 0)),
        ibytes(int(memory.get("Cache") or 0)),
    ]
