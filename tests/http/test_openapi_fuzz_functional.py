"""Schemathesis against a real agent: every answer conforms to ``/v1/openapi.json``.

The document (:mod:`outrider.http.openapi`) drives the generation of requests to
every operation, positive and negative, with ACLs off and with ACLs on (a
management token). Each answer must arrive within the client's timeout, must not
be a 5xx the document does not list for the operation, and its status code,
content type, headers and body must be the ones the document gives. A stream's
body is split into frames, each checked against the frame schema.

What is steered, and why:

- The agent runs in dev mode with ``raw_exec`` disabled: a generated job can be
  registered only as far as the driver check (400), so no generated command runs.
  A first agent on the same data dir, with ``raw_exec`` on, ran one short job to its
  end, so the fuzzed agent has a job, a terminal allocation, task states and logs.
- Path and query values that name things (the allocation, its files, its tasks,
  the node) are drawn from the real ones as often as from arbitrary strings, so
  requests get past the 404s into the handlers.
- ``follow`` is always ``false`` and a blocking query waits at most 20 ms: both wait
  by design (a follow until the client leaves, a blocking query up to 10 minutes);
  their own tests cover them.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from outrider.config import ConfigError, parse_duration
from outrider.http.openapi import build_document
from tests.conftest import AgentProcess, make_external_alloc, start_configured_agent
from tests.frames import split_frames
from tests.runner import jobspecs as J
from tests.runner.support import kill_leftovers, wait_for

pytestmark = pytest.mark.functional

EXAMPLES = int(os.environ.get("OUTRIDER_FUZZ_EXAMPLES", "20"))
REQUEST_TIMEOUT = 10.0
JOB_ID = "fuzz-real"
TASK = "say"
NO_RAW_EXEC = 'plugin "raw_exec" {\n  config {\n    enabled = false\n  }\n}\n'
FILES = {
    "alloc/logs/web.stdout.0": b"first line\n" * 20,
    "alloc/logs/web.stderr.0": b"warn\n",
    "alloc/data/notes.txt": b"notes",
    "alloc/data/deep/a.json": b"{}",
    "web/secrets/token": b"s3cr3t",
}
BODY_CHECKS = [status_code_conformance, content_type_conformance, response_headers_conformance]


@dataclass
class World:
    agent: AgentProcess
    alloc_id: str
    owned_id: str
    node_id: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"X-Nomad-Token": self.token} if self.token else {}


def _run_real_job(root: Path, acl_config: str) -> None:
    """Run one short job to its end on an agent that may, then stop that agent: its allocation,
    task states and logs stay in the data dir for the agent that is fuzzed."""
    agent = start_configured_agent(root, acl_config)
    try:
        with agent.client() as client:
            token = client.put("/v1/acl/bootstrap").json()["SecretID"] if acl_config else ""
            (root / "token").write_text(token)
            headers = {"X-Nomad-Token": token} if token else {}
            spec = J.job(JOB_ID, J.sh(TASK, "echo out; echo err >&2"))
            assert client.put("/v1/jobs", json={"Job": spec}, headers=headers).status_code == 200

            def finished() -> bool:
                allocs = client.get(f"/v1/job/{JOB_ID}/allocations", headers=headers).json()
                return bool(allocs) and allocs[0]["ClientStatus"] == "complete"

            wait_for(finished, what="the job's allocation to complete")
    finally:
        assert agent.stop() == 0


def _start(root: Path, acl: bool) -> World:
    acl_config = "acl {\n  enabled = true\n}\n" if acl else ""
    _run_real_job(root, acl_config)
    agent = start_configured_agent(root, NO_RAW_EXEC + acl_config)
    alloc = make_external_alloc(agent.alloc_dir, tasks=("web", "api"))
    for rel, data in FILES.items():
        alloc.write(rel, data)
    token = (root / "token").read_text()
    headers = {"X-Nomad-Token": token} if token else {}
    with agent.client(headers=headers) as client:
        node_id = client.get("/v1/agent/self").json()["stats"]["client"]["node_id"]
        owned = client.get(f"/v1/job/{JOB_ID}/allocations").json()[0]["ID"]
    return World(agent, alloc.id, owned, node_id, token)


@pytest.fixture(scope="module", params=["acl-off", "acl-on"])
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    found = _start(tmp_path_factory.mktemp(request.param), acl=request.param == "acl-on")
    try:
        yield found
    finally:
        code = found.agent.stop()
        kill_leftovers(found.agent.data_dir)
        assert code == 0, "agent did not stop cleanly:\n" + "".join(found.agent.output)


def _or_real(schema: dict[str, Any], values: list[str]) -> dict[str, Any]:
    return {"anyOf": [{"enum": values}, schema]}


def steered_document(world: World) -> dict[str, Any]:
    """The served document with the real names offered beside arbitrary ones (see the module)."""
    doc = copy.deepcopy(build_document())
    real = {
        "alloc_id": [world.alloc_id, world.owned_id],
        "job_id": [JOB_ID],
        "node_id": [world.node_id],
        "path": [*FILES, "alloc/logs", "/", "alloc/data/deep", "../etc/passwd"],
        "task": ["web", "api", TASK],
    }
    for item in doc["paths"].values():
        for operation in item.values():
            if not isinstance(operation, dict) or "parameters" not in operation:
                continue
            for param in operation["parameters"]:
                if param["name"] in real:
                    param["schema"] = _or_real(param["schema"], real[param["name"]])
    return doc


@pytest.fixture(scope="module")
def api_schema(world: World) -> Any:
    return schemathesis.openapi.from_dict(steered_document(world))


schema = schemathesis.pytest.from_fixture("api_schema")


def bounded(query: dict[str, Any]) -> dict[str, Any]:
    """The query with no follow and a blocking wait of at most 20 ms (see the module)."""
    query = dict(query)
    query["follow"] = "false"
    wait = query.get("wait")
    if "index" in query or wait is not None:
        try:
            parse_duration(str(wait or "0s"))
        except ConfigError:
            return query  # an invalid wait is answered 400 at once
        query["wait"] = "20ms"
    return query


def check_frames(response: Any, frame_schema: dict[str, Any]) -> None:
    """A 200 stream of frames: back-to-back objects, each a StreamFrame."""
    body = response.content
    for frame in split_frames(body):
        jsonschema.validate(frame, frame_schema)


@pytest.mark.timeout(600)
@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_answer_conforms(case: Any, world: World) -> None:
    case.query = bounded(case.query or {})
    case.headers = {**(case.headers or {}), **world.headers}
    response = case.call(base_url=world.agent.url, timeout=REQUEST_TIMEOUT)
    operation = case.operation.definition.raw
    status = str(response.status_code)
    if response.status_code >= 500:
        assert status in operation["responses"], f"undocumented {status}: {response.text}"
    streamed = operation.get("x-frame-stream") and response.status_code == 200
    media_type = response.headers.get("content-type", [""])[0].split(";")[0]
    if streamed and media_type == "application/x-ndjson":
        case.validate_response(response, checks=BODY_CHECKS)
        line_schema = build_document()["components"]["schemas"]["LogLine"]
        for line in response.content.splitlines():
            jsonschema.validate(json.loads(line), line_schema)
    elif streamed and media_type != "text/plain":
        case.validate_response(response, checks=BODY_CHECKS)
        frame_schema = build_document()["components"]["schemas"]["StreamFrame"]
        check_frames(response, frame_schema)
    else:
        case.validate_response(response, checks=[*BODY_CHECKS, response_schema_conformance])
