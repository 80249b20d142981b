"""The OpenAPI 3.1 document of every endpoint the agent serves, built as data.

``GET /v1/openapi.json`` serves it; ``tests/http/test_openapi.py`` keeps it true
(its paths and methods against the app's routes, both ways) and fuzzes a real
agent against it with schemathesis.

How the document reads Nomad's routing:

- Most of Nomad's handlers do not check the method (``command/agent/http.go``
  ``registerHandlers``): any method is served as the documented one. Such a path
  item carries ``x-any-method: true`` and lists the methods Nomad's own clients
  use. Every other path item answers any method it does not list with
  ``405 Invalid method``.
- Errors are plain text without a trailing newline (``command/agent/http.go``
  ``wrap``), as ``text/plain; charset=utf-8``.
- ``fs/stream`` and ``fs/logs`` (without ``plain=true``) send a sequence of
  back-to-back JSON objects, each a :data:`STREAM_FRAME` (``{}`` is a heartbeat),
  which Nomad's Go ``api`` package reads with an incremental JSON decoder. The
  response's schema is the schema of one frame and the operation carries
  ``x-frame-stream: true``. An error after the first byte is appended as text.
"""

from __future__ import annotations

import copy
from typing import Any

from outrider import __version__

Schema = dict[str, Any]

OPENAPI_PATH = "/v1/openapi.json"
ERROR_MEDIA_TYPE = "text/plain; charset=utf-8"
FILE_MEDIA_TYPE = "text/plain; charset=utf-8"
PROMETHEUS_MEDIA_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# -- small schema builders ------------------------------------------------------------------------


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def obj(
    required: dict[str, Schema], optional: dict[str, Schema] | None = None, closed: bool = True
) -> Schema:
    """An object with ``required`` keys (and ``optional`` ones); ``closed`` forbids any other key."""
    props = {**required, **(optional or {})}
    schema: Schema = {"type": "object", "properties": props, "required": sorted(required)}
    if closed:
        schema["additionalProperties"] = False
    return schema


def keys(*names: str) -> Schema:
    """An object that has at least the keys ``names``, whatever their values (Nomad's large structs)."""
    return {"type": "object", "required": sorted(names)}


def array(items: Schema) -> Schema:
    return {"type": "array", "items": items}


def nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


def string_map(values: Schema | None = None) -> Schema:
    return {"type": "object", "additionalProperties": values or STR}


STR: Schema = {"type": "string"}
INT: Schema = {"type": "integer"}
NUM: Schema = {"type": "number"}
BOOL: Schema = {"type": "boolean"}
ANY: Schema = {}

# -- components -------------------------------------------------------------------------------------

STREAM_FRAME: Schema = {
    "description": (
        "One frame of a file or log stream (``client/lib/streamframer`` ``StreamFrame``). "
        "``{}`` is a heartbeat. ``Offset`` is the end offset of ``Data`` in ``File``; "
        "``FileEvent`` is ``file truncated`` or ``file deleted``."
    ),
    **obj(
        {},
        {
            "Offset": INT,
            "Data": {"type": "string", "contentEncoding": "base64"},
            "File": STR,
            "FileEvent": {"type": "string", "enum": ["file truncated", "file deleted"]},
        },
    ),
}

FILE_INFO = obj({"FileMode": STR, "IsDir": BOOL, "ModTime": STR, "Name": STR, "Size": INT})
FILE_STAT = obj({**FILE_INFO["properties"], "ContentType": STR})

META_MAP = string_map(nullable(STR))
METADATA_VIEW = obj({"Dynamic": META_MAP, "Meta": string_map(), "Static": string_map()})
METADATA_REQUEST = obj(
    {"Meta": META_MAP},
    {"NodeID": STR, "AuthToken": ANY, "Region": ANY, "Namespace": ANY},
    closed=False,
)

RESOURCE_USAGE = keys("CpuStats", "MemoryStats")
ALLOC_USAGE = obj(
    {"ResourceUsage": RESOURCE_USAGE, "Tasks": string_map(keys("ResourceUsage")), "Timestamp": INT}
)
HOST_STATS = keys("AllocDirStats", "CPU", "CPUTicksConsumed", "DiskStats", "Memory", "Timestamp", "Uptime")
NODE = keys("Attributes", "Datacenter", "Drivers", "HTTPAddr", "ID", "Meta", "Name", "NodePool", "Status")
NODE_STUB = keys("Address", "Datacenter", "Drivers", "ID", "Name", "NodePool", "Status", "Version")

