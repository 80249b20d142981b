"""Run the ASGI app under hypercorn (default) or uvicorn, on a socket bound before the ready line."""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
from typing import Any

from outrider.agent import Agent
from outrider.http.app import build_app

log = logging.getLogger("outrider.server")

# Seconds in-flight requests get to finish on shutdown; streams end sooner because
# they watch ``agent.stopping``.
GRACEFUL_TIMEOUT = 3.0


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


async def serve(agent: Agent, sock: socket.socket, server: str = "hypercorn") -> None:
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

    if server == "hypercorn":
        await _serve_hypercorn(app, sock, trigger)
    elif server == "uvicorn":
        await _serve_uvicorn(app, sock, trigger)
    else:
        raise SystemExit(f"server {server!r} is not supported in-process; use hypercorn or uvicorn")


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

    config = uvicorn.Config(
        app, lifespan="on", access_log=False, log_config=None, timeout_graceful_shutdown=3
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
