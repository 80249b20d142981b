"""``outrider job run|status|stop`` (Nomad's ``command/job_run.go``, ``job_status.go``, ``job_stop.go``)."""

from __future__ import annotations

from typing import Any

import click

from outrider.cli.client import Client, path_of
from outrider.cli.errors import APIError, CLIError
from outrider.cli.lookup import alloc_table
from outrider.cli.monitor import AllocWatch, watch_placement, watch_stop
from outrider.cli.options import api_command, client_of, json_option, ui_of, verbose_option
from outrider.cli.ui import UI, format_time, print_json, short_id

_SUMMARY_COLUMNS = ("Queued", "Starting", "Running", "Failed", "Complete", "Lost", "Unknown")


@api_command("run", short_help="Run a job from a JSON or HCL file and watch it start.")
@click.option(
    "-detach", "--detach", "detach", is_flag=True, help="Submit the job and return without watching."
)
@click.option(
    "-json",
    "--json",
    "as_json",
    is_flag=True,
    help="The file is JSON (also guessed from *.json or a leading {).",
)
@verbose_option()
@click.argument("file", metavar="FILE")
@click.pass_context
def run(ctx: click.Context, detach: bool, as_json: bool, verbose: bool, file: str) -> int:
    """Register the job in FILE (`-` reads stdin) and show its placement and first task events.

    FILE is Nomad's job JSON (with or without the {"Job": ...} wrapper) or an HCL
    jobspec. The exit code is 1 when an allocation failed while being watched.
    """
    from outrider.cli.jobspec import load_job

    client, ui = client_of(ctx), ui_of(ctx)
    job = load_job(file, as_json)
    answer = client.write("PUT", "/v1/jobs", {"Job": job})
    eval_id = str((answer or {}).get("EvalID", ""))
    job_id = str(job.get("ID", ""))
    namespace = str(job.get("Namespace") or client.settings.namespace or "default")
    if detach or not eval_id:
        ui.out("Job registration successful")
        ui.out(f"Evaluation ID: {eval_id}")
        return 0
    watch = AllocWatch(client, ui, job_id, namespace)
    watch.line(f'Monitoring evaluation "{short_id(eval_id, verbose)}"', lead="==> ")
    watch.line(f'Evaluation triggered by job "{job_id}"')
    placed, running, failed = watch_placement(watch, eval_id)
    if not placed:
        watch.line(f'No allocation placed: job "{job_id}" is unchanged or stopped', lead="==> ")
        return 0
    watch.line(
        f'Job "{job_id}": {placed} allocation(s) placed, {running} running, {failed} failed', lead="==> "
    )
    return 1 if failed else 0


@api_command("status", short_help="List jobs, or show one job and its allocations.")
@json_option
@verbose_option()
@click.argument("job_id", metavar="[ID]", required=False)
@click.pass_context
def status(ctx: click.Context, as_json: bool, verbose: bool, job_id: str | None) -> None:
    """List every job, or show job ID (or a unique prefix of it) with its allocations."""
    client, ui = client_of(ctx), ui_of(ctx)
    if not job_id:
        jobs = client.get("/v1/jobs") or []
        if as_json:
            print_json(jobs)
        elif not jobs:
            ui.out("No running jobs")
        else:
            ui.table(
                [["ID", "Type", "Priority", "Status", "Submit Date"]]
                + [
                    [j.get("ID", ""), j.get("Type", ""), str(j.get("Priority", "")), ui.status(j.get("Status", "")),
                     format_time(j.get("SubmitTime"))]
                    for j in jobs
                ]
            )  # fmt: skip
        return
    job = resolve_job(client, ui, job_id)
    namespace = job.get("Namespace") or "default"
    params = {"namespace": namespace}
    summary = client.get(path_of("/v1/job", job["ID"]) + "/summary", params)
    allocs = client.get(path_of("/v1/job", job["ID"]) + "/allocations", params) or []
    if as_json:
        print_json({"Job": job, "Summary": summary, "Allocations": allocs})
        return
    _show_job(ui, job, summary, allocs, verbose)