AGENT_SELF = obj(
    {"config": keys("Version", "Client", "ACL"), "member": keys("Name"), "stats": keys("client")}
)
AGENT_HEALTH = obj({"client": obj({"message": STR, "ok": BOOL})})

METRIC = keys("Name", "Labels")
METRICS = keys("Counters", "Gauges", "Samples", "Timestamp")

JOB = keys("ID", "Name", "Namespace", "Status", "TaskGroups", "Type", "Version")
JOB_STUB = keys("ID", "JobSummary", "Name", "Namespace", "Status", "Type")
JOB_SUMMARY = keys("Children", "JobID", "Namespace", "Summary")
JOB_VERSIONS = obj(
    {
        "Diffs": {"type": "null"},
        "Index": INT,
        "KnownLeader": BOOL,
        "LastContact": INT,
        "NextToken": STR,
        "Versions": array(JOB),
    }
)
JOB_REGISTER_REQUEST = obj({"Job": {"type": "object"}}, closed=False)
JOB_WRITE = keys("EvalID", "Index", "JobModifyIndex")
ALLOC_STUB = keys("ClientStatus", "ID", "JobID", "Name", "Namespace", "NodeID", "TaskGroup", "TaskStates")
ALLOCATION = keys("ClientStatus", "ID", "Job", "JobID", "Name", "Namespace", "NodeID", "TaskGroup")
ALLOC_STOP = obj({"EvalID": STR, "Index": INT})
GENERIC_RESPONSE = obj({"Index": INT})

RESTART_REQUEST = obj({}, {"TaskName": nullable(STR), "AllTasks": nullable(BOOL)}, closed=False)
SIGNAL_REQUEST = obj({}, {"Task": nullable(STR), "Signal": nullable(STR)}, closed=False)

ACL_TOKEN = obj(
    {
        "ExpirationTTL": STR,
        "AccessorID": STR,
        "SecretID": STR,
        "Name": STR,
        "Type": STR,
        "Policies": nullable(array(STR)),
        "Roles": nullable(array(ANY)),
        "Global": BOOL,
        "Hash": nullable(STR),
        "CreateTime": STR,
        "ExpirationTime": nullable(STR),
        "CreateIndex": INT,
        "ModifyIndex": INT,
    }
)
ACL_TOKEN_STUB = obj(
    {
        "AccessorID": STR,
        "CreateIndex": INT,
        "CreateTime": nullable(STR),
        "ExpirationTime": nullable(STR),
        "Global": BOOL,
        "Hash": nullable(STR),
        "ModifyIndex": INT,
        "Name": STR,
        "Policies": nullable(array(STR)),
        "Roles": nullable(array(ANY)),
        "Type": STR,
    }
)
ACL_POLICY_STUB = obj(
    {
        "CreateIndex": INT,
        "Description": STR,
        "Hash": STR,
        "JobACL": nullable(ANY),
        "ModifyIndex": INT,
        "Name": STR,
    }
)
ACL_POLICY = obj({**ACL_POLICY_STUB["properties"], "Rules": STR, "RulesJSON": nullable(ANY)})
ACL_POLICY_REQUEST = obj(
    {"Name": STR}, {"Description": STR, "Rules": STR, "JobACL": nullable({"type": "object"})}, closed=False
)
ACL_TOKEN_REQUEST = obj(
    {},
    {
        "AccessorID": STR,
        "SecretID": STR,
        "Name": STR,
        "Type": {"type": "string", "enum": ["client", "management"]},
        "Policies": nullable(array(STR)),
        "Global": BOOL,
        "ExpirationTTL": STR,
        "ExpirationTime": nullable(STR),
    },
    closed=False,
)
ACL_BOOTSTRAP_REQUEST = obj({}, {"BootstrapSecret": STR}, closed=False)

LOG_LINE = obj(
    {"Type": {"type": "string", "enum": ["stdout", "stderr"]}, "File": STR, "Offset": INT},
    {
        "Line": STR,
        "LineBase64": STR,
        "Time": STR,
        "Partial": BOOL,
        "AllocID": STR,
        "Task": STR,
    },
)

