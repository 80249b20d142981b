"""From what a person types to what the API needs: allocation ID prefixes, task names, the local node.

Prefixes work as in Nomad's CLI (``command/helpers.go`` ``sanitizeUUIDPrefix``, the
``PrefixList`` calls of ``command/alloc_status.go``): at least two characters, an
odd number of hex digits is cut to even, and a prefix matching several allocations
lists them instead of guessing. Allocation IDs are unique across namespaces, so a
lookup searches every namespace unless one was asked for.
"""

from __future__ import annotations

from typing import Any

from outrider.cli.client import Client, path_of
from outrider.cli.errors import APIError, CLIError
from outrider.cli.ui import UI, ago, short_id

_UUID_LENGTH = 36


def sanitize_uuid_prefix(prefix: str) -> str:
    """Cut a trailing odd hex digit: the state store indexes UUIDs by whole bytes."""
    digits = len(prefix) - prefix.count("-")
    return prefix[: len(prefix) - digits % 2]


class AllocRef:
    """A resolved allocation: its ID and namespace, and its full ``Allocation`` when the API has one."""

    __slots__ = ("alloc", "id", "namespace")

    def __init__(self, alloc_id: str, namespace: str, alloc: dict[str, Any] | None) -> None:
        self.id = alloc_id
        self.namespace = namespace
        self.alloc = alloc

    def tasks(self) -> list[str]:
        """The task names of the allocation's group, in the job's order."""
        if self.alloc is None:
            return []
        job = self.alloc.get("Job") or {}
        for tg in job.get("TaskGroups") or []:
            if tg.get("Name") == self.alloc.get("TaskGroup"):
                return [t.get("Name", "") for t in tg.get("Tasks") or []]
        return sorted((self.alloc.get("TaskStates") or {}).keys())


class AmbiguousPrefix(CLIError):
    """A prefix that matched several allocations; ``table`` lists them for the person to pick."""


def resolve_alloc(client: Client, ui: UI, given: str, verbose: bool = False) -> AllocRef:
    """The one allocation ``given`` names (a full ID or a prefix)."""
    if len(given) < 2:
        raise CLIError("Alloc ID must contain at least two characters.")
    prefix = sanitize_uuid_prefix(given)
    namespace = client.settings.namespace or "*"
    stubs = client.get("/v1/allocations", {"prefix": prefix, "namespace": namespace, "task_states": False})
    stubs = [s for s in stubs or [] if isinstance(s, dict) and str(s.get("ID", "")).startswith(prefix)]
    if not stubs:
        if len(given) == _UUID_LENGTH:
            # Not in the jobs API (a sidecar serves a Nomad client's directories): the client endpoints may know it.
            return AllocRef(given, client.settings.namespace or "default", None)
        raise CLIError(
            f"no allocation matches prefix {given!r}",
            "`outrider job status JOB` lists a job's allocations; `outrider operator api /v1/allocations` lists all",
        )
    if len(stubs) > 1 and not any(s["ID"] == given for s in stubs):
        raise AmbiguousPrefix(
            f"prefix {given!r} matched {len(stubs)} allocations:\n\n{alloc_table(ui, stubs, verbose)}",
            "give more characters of the ID",
        )
    stub = next((s for s in stubs if s["ID"] == given), stubs[0])
    alloc = client.get(path_of("/v1/allocation", stub["ID"]), {"namespace": stub["Namespace"]})
    return AllocRef(stub["ID"], stub.get("Namespace") or "default", alloc)


def resolve_target(client: Client, ui: UI, given: str, by_job: bool, verbose: bool) -> AllocRef:
    """The allocation a command acts on: ``given`` itself, or with ``-job`` one of job ``given``'s."""
    return resolve_alloc(client, ui, job_alloc_id(client, given) if by_job else given, verbose)


def job_alloc_id(client: Client, job_id: str) -> str:
    """An allocation of the job for ``-job``: the newest running one, else the newest (Nomad picks at random)."""
    allocs = client.get(path_of("/v1/job", job_id) + "/allocations") or []
    if not allocs:
        raise CLIError(
            f"job {job_id!r} does not exist or has no allocations", "`outrider job status` lists the jobs"
        )
    allocs.sort(key=lambda a: int(a.get("CreateIndex") or 0), reverse=True)
    running = [a for a in allocs if a.get("ClientStatus") == "running"]
    return str((running or allocs)[0]["ID"])


def alloc_table(ui: UI, stubs: list[dict[str, Any]], verbose: bool = False) -> str:
    """Nomad's ``formatAllocListStubs``: one row per allocation."""
    rows: list[list[Any]] = [
        ["ID", "Node ID", "Task Group", "Version", "Desired", "Status", "Created", "Modified"]
    ]
    for s in stubs:
        rows.append(
            [
                short_id(s.get("ID", ""), verbose),
                short_id(s.get("NodeID", ""), verbose),
                s.get("TaskGroup", ""),
                str((s.get("Job") or {}).get("Version", s.get("JobVersion", 0))),
                s.get("DesiredStatus", ""),
                ui.status(s.get("ClientStatus", "")),
                ago(s.get("CreateTime")),
                ago(s.get("ModifyTime")),
            ]
        )
    return ui.format_table(rows)


def pick_task(ref: AllocRef, given: str | None) -> str:
    """The task to act on: the one named, or the allocation's only task (``lookupAllocTask``)."""
    tasks = ref.tasks()
    if given:
        if tasks and given not in tasks:
            raise CLIError(
                f"allocation {short_id(ref.id)} has no task {given!r}",
                "its tasks are: " + ", ".join(tasks),
            )
        return given
    if len(tasks) == 1:
        return tasks[0]
    if not tasks:
        raise CLIError(
            f"the tasks of allocation {short_id(ref.id)} are not known to the API", "name the task"
        )
    listing = "\n".join(f"  * {t}" for t in tasks)
    raise CLIError(
        f"allocation {short_id(ref.id)} is running the following tasks:\n{listing}",
        "name the task after the ID",
    )


def local_node_id(client: Client) -> str:
    """The node ID of the agent answering (Nomad's ``getLocalNodeID``)."""
    info = client.get("/v1/agent/self")
    node_id = ((info or {}).get("stats") or {}).get("client", {}).get("node_id")
    if not node_id:
        raise CLIError(f"the agent at {client.address} is not running as a client")
    return str(node_id)


def not_found_as(exc: APIError, what: str, hint: str = "") -> CLIError:
    """A 404 from the API said the way a person thinks of it."""
    if exc.status == 404:
        return CLIError(f"{what}: {exc.text}", hint)
    return exc