def _show_job(
    ui: UI, job: dict[str, Any], summary: dict[str, Any], allocs: list[dict[str, Any]], verbose: bool
) -> None:
    ui.kv(
        [
            ("ID", job.get("ID", "")),
            ("Name", job.get("Name", "")),
            ("Submit Date", format_time(job.get("SubmitTime"))),
            ("Type", job.get("Type", "")),
            ("Priority", str(job.get("Priority", ""))),
            ("Datacenters", ",".join(job.get("Datacenters") or [])),
            ("Namespace", job.get("Namespace", "")),
            ("Node Pool", job.get("NodePool", "")),
            ("Status", ui.status(job.get("Status", ""))),
            ("Version", str(job.get("Version", 0))),
        ]
    )
    groups = (summary or {}).get("Summary") or {}
    ui.out()
    ui.heading("Summary")
    ui.table(
        [["Task Group", *_SUMMARY_COLUMNS]]
        + [
            [name, *(str(counts.get(c, 0)) for c in _SUMMARY_COLUMNS)]
            for name, counts in sorted(groups.items())
        ]
    )
    ui.out()
    ui.heading("Allocations")
    ui.out(
        alloc_table(ui, sorted(allocs, key=lambda a: -int(a.get("CreateIndex") or 0)), verbose)
        if allocs
        else "No allocations placed"
    )


def resolve_job(client: Client, ui: UI, given: str) -> dict[str, Any]:
    """Job ``given``, or the one job whose ID starts with it (Nomad's CLI matches job prefixes too)."""
    try:
        return client.get(path_of("/v1/job", given))
    except APIError as exc:
        if exc.status != 404:
            raise
    matches = client.get("/v1/jobs", {"prefix": given}) or []
    if len(matches) == 1:
        return client.get(
            path_of("/v1/job", matches[0]["ID"]), {"namespace": matches[0].get("Namespace", "")}
        )
    if not matches:
        raise CLIError(f"no job matches {given!r}", "`outrider job status` lists the jobs")
    table = ui.format_table(
        [["ID", "Namespace", "Status"]]
        + [[m["ID"], m.get("Namespace", ""), m.get("Status", "")] for m in matches]
    )
    raise CLIError(f"prefix {given!r} matched {len(matches)} jobs:\n\n{table}", "give the whole job ID")


@api_command("stop", short_help="Stop a job (and with -purge, forget it).")
@click.option("-purge", "--purge", "purge", is_flag=True, help="Also forget the job and its allocations.")
@click.option(
    "-detach", "--detach", "detach", is_flag=True, help="Return without waiting for the allocations to stop."
)
@click.option(
    "-yes", "--yes", "yes", is_flag=True, help="Accepted for Nomad's scripts; there is nothing to confirm."
)
@click.argument("job_id", metavar="ID")
@click.pass_context
def stop(ctx: click.Context, purge: bool, detach: bool, yes: bool, job_id: str) -> None:
    """Stop job ID (or a unique prefix of it): its allocations are stopped, and shown as they stop."""
    client, ui = client_of(ctx), ui_of(ctx)
    job = resolve_job(client, ui, job_id)
    namespace = job.get("Namespace") or "default"
    params = {"namespace": namespace}
    watch = AllocWatch(client, ui, job["ID"], namespace)
    for alloc in client.get(path_of("/v1/job", job["ID"]) + "/allocations", params) or []:
        watch.seen_status[alloc["ID"]] = alloc.get("ClientStatus", "")
    answer = client.write("DELETE", path_of("/v1/job", job["ID"]), params={**params, "purge": purge})
    if detach:
        ui.out(f"Evaluation ID: {(answer or {}).get('EvalID', '')}")
        return
    watch.line(f'Stopping job "{job["ID"]}"' + (" and purging it" if purge else ""), lead="==> ")
    stopped = watch_stop(watch)
    watch.line(f'Job "{job["ID"]}" stopped: {stopped} allocation(s) stopped', lead="==> ")