COMPONENTS: dict[str, Schema] = {
    "StreamFrame": STREAM_FRAME,
    "LogLine": LOG_LINE,
    "AllocFileInfo": FILE_INFO,
    "AllocFileStat": FILE_STAT,
    "MetadataView": METADATA_VIEW,
    "MetadataRequest": METADATA_REQUEST,
    "AllocResourceUsage": ALLOC_USAGE,
    "HostStats": HOST_STATS,
    "Node": NODE,
    "NodeListStub": NODE_STUB,
    "AgentSelf": AGENT_SELF,
    "AgentHealth": AGENT_HEALTH,
    "Metrics": METRICS,
    "Job": JOB,
    "JobListStub": JOB_STUB,
    "JobSummary": JOB_SUMMARY,
    "JobVersions": JOB_VERSIONS,
    "JobRegisterRequest": JOB_REGISTER_REQUEST,
    "JobWriteResponse": JOB_WRITE,
    "AllocListStub": ALLOC_STUB,
    "Allocation": ALLOCATION,
    "AllocStopResponse": ALLOC_STOP,
    "GenericResponse": GENERIC_RESPONSE,
    "AllocRestartRequest": RESTART_REQUEST,
    "AllocSignalRequest": SIGNAL_REQUEST,
    "ACLToken": ACL_TOKEN,
    "ACLTokenListStub": ACL_TOKEN_STUB,
    "ACLPolicy": ACL_POLICY,
    "ACLPolicyListStub": ACL_POLICY_STUB,
    "ACLPolicyRequest": ACL_POLICY_REQUEST,
    "ACLTokenRequest": ACL_TOKEN_REQUEST,
    "ACLBootstrapRequest": ACL_BOOTSTRAP_REQUEST,
}

# -- responses ------------------------------------------------------------------------------------

ERROR_TEXTS = {
    400: "Bad request: a parameter or the body is invalid (the text says which)",
    403: "Permission denied, or a cross-site or foreign-Host request refused",
    404: "Not found (the text says what)",
    405: "Invalid method",
    409: "The allocation is not eligible for GC",
    413: "Request body too large",
    429: "Too many requests with an invalid ACL token from this address",
    500: "Nomad's answer for this case (the text says what)",
    503: "Too many request bodies in flight: try again shortly (with Retry-After)",
}


def error(status: int) -> Schema:
    return {"description": ERROR_TEXTS[status], "content": {ERROR_MEDIA_TYPE: {"schema": STR}}}


def json_ok(schema: Schema, description: str = "OK", index_headers: bool = False) -> Schema:
    response: Schema = {"description": description, "content": {"application/json": {"schema": schema}}}
    if index_headers:
        response["headers"] = {
            "X-Nomad-Index": {"schema": {"type": "string", "pattern": "^[0-9]+$"}, "required": True},
            "X-Nomad-KnownLeader": {"schema": STR},
            "X-Nomad-LastContact": {"schema": STR},
        }
    return response


def empty_ok(description: str = "Done; no body") -> Schema:
    return {"description": description}


# Every request may be refused by the request guard (403) or the token limiter (429).
ALWAYS = (403, 429)
GENERIC = (400, *ALWAYS)  # the generic query parameters (stale, per_page, wait, index)
WITH_BODY = (413, 503)


def op(
    op_id: str,
    summary: str,
    ok: dict[str, Schema],
    errors: tuple[int, ...] = GENERIC,
    params: list[Schema] | None = None,
    body: Schema | None = None,
    body_required: bool = False,
    tags: tuple[str, ...] = (),
    **extra: Any,
) -> Schema:
    responses: dict[str, Schema] = {str(k): v for k, v in ok.items()}
    for status in sorted({*errors, *ALWAYS, *(WITH_BODY if body is not None else ())}):
        responses.setdefault(str(status), error(status))
    operation: Schema = {
        "operationId": op_id,
        "summary": summary,
        "tags": list(tags),
        "parameters": [*GENERIC_PARAMS, *(params or [])],
        "responses": responses,
        **extra,
    }
    if body is not None:
        operation["requestBody"] = {
            "required": body_required,
            "content": {"application/json": {"schema": body}},
        }
    return operation


