"""The ASGI app in-process, on both event loops (asyncio and uvloop), for fast checks of routing and encoding."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvloop

from outrider.agent import Agent
from outrider.config import AgentConfig
from outrider.http.app import build_app
from tests.conftest import make_external_alloc

LOOPS: dict[str, Callable[[], asyncio.AbstractEventLoop]] = {
    "asyncio": asyncio.new_event_loop,
    "uvloop": uvloop.new_event_loop,
}


@pytest.fixture(params=sorted(LOOPS))
def run(request: pytest.FixtureRequest) -> Iterator[Callable[[Coroutine[Any, Any, Any]], Any]]:
    loop = LOOPS[request.param]()
    try:
        yield loop.run_until_complete
    finally:
        loop.close()


@pytest.fixture
def agent(tmp_path: Path) -> Iterator[Agent]:
    agent = Agent(AgentConfig(data_dir=str(tmp_path)).finalize())
    yield agent
    agent.close()


def client(agent: Agent) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=build_app(agent)), base_url="http://agent")


def test_stat_and_ls_in_process(run: Callable[[Any], Any], no_fd_leak: None, agent: Agent) -> None:
    alloc = make_external_alloc(Path(agent.config.alloc_dir))
    alloc.write("alloc/logs/web.stdout.0", "hello\n")

    async def body() -> None:
        async with client(agent) as c:
            st = await c.get(f"/v1/client/fs/stat/{alloc.id}", params={"path": "alloc/logs/web.stdout.0"})
            assert st.json()["Size"] == 6
            ls = await c.get(f"/v1/client/fs/ls/{alloc.id}", params={"path": "alloc/logs"})
            assert [e["Name"] for e in ls.json()] == ["web.stdout.0"]
            cat = await c.get(f"/v1/client/fs/cat/{alloc.id}", params={"path": "alloc/logs/web.stdout.0"})
            assert cat.content == b"hello\n"

    run(body())


def test_pretty_rules(run: Callable[[Any], Any], agent: Agent) -> None:
    alloc = make_external_alloc(Path(agent.config.alloc_dir))

    async def body() -> None:
        async with client(agent) as c:
            url = f"/v1/client/fs/stat/{alloc.id}"
            for flag, pretty in (("", True), ("1", True), ("false", True), ("0", False)):
                text = (await c.get(url, params={"path": "/", "pretty": flag})).text
                assert text.endswith("\n") is pretty
                assert ('\n    "FileMode": ' in text) is pretty

    run(body())


def test_any_method_is_served(run: Callable[[Any], Any], agent: Agent) -> None:
    alloc = make_external_alloc(Path(agent.config.alloc_dir))

    async def body() -> None:
        async with client(agent) as c:
            for method in ("GET", "POST", "PUT", "DELETE"):
                resp = await c.request(method, f"/v1/client/fs/ls/{alloc.id}")
                assert resp.status_code == 200, method

    run(body())


@pytest.mark.parametrize(
    ("path", "status", "text"),
    [
        ("/v1/acl/token/a%0Ab", 400, "ACL support disabled"),
        ("/v1/acl/policy/%0A", 400, "ACL support disabled"),
        ("/v1/node/a%0Ab", 404, "node not found"),
        ("/v1/job/a%0Ab", 404, "job not found"),
        ("/v1/job/a%0Ab/summary", 404, "job not found"),
        ("/v1/allocation/a%0Ab", 404, "alloc not found"),
        ("/v1/no%0Asuch", 404, ""),
    ],
)
def test_a_newline_in_a_path_reaches_the_handler(
    run: Callable[[Any], Any], agent: Agent, path: str, status: int, text: str
) -> None:
    # Go's ServeMux hands the whole rest of the path to the handler; Starlette's own
    # "Not Found" page must never answer.
    async def body() -> None:
        async with client(agent) as c:
            resp = await c.get(path)
            assert (resp.status_code, resp.text) == (status, text)

    run(body())


def test_operator_headers_on_errors_too(run: Callable[[Any], Any], tmp_path: Path) -> None:
    cfg = AgentConfig(data_dir=str(tmp_path), response_headers={"X-Served-By": "outrider"}).finalize()
    agent = Agent(cfg)

    async def body() -> None:
        async with client(agent) as c:
            ok = await c.get("/v1/agent/health")
            err = await c.get("/v1/client/fs/ls/")
            assert ok.headers["x-served-by"] == err.headers["x-served-by"] == "outrider"
            assert err.status_code == 400

    try:
        run(body())
    finally:
        agent.close()


@pytest.mark.parametrize(
    ("headers", "token"),
    [
        ({}, ""),
        ({"X-Nomad-Token": "  abc  "}, "abc"),
        ({"X-Nomad-Token": "abc", "Authorization": "Bearer other"}, "abc"),
        ({"X-Nomad-Token": "   ", "Authorization": "Bearer other"}, "other"),
        # Not blank to Go's header parser, blank after TrimSpace: anonymous, Authorization unread.
        ({"X-Nomad-Token": " \x0b ", "Authorization": "Bearer other"}, ""),
        ({"Authorization": "Bearer a", "X-Nomad-Token": "b"}, "b"),
        ({"X-Nomad-Token": "", "Authorization": "Bearer other"}, "other"),
        ({"Authorization": "bearer  tok  extra"}, "tok"),
        ({"Authorization": "BEARER tok"}, "tok"),
        ({"Authorization": "Basic dXNlcg=="}, ""),
        ({"Authorization": "Bearer"}, ""),
        ({"Authorization": "Bearer "}, ""),
    ],
)
def test_token_extraction(headers: dict[str, str], token: str) -> None:
    from starlette.requests import Request

    from outrider.http.params import token_of

    scope = {"type": "http", "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()]}
    assert token_of(Request(scope)) == token
