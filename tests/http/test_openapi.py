"""The OpenAPI document (``/v1/openapi.json``) against the app it describes.

Paths both ways: every documented path reaches a real handler of the app (not the
bare 404 of unknown paths), and every route, fs operation and allocation action of
the app is reached by a documented path. Methods both ways, on a real agent: a
documented method is never answered ``405``, and an undocumented one is, unless the
path item says ``x-any-method`` (then no method is ``405``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from openapi_spec_validator import validate
from starlette.routing import Match, Route

from outrider.http import app as app_module
from outrider.http.openapi import OPENAPI_PATH, build_document
from outrider.http.subtrees import allocation_subtree, fs_subtree
from tests.conftest import AgentProcess, make_external_alloc

DOC = build_document()
METHODS = ("get", "post", "put", "delete", "patch")
PARAM = re.compile(r"\{([^}]+)\}")
SAMPLE_ID = "0b4d3b7e-2e0a-4c2f-9a47-6e0d1b8c9f10"


def concrete(path: str, values: dict[str, str] | None = None) -> str:
    """A documented path with each parameter replaced by a sample value."""
    return PARAM.sub(lambda m: (values or {}).get(m.group(1), SAMPLE_ID), path)


def app_routes() -> list[Route]:
    routes: list[Route] = []
    for module in app_module.ROUTE_MODULES:
        routes.extend(getattr(module, "ROUTES", []))
    return routes


def route_key(path: str) -> str | None:
    """The app's handler key that ``path`` reaches: a subtree operation or a router path; None for none."""
    fs = fs_subtree(app_module._collect("FS_OPS"))
    allocation = allocation_subtree(app_module._collect("ALLOC_ACTIONS"))
    for subtree in (fs, allocation):
        if path.startswith(subtree.prefix):
            found = subtree.resolve(path[len(subtree.prefix) :])
            return None if found is None else found[2]
    scope = {"type": "http", "path": path, "method": "GET", "root_path": ""}
    for route in app_routes():
        if route.matches(scope)[0] is Match.FULL:
            return route.path
    return None


def test_document_is_valid_openapi_3_1() -> None:
    assert DOC["openapi"] == "3.1.0"
    validate(DOC)


def test_every_documented_path_reaches_a_handler() -> None:
    unserved = [path for path in DOC["paths"] if route_key(concrete(path)) is None]
    assert unserved == []


def test_every_handler_is_documented() -> None:
    reached = {route_key(concrete(path)) for path in DOC["paths"]}
    served = {route.path for route in app_routes()}
    served |= {f"/v1/client/fs/{op}" for op in app_module._collect("FS_OPS")}
    served |= {
        f"/v1/client/allocation/{{alloc_id}}/{action}" for action in app_module._collect("ALLOC_ACTIONS")
    }
    assert served - reached == set()


def test_route_key_tells_unknown_paths_apart() -> None:
    # The two checks above would pass vacuously if every path reached something.
    assert route_key("/v1/client/fs/nope/x") is None
    assert route_key(f"/v1/client/allocation/{SAMPLE_ID}/nope") is None
    assert route_key("/v1/nope") is None
    assert route_key("/v1/client/fs/ls/x") == "/v1/client/fs/ls"


def test_every_operation_has_an_id_and_answers_its_errors_as_text() -> None:
    ids = []
    for item in DOC["paths"].values():
        for method in METHODS:
            if method in item:
                operation = item[method]
                ids.append(operation["operationId"])
                for status, response in operation["responses"].items():
                    if int(status) >= 400:
                        assert list(response["content"]) == ["text/plain; charset=utf-8"], status
    assert len(ids) == len(set(ids))


def test_frame_schema_is_nomads_stream_frame() -> None:
    frame = DOC["components"]["schemas"]["StreamFrame"]
    assert set(frame["properties"]) == {"Offset", "Data", "File", "FileEvent"}
    assert frame["properties"]["Data"]["contentEncoding"] == "base64"
    assert frame["additionalProperties"] is False


# -- methods, on a real agent ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def ids(agent: AgentProcess) -> dict[str, str]:
    """Path values that reach each handler's method check: an allocation the agent serves, its node."""
    alloc = make_external_alloc(agent.alloc_dir)
    alloc.write("alloc/logs/web.stdout.0", "x")
    with agent.client() as client:
        node_id = client.get("/v1/agent/self").json()["stats"]["client"]["node_id"]
    return {
        "alloc_id": alloc.id,
        "node_id": node_id,
        "job_id": "no-such-job",
        "name": "p",
        "accessor_id": SAMPLE_ID,
    }


def _cases() -> Iterator[Any]:
    for path in DOC["paths"]:
        for method in METHODS:
            yield pytest.param(path, method, id=f"{method.upper()} {path}")


@pytest.mark.functional
@pytest.mark.parametrize(("path", "method"), list(_cases()))
def test_methods_match_the_document(http: httpx.Client, ids: dict[str, str], path: str, method: str) -> None:
    item = DOC["paths"][path]
    query = {"path": "alloc/logs/web.stdout.0", "task": "web", "type": "stdout", "follow": "false"}
    answer = http.request(method.upper(), concrete(path, ids), params=query, content=b"{}")
    if method in item or item.get("x-any-method"):
        assert answer.status_code != 405, answer.text
    else:
        assert (answer.status_code, answer.text) == (405, "Invalid method")


def test_served_document_is_the_built_one(http: httpx.Client) -> None:
    answer = http.get(OPENAPI_PATH)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    assert answer.json() == DOC
    assert http.get(OPENAPI_PATH, params={"pretty": "1"}).text.startswith('{\n    "components"')
    assert http.post(OPENAPI_PATH).status_code == 405