def query(name: str, schema: Schema, description: str, required: bool = False) -> Schema:
    return {"name": name, "in": "query", "required": required, "schema": schema, "description": description}


def path_param(name: str, description: str) -> Schema:
    return {"name": name, "in": "path", "required": True, "schema": STR, "description": description}


GENERIC_PARAMS = [
    query("pretty", STR, "Indent JSON answers by 4 (any value but 0)"),
    query("stale", {"type": "string", "enum": ["", "true", "false"]}, "Accepted as Nomad does"),
]
BLOCKING = [
    query("index", {"type": "string", "pattern": "^[0-9]{0,19}$"}, "Block until the index passes this"),
    query("wait", STR, "The longest wait of a blocking query, a Go duration (default 5m, at most 10m)"),
]
NAMESPACE = query("namespace", STR, "The namespace (default `default`; `*` lists every namespace)")
PREFIX = query("prefix", STR, "Only IDs starting with this")
NODE_ID_QUERY = query("node_id", STR, "The node; only this agent's own node is served")
ALLOC_ID = path_param("alloc_id", "The allocation's full ID")
JOB_ID = path_param("job_id", "The job's ID")
FS_PATH = query("path", STR, "A path inside the allocation directory", required=True)
BOOLEAN_TEXT = {
    "type": "string",
    "enum": ["", "true", "false", "1", "0", "t", "f", "TRUE", "FALSE", "True", "False"],
}
OFFSET = query("offset", {"type": "string", "pattern": "^-?[0-9]{1,19}$"}, "A byte offset")
ORIGIN = query(
    "origin", {"type": "string", "enum": ["", "start", "end"]}, "Count the offset from the start or the end"
)


NDJSON_MEDIA_TYPE = "application/x-ndjson"
COUNT = {"type": "string", "pattern": "^[0-9]{1,19}$"}
LOG_LINE_OPTIONS = [
    query("tail_lines", COUNT, "Start at the N-th line from the end, across rotated files (0: at the end)"),
    query(
        "before", STR, "With tail_lines: the lines before this `<File>:<Offset>` cursor (an ndjson line's)"
    ),
    query("filter", STR, "Only lines matching this RE2 pattern"),
    query("exclude", STR, "Only lines not matching this RE2 pattern"),
    query("limit_bytes", COUNT, "Stop after this many bytes of lines (a follow ends there too)"),
    query("format", {"type": "string", "enum": ["", "ndjson"]}, "`ndjson`: one LogLine object per line"),
    query("timestamps", BOOLEAN_TEXT, "Prefix each line with its capture time (RFC 3339, nanoseconds)"),
    query("since", STR, "Only lines captured at or after this RFC 3339 time or Go duration back from now"),
    query("until", STR, "Only lines captured before this RFC 3339 time or Go duration back from now"),
]
LOG_TYPE = query(
    "type",
    {"type": "string", "enum": ["stdout", "stderr", "all"]},
    "Which log; `all` merges both in capture order",
    required=True,
)


def log_lines_ok(description: str, frames_too: bool) -> Schema:
    content: Schema = {
        "text/plain": {"schema": STR},
        NDJSON_MEDIA_TYPE: {"schema": ref("LogLine")},
    }
    if frames_too:
        content = {"application/json": {"schema": ref("StreamFrame")}, **content}
    return {"description": description, "content": content}


def frames(description: str, media_type: str) -> Schema:
    return {"description": description, "content": {media_type: {"schema": ref("StreamFrame")}}}


def file_bytes(description: str) -> Schema:
    return {"description": description, "content": {FILE_MEDIA_TYPE: {"schema": STR}}}


# -- paths ----------------------------------------------------------------------------------------


def _any_method(methods: dict[str, Schema]) -> Schema:
    return {"x-any-method": True, **methods}


