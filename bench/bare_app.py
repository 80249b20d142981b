"""A bare Starlette app, one route returning a constant, served exactly as the agent is served.

``python -m bench.bare_app --server uvicorn|hypercorn`` binds a free
loopback port with :func:`outrider.server.bind_socket`, prints ``BARE APP at
<url>`` and serves on uvloop through :func:`outrider.server.serve_asgi` until
SIGTERM. It is the "same server, no Outrider" baseline of the small-endpoint
scenario.
"""

from __future__ import annotations

import argparse
import asyncio
import signal

import uvloop
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from outrider.config import SERVERS
from outrider.server import bind_socket, serve_asgi, url_of

BODY = b'{"ok":true}'


async def constant(request: Request) -> Response:
    return Response(BODY, media_type="application/json")


def build() -> Starlette:
    return Starlette(routes=[Route("/", constant)])


async def _serve(server: str) -> None:
    sock = bind_socket("127.0.0.1", 0)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(f"BARE APP at {url_of(sock)}", flush=True)
    try:
        await serve_asgi(build(), sock, server, stop.wait)
    finally:
        try:
            sock.close()
        except OSError:
            pass


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bare_app", description=__doc__)
    parser.add_argument("--server", choices=SERVERS, default="uvicorn")
    args = parser.parse_args()
    uvloop.run(_serve(args.server))


if __name__ == "__main__":
    main()
