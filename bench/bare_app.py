"""A bare Starlette app, routes returning constants, served exactly as the agent is served.

``python -m bench.bare_app --server uvicorn|hypercorn`` binds a free
loopback port with :func:`outrider.server.bind_socket`, prints ``BARE APP at
<url>`` and serves on uvloop through :func:`outrider.server.serve_asgi` until
SIGTERM. It is the "same server, no Outrider" baseline of the small-endpoint
scenario (``/``) and of ``readat`` (``/bytes?n=<size>``: ``size`` pre-built bytes).
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


MAX_BYTES = 1 << 20
_blobs: dict[int, bytes] = {}


async def constant(request: Request) -> Response:
    return Response(BODY, media_type="application/json")


async def blob(request: Request) -> Response:
    """``n`` bytes built once per size: what answering a range costs the server alone."""
    try:
        n = int(request.query_params.get("n", "0"))
    except ValueError:
        return Response(b"n must be an integer", status_code=400)
    if not 0 <= n <= MAX_BYTES:
        return Response(b"n out of range", status_code=400)
    body = _blobs.get(n)
    if body is None:
        body = _blobs[n] = bytes(n)
    return Response(body, media_type="application/octet-stream")


def build() -> Starlette:
    return Starlette(routes=[Route("/", constant), Route("/bytes", blob)])


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