def _fs_paths() -> dict[str, Schema]:
    fs_errors = (*GENERIC, 404)
    return {
        "/v1/client/fs/ls/{alloc_id}": _any_method(
            {
                "get": op(
                    "fsList",
                    "List a directory of the allocation",
                    {200: json_ok(array(ref("AllocFileInfo")))},
                    fs_errors,
                    [ALLOC_ID, query("path", STR, "The directory (default `/`)")],
                    tags=("fs",),
                )
            }
        ),
        "/v1/client/fs/stat/{alloc_id}": _any_method(
            {
                "get": op(
                    "fsStat",
                    "Stat a file of the allocation",
                    {200: json_ok(ref("AllocFileStat"))},
                    fs_errors,
                    [ALLOC_ID, FS_PATH],
                    tags=("fs",),
                )
            }
        ),
        "/v1/client/fs/cat/{alloc_id}": _any_method(
            {
                "get": op(
                    "fsCat",
                    "A file's bytes",
                    {200: file_bytes("The file's bytes (with `X-Content-Type-Options: nosniff`)")},
                    fs_errors,
                    [ALLOC_ID, FS_PATH],
                    tags=("fs",),
                )
            }
        ),
        "/v1/client/fs/readat/{alloc_id}": _any_method(
            {
                "get": op(
                    "fsReadAt",
                    "A byte range of a file",
                    {200: file_bytes("The range's bytes")},
                    fs_errors,
                    [
                        ALLOC_ID,
                        FS_PATH,
                        query("offset", OFFSET["schema"], "Where the range starts", required=True),
                        query("limit", OFFSET["schema"], "The most bytes to send (0 or less: to the end)"),
                    ],
                    tags=("fs",),
                )
            }
        ),
        "/v1/client/fs/stream/{alloc_id}": _any_method(
            {
                "get": op(
                    "fsStream",
                    "Tail and follow a file as frames",
                    {200: frames("Back-to-back StreamFrame objects", FILE_MEDIA_TYPE)},
                    fs_errors,
                    [
                        ALLOC_ID,
                        FS_PATH,
                        query("follow", BOOLEAN_TEXT, "Keep following the file (default true)"),
                        OFFSET,
                        ORIGIN,
                    ],
                    tags=("fs",),
                    **{"x-frame-stream": True},
                )
            }
        ),
        "/v1/client/fs/logs/{alloc_id}": _any_method(
            {
                "get": op(
                    "fsLogs",
                    "A task's stdout or stderr across its rotated files",
                    {
                        200: log_lines_ok(
                            "Back-to-back StreamFrame objects (`application/json`), with `plain=true` the "
                            "raw bytes (`text/plain`, with `X-Content-Type-Options: nosniff`), with "
                            "`format=ndjson` one LogLine per line",
                            frames_too=True,
                        )
                    },
                    (*fs_errors, 500),
                    [
                        ALLOC_ID,
                        query("task", STR, "The task", required=True),
                        LOG_TYPE,
                        query("follow", BOOLEAN_TEXT, "Keep following (default false)"),
                        query("plain", BOOLEAN_TEXT, "Raw bytes instead of frames (default false)"),
                        OFFSET,
                        ORIGIN,
                        *LOG_LINE_OPTIONS,
                    ],
                    tags=("fs",),
                    **{"x-frame-stream": True},
                )
            }
        ),
    }


def _client_paths() -> dict[str, Schema]:
    alloc_errors = (*GENERIC, 404)
    lifecycle_errors = (*alloc_errors, 500)
    return {
        "/v1/client/metadata": {
            "get": op(
                "metadataGet",
                "The node's metadata",
                {200: json_ok(ref("MetadataView"))},
                (*GENERIC, 404, 405, 500),
                [NODE_ID_QUERY],
                tags=("node",),
            ),
            "post": op(
                "metadataApply",
                "Set or unset dynamic metadata",
                {200: json_ok(ref("MetadataView"))},
                (*GENERIC, 404, 405, 500),
                [NODE_ID_QUERY],
                body=ref("MetadataRequest"),
                body_required=True,
                tags=("node",),
            ),
        },
        "/v1/client/stats": _any_method(
            {
                "get": op(
                    "hostStats",
                    "The host's latest stats",
                    {200: json_ok(ref("HostStats"))},
                    (*GENERIC, 404),
                    [NODE_ID_QUERY],
                    tags=("stats",),
                )
            }
        ),
        "/v1/client/allocation/{alloc_id}/stats": _any_method(
            {
                "get": op(
                    "allocStats",
                    "An allocation's resource usage",
                    {200: json_ok(ref("AllocResourceUsage"))},
                    alloc_errors,
                    [ALLOC_ID, query("task", STR, "Only this task")],
                    tags=("stats",),
                )
            }
        ),
        "/v1/client/allocation/{alloc_id}/restart": _any_method(
            {
                "put": op(
                    "allocRestart",
                    "Restart an allocation's tasks in place",
                    {200: json_ok(ref("GenericResponse"))},
                    lifecycle_errors,
                    [ALLOC_ID],
                    body=ref("AllocRestartRequest"),
                    tags=("allocations",),
                )
            }
        ),
        "/v1/client/allocation/{alloc_id}/signal": _any_method(
            {
                "put": op(
                    "allocSignal",
                    "Send a signal to an allocation's tasks",
                    {200: json_ok(ref("GenericResponse"))},
                    lifecycle_errors,
                    [ALLOC_ID],
                    body=ref("AllocSignalRequest"),
                    tags=("allocations",),
                )
            }
        ),
        "/v1/client/allocation/{alloc_id}/gc": _any_method(
            {
                "get": op(
                    "allocGC",
                    "Collect a terminal allocation's directory",
                    {200: empty_ok()},
                    (*alloc_errors, 409, 500),
                    [ALLOC_ID],
                    tags=("allocations",),
                )
            }
        ),
        "/v1/client/gc": _any_method(
            {
                "get": op(
                    "clientGC",
                    "Start collecting every terminal allocation",
                    {200: empty_ok()},
                    (*GENERIC, 404, 500),
                    [NODE_ID_QUERY],
                    tags=("allocations",),
                )
            }
        ),
    }


