"""Run the ASGI app under uvicorn (default) or hypercorn, on a socket bound before the ready line.

granian is not offered, though it is fast: it has no public way to serve a socket bound
before the ready line (upstream issue emmett-framework/granian#786), and it answers
malformed requests itself with bare 400s, not Nomad's error texts.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import signal
import socket
from collections.abc import Awaitable, Callable
from typing import Any

from outrider.agent import Agent
from outrider.config import Limits
from outrider.conn_guard import ConnectionGuard
from outrider.http.app import build_app

log = logging.getLogger("outrider.server")

# Seconds in-flight requests get to finish on shutdown; streams end sooner because
# they watch ``agent.stopping``.
GRACEFUL_TIMEOUT = 3.0


# The module each server needs and the extra that installs it (pyproject.toml's optional dependencies).
_SERVER_MODULES = {
    "hypercorn": ("hypercorn.asyncio", "hypercorn"),
    "uvicorn": ("uvicorn", "uvicorn"),
}


def server_missing(server: str) -> str | None:
    """Why ``server`` cannot serve here (one line saying what to install), or None when it can.

    Checked before the socket is bound, so a missing extra never follows a ready line.
    """
    module, extra = _SERVER_MODULES[server]
    try:
        importlib.import_module(module)
    except ImportError as exc:
        return f"--server {server} needs the {extra} package ({exc}); install it with pip install 'outrider[{extra}]' or choose another --server"
    return None


def bind_socket(host: str, port: int) -> socket.socket:
    """Bind and listen now, so the ready line is printed only once connections are accepted."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


async def serve(agent: Agent, sock: socket.socket, server: str = "uvicorn") -> None:
    """Serve until SIGINT or SIGTERM, then close streams, stop services and flush state."""
    app = build_app(agent)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    async def trigger() -> None:
        await stop.wait()
        log.info("shutting down")
        agent.stopping.set()

    exempt = agent.fleet.is_member if agent.fleet is not None else None
    await serve_asgi(app, sock, server, trigger, agent.config.limits, exempt)


async def serve_asgi(
    app: Any,
    sock: socket.socket,
    server: str,
    shutdown_trigger: Callable[[], Awaitable[None]],
    limits: Limits | None = None,
    exempt: Callable[[str], bool] | None = None,
) -> None:
    """Serve any ASGI ``app`` on the listening ``sock`` with ``server`` until ``shutdown_trigger()`` returns.

    ``limits`` (the agent's ``limits`` block) caps connections per client and
    times out slow request heads; without it nothing is capped. ``exempt(address)``
    names client addresses the cap never counts (a fleet's other members). The benchmark
    suite serves its bare constant app through this too, so both sides of a
    comparison run on the same server code.
    """
    if server not in ("hypercorn", "uvicorn"):
        raise SystemExit(f"server {server!r} is not supported; use uvicorn or hypercorn")
    serve_with = _serve_hypercorn if server == "hypercorn" else _serve_uvicorn
    unlimited = limits is None or not (limits.http_max_conns_per_client or limits.http_read_header_timeout)
    if unlimited and server == "hypercorn":
        await serve_with(app, sock, shutdown_trigger)
        return
    # uvicorn's parser bounds no request head: the guard's head-size cap stands in for it.
    guard = ConnectionGuard(limits or Limits(http_max_conns_per_client=0, http_read_header_timeout=0), exempt)
    with guard.installed(asyncio.get_running_loop(), sock):
        await serve_with(guard.asgi(app), sock, shutdown_trigger)


async def _serve_hypercorn(app: Any, sock: socket.socket, trigger: Any) -> None:
    from hypercorn.asyncio import serve as hyper_serve
    from hypercorn.config import Config

    from outrider import _hypercorn_fix

    _hypercorn_fix.apply()
    config = Config()
    config.bind = [f"fd://{sock.fileno()}"]
    config.graceful_timeout = GRACEFUL_TIMEOUT
    config.keep_alive_timeout = 75
    config.backlog = 2048
    config.accesslog = None
    config.errorlog = logging.getLogger("hypercorn.error")
    config.include_server_header = False
    await hyper_serve(app, config, shutdown_trigger=trigger)


async def _serve_uvicorn(app: Any, sock: socket.socket, trigger: Any) -> None:
    import uvicorn

    # No ``server: uvicorn`` header: Nomad's Go HTTP server sends none, nor does hypercorn here.
    config = uvicorn.Config(
        app,
        lifespan="on",
        access_log=False,
        log_config=None,
        timeout_graceful_shutdown=3,
        server_header=False,
        # uvicorn trusts X-Forwarded-For from 127.0.0.1 by default: any local process could
        # then pick the address its failed ACL tokens are counted against. Nomad's agent
        # takes the address from the connection only (command/agent/http.go).
        proxy_headers=False,
    )
    server = uvicorn.Server(config)
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]

    async def watch() -> None:
        await trigger()
        server.should_exit = True

    watcher = asyncio.ensure_future(watch())
    try:
        await server.serve(sockets=[sock])
    finally:
        watcher.cancel()
