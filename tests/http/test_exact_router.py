"""The dict-first router answers exactly as Starlette's walk does, on the agent's own routes and on shadowed ones."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route, Router

from outrider.agent import Agent
from outrider.config import AgentConfig
from outrider.http.app import build_app
from outrider.http.exact_router import ExactRouter, exact_routes


async def _named(request: Request) -> Response:
    route = request.scope["route"]
    return PlainTextResponse(f"{route.path} {request.scope['endpoint'].__name__} {request.path_params}")


async def _other(request: Request) -> Response:
    return PlainTextResponse(f"other {request.path_params}")


ROUTES = [
    Route("/a/{x}", _other),
    Route("/a/fixed", _named),  # shadowed by the pattern before it
    Route("/b", _named, methods=["GET"]),
    Route("/b/", _other, methods=["POST"]),
    Route("/c/", _named),
]

PROBES = [
    ("GET", "/a/fixed"),
    ("GET", "/b"),
    ("HEAD", "/b"),
    ("POST", "/b"),
    ("GET", "/b/"),
    ("POST", "/b/"),
    ("GET", "/c"),
    ("GET", "/c/"),
    ("GET", "/b%0A"),
    ("GET", "/nowhere"),
]


def _answers(app: Starlette) -> list[tuple[int, dict[str, str], bytes]]:
    async def body() -> list[tuple[int, dict[str, str], bytes]]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            out = []
            for method, path in PROBES:
                r = await client.request(method, path, follow_redirects=False)
                out.append((r.status_code, dict(r.headers), r.content))
            return out

    return asyncio.run(body())


def test_same_answers_as_the_walk() -> None:
    walk = Starlette(routes=ROUTES)
    fast = Starlette()
    fast.router = ExactRouter(ROUTES)
    assert isinstance(walk.router, Router) and not isinstance(walk.router, ExactRouter)
    assert _answers(fast) == _answers(walk)


def test_shadowed_and_parameterised_routes_stay_with_the_walk() -> None:
    table = exact_routes(ROUTES)
    assert sorted(table) == ["/b", "/b/", "/c/"]
    assert table["/b"] is ROUTES[2]


def test_agent_constant_routes_are_looked_up(tmp_path: Path) -> None:
    agent = Agent(AgentConfig(data_dir=str(tmp_path)).finalize())
    try:
        app = build_app(agent)
        assert isinstance(app.router, ExactRouter)
        assert {"/v1/client/stats", "/v1/client/metadata", "/v1/agent/self"} <= set(app.router.exact)
        # Every route, constant or not, is still in the walk for everything the table does not take.
        assert all(route in app.router.routes for route in app.router.exact.values())
    finally:
        agent.close()