def _agent_paths() -> dict[str, Schema]:
    return {
        "/v1/agent/self": _any_method(
            {
                "get": op(
                    "agentSelf",
                    "The agent's configuration and stats",
                    {200: json_ok(ref("AgentSelf"))},
                    (*GENERIC, 500),
                    tags=("agent",),
                )
            }
        ),
        "/v1/agent/health": _any_method(
            {
                "get": op(
                    "agentHealth",
                    "Whether the agent is up",
                    {200: json_ok(ref("AgentHealth"))},
                    ALWAYS,
                    tags=("agent",),
                )
            }
        ),
        "/v1/metrics": {
            "get": op(
                "metrics",
                "The agent's metrics, as JSON or Prometheus text",
                {
                    200: {
                        "description": "Nomad's JSON summary, or with `format=prometheus` the text exposition format",
                        "content": {
                            "application/json": {"schema": ref("Metrics")},
                            PROMETHEUS_MEDIA_TYPE: {"schema": STR},
                        },
                    }
                },
                (405, *ALWAYS),
                [query("format", STR, "`prometheus` for the text format")],
                tags=("agent",),
            )
        },
        OPENAPI_PATH: {
            "get": op(
                "openapi",
                "This document",
                {200: json_ok({"type": "object", "required": ["openapi", "paths"]})},
                (405, *ALWAYS),
                tags=("agent",),
            )
        },
        "/v1/node/{node_id}": {
            "get": op(
                "nodeGet",
                "The local node",
                {200: json_ok(ref("Node"), index_headers=True)},
                (*GENERIC, 404, 405),
                [path_param("node_id", "This agent's node ID"), *BLOCKING],
                tags=("node",),
            )
        },
        "/v1/nodes": {
            "get": op(
                "nodesList",
                "The node list (this node)",
                {200: json_ok(array(ref("NodeListStub")), index_headers=True)},
                (*GENERIC, 405),
                [
                    PREFIX,
                    query("resources", BOOLEAN_TEXT, "Add resources"),
                    query("os", BOOLEAN_TEXT, "Add os.name"),
                    *BLOCKING,
                ],
                tags=("node",),
            )
        },
    }


def _jobs_paths() -> dict[str, Schema]:
    read = (*GENERIC, 404, 405)
    write_errors = (*GENERIC, 404, 405, 500)
    register = {
        "description": "Register or update a job",
        "body": ref("JobRegisterRequest"),
    }

    def job_read(op_id: str, summary: str, schema: Schema, extra: list[Schema] | None = None) -> Schema:
        return {
            "get": op(
                op_id,
                summary,
                {200: json_ok(schema, index_headers=True)},
                read,
                [JOB_ID, NAMESPACE, *(extra or []), *BLOCKING],
                tags=("jobs",),
            )
        }

    def register_op(op_id: str, params: list[Schema]) -> Schema:
        return op(
            op_id,
            register["description"],
            {200: json_ok(ref("JobWriteResponse"))},
            write_errors,
            [*params, NAMESPACE],
            body=register["body"],
            body_required=True,
            tags=("jobs",),
        )

    return {
        "/v1/jobs": {
            "get": op(
                "jobsList",
                "The jobs",
                {200: json_ok(array(ref("JobListStub")), index_headers=True)},
                read,
                [NAMESPACE, PREFIX, *BLOCKING],
                tags=("jobs",),
            ),
            "put": register_op("jobsRegister", []),
            "post": register_op("jobsRegisterPost", []),
        },
        "/v1/job/{job_id}": {
            **job_read("jobGet", "A job", ref("Job")),
            "put": register_op("jobRegister", [JOB_ID]),
            "post": register_op("jobRegisterPost", [JOB_ID]),
            "delete": op(
                "jobDeregister",
                "Stop a job (and with purge=true forget it)",
                {200: json_ok(ref("JobWriteResponse"))},
                write_errors,
                [JOB_ID, NAMESPACE, query("purge", BOOLEAN_TEXT, "Also forget the job")],
                tags=("jobs",),
            ),
        },
        "/v1/job/{job_id}/allocations": job_read(
            "jobAllocations", "A job's allocations", array(ref("AllocListStub"))
        ),
        "/v1/job/{job_id}/summary": job_read("jobSummary", "A job's summary", ref("JobSummary")),
        "/v1/job/{job_id}/logs": {
            "get": op(
                "jobLogs",
                "The logs of every allocation of a job (Outrider's own endpoint)",
                {
                    200: log_lines_ok(
                        "Lines prefixed `<alloc ID, first 8>/<task>: ` (`plain=true`), or one LogLine "
                        "with AllocID and Task per line (`format=ndjson`)",
                        frames_too=False,
                    )
                },
                read,
                [
                    JOB_ID,
                    NAMESPACE,
                    LOG_TYPE,
                    query("task", STR, "Only this task (default: every task)"),
                    query("all", BOOLEAN_TEXT, "Also terminal allocations"),
                    query("max_streams", COUNT, "At most this many allocations read at once (default 50)"),
                    query("follow", BOOLEAN_TEXT, "Keep following; allocations placed later join"),
                    query(
                        "plain",
                        BOOLEAN_TEXT,
                        "Prefixed lines as text (plain=true or format=ndjson is required)",
                    ),
                    *[p for p in LOG_LINE_OPTIONS if p["name"] != "before"],
                ],
                tags=("jobs",),
                **{"x-frame-stream": True},
            )
        },
        "/v1/job/{job_id}/versions": job_read(
            "jobVersions",
            "A job's versions",
            ref("JobVersions"),
            [query("diffs", BOOLEAN_TEXT, "Accepted; Diffs is null")],
        ),
        "/v1/allocations": {
            "get": op(
                "allocationsList",
                "The allocations",
                {200: json_ok(array(ref("AllocListStub")), index_headers=True)},
                read,
                [NAMESPACE, PREFIX, query("task_states", STR, "`false` leaves TaskStates null"), *BLOCKING],
                tags=("allocations",),
            )
        },
        "/v1/allocation/{alloc_id}": {
            "get": op(
                "allocationGet",
                "An allocation",
                {200: json_ok(ref("Allocation"), index_headers=True)},
                (*read, 500),
                [ALLOC_ID, *BLOCKING],
                tags=("allocations",),
            )
        },
        "/v1/allocation/{alloc_id}/stop": {
            method: op(
                f"allocationStop{method.title()}",
                "Stop an allocation",
                {200: json_ok(ref("AllocStopResponse"))},
                (*GENERIC, 404, 405),
                [ALLOC_ID],
                tags=("allocations",),
            )
            for method in ("put", "post")
        },
    }


def _acl_paths() -> dict[str, Schema]:
    read = (*GENERIC, 404, 405)
    write = (*GENERIC, 405)
    written = empty_ok("Written; the body is empty, `X-Nomad-Index` has the index")

    def token_answer() -> Schema:
        return json_ok(ref("ACLToken"))

    def writes(op_id: str, summary: str, ok: Schema, params: list[Schema], body: Schema) -> dict[str, Schema]:
        return {
            method: op(
                f"{op_id}{method.title()}",
                summary,
                {200: ok},
                (*write, 500),
                params,
                body=body,
                tags=("acl",),
            )
            for method in ("put", "post")
        }

    policy_name = path_param("name", "The policy's name")
    accessor = path_param("accessor_id", "The token's AccessorID")
    return {
        "/v1/acl/bootstrap": writes(
            "aclBootstrap",
            "Create the first management token",
            token_answer(),
            [],
            ref("ACLBootstrapRequest"),
        ),
        "/v1/acl/policies": {
            "get": op(
                "aclPolicies",
                "The policies",
                {200: json_ok(array(ref("ACLPolicyListStub")), index_headers=True)},
                read,
                [PREFIX, *BLOCKING],
                tags=("acl",),
            )
        },
        "/v1/acl/policy/self": {
            "get": op(
                "aclPolicySelf",
                "The caller's policies",
                {200: json_ok(nullable(array(ref("ACLPolicyListStub"))), index_headers=True)},
                read,
                [PREFIX, *BLOCKING],
                tags=("acl",),
            )
        },
        "/v1/acl/policy/{name}": {
            "get": op(
                "aclPolicyGet",
                "A policy",
                {200: json_ok(ref("ACLPolicy"), index_headers=True)},
                read,
                [policy_name, *BLOCKING],
                tags=("acl",),
            ),
            **writes(
                "aclPolicyUpsert",
                "Create or update a policy",
                written,
                [policy_name],
                ref("ACLPolicyRequest"),
            ),
            "delete": op(
                "aclPolicyDelete", "Delete a policy", {200: written}, write, [policy_name], tags=("acl",)
            ),
        },
        "/v1/acl/tokens": {
            "get": op(
                "aclTokens",
                "The tokens",
                {200: json_ok(array(ref("ACLTokenListStub")), index_headers=True)},
                (*read, 500),
                [
                    PREFIX,
                    query("per_page", {"type": "string", "pattern": "^[0-9]{0,9}$"}, "Page size"),
                    query("next_token", STR, "Where the page starts"),
                    query("reverse", STR, "`true` lists newest first"),
                    query("filter", STR, "Not supported: any value is a 400"),
                    *BLOCKING,
                ],
                tags=("acl",),
            )
        },
        "/v1/acl/token": writes(
            "aclTokenCreate", "Create a token", token_answer(), [], ref("ACLTokenRequest")
        ),
        "/v1/acl/token/self": {
            "get": op(
                "aclTokenSelf",
                "The caller's token",
                {200: token_answer()},
                (*GENERIC, 404, 405, 500),
                tags=("acl",),
            )
        },
        "/v1/acl/token/{accessor_id}": {
            "get": op(
                "aclTokenGet",
                "A token",
                {200: token_answer()},
                (*read, 500),
                [accessor, *BLOCKING],
                tags=("acl",),
            ),
            **writes("aclTokenUpdate", "Update a token", token_answer(), [accessor], ref("ACLTokenRequest")),
            "delete": op(
                "aclTokenDelete", "Delete a token", {200: written}, write, [accessor], tags=("acl",)
            ),
        },
    }


def build_document(version: str = __version__) -> Schema:
    """The whole document; a fresh copy on each call (callers may change theirs)."""
    paths: dict[str, Schema] = {}
    for part in (_agent_paths, _fs_paths, _client_paths, _jobs_paths, _acl_paths):
        paths.update(part())
    return copy.deepcopy(
        {
            "openapi": "3.1.0",
            "info": {
                "title": "Outrider agent API",
                "version": version,
                "description": (
                    "The client HTTP API of a Nomad-compatible client agent. "
                    "`x-any-method: true` marks a path that serves any method as the ones listed; "
                    "every other path answers an unlisted method with 405. "
                    "`x-frame-stream: true` marks a response made of back-to-back StreamFrame objects."
                ),
            },
            "components": {
                "schemas": COMPONENTS,
                "securitySchemes": {
                    "nomadToken": {"type": "apiKey", "in": "header", "name": "X-Nomad-Token"},
                    "bearer": {"type": "http", "scheme": "bearer"},
                },
            },
            "security": [{}, {"nomadToken": []}, {"bearer": []}],
            "paths": paths,
        }
    )
