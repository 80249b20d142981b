"""The reference servers: nginx over the same alloc dir, and a bare Starlette app on Outrider's server code."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Self

from bench.launcher import StartError, stop_process, wait_ready

NGINX_CONF = """\
{user}worker_processes 1;
daemon off;
master_process on;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
worker_rlimit_nofile 65536;
events {{ worker_connections 20000; }}
http {{
    access_log off;
    sendfile on;
    # No tcp_nopush: with Range answers it holds the last partial segment for the 40 ms
    # delayed-ACK timer and caps 64 KiB ranges near 1,000 requests per second.
    keepalive_requests 10000000;
    keepalive_timeout 75s;
    default_type application/octet-stream;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {root};
        location / {{ }}
    }}
}}
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_listening(port: int, proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise StartError(f"exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise StartError(f"nothing listens on 127.0.0.1:{port} after {timeout:.0f}s")


class Nginx:
    """nginx with one worker (the agent is one process too), sendfile on, rooted at ``root``."""

    label = "nginx (sendfile)"

    def __init__(self, binary: str, root: Path, prefix: Path) -> None:
        self.binary = binary
        self.root = root
        self.prefix = prefix
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Nginx:
        self.prefix.mkdir(parents=True, exist_ok=True)
        for attempt in range(3):
            self.port = free_port()
            conf = self.prefix / "nginx.conf"
            # Workers of a root master drop to "nobody", who cannot enter the private temp dir.
            user = "user root;\n" if os.geteuid() == 0 else ""
            conf.write_text(NGINX_CONF.format(user=user, prefix=self.prefix, port=self.port, root=self.root))
            log = self.prefix / "stderr.log"
            with open(log, "wb") as out:
                self.proc = subprocess.Popen(
                    [
                        self.binary,
                        "-c",
                        str(conf),
                        "-p",
                        str(self.prefix),
                        "-e",
                        str(self.prefix / "error.log"),
                    ],
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            try:
                wait_listening(self.port, self.proc)
                return self
            except StartError:
                stop_process(self.proc, 5)
                if attempt == 2:
                    raise StartError("nginx did not start:\n" + log.read_text(errors="replace")) from None
        return self

    def rss(self) -> int:
        import psutil

        assert self.proc is not None
        parent = psutil.Process(self.proc.pid)
        return int(sum(p.memory_info().rss for p in [parent, *parent.children()]))

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc, 10)
            self.proc = None


class ModulePeer:
    """A peer run as ``python -m MODULE ARGS`` from the repository root, ready once it prints its URL."""

    def __init__(self, args: list[str], ready: re.Pattern[str], log: Path) -> None:
        self.args = args
        self.ready = ready
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = ""

    @property
    def host_port(self) -> tuple[str, int]:
        host, port = self.url.removeprefix("http://").rsplit(":", 1)
        return host, int(port)

    def start(self) -> Self:
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", *self.args],
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=Path(__file__).parent.parent,
            )
        self.url = wait_ready(self.proc, self.log, self.ready, 30.0)
        return self

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc, 10)
            self.proc = None


BARE_READY = re.compile(r"BARE APP at (http://[^\s]+)")


class BareApp(ModulePeer):
    """``python -m bench.bare_app``: one Starlette route returning a constant, on the agent's server code."""

    def __init__(self, server: str, workdir: Path) -> None:
        super().__init__(["bench.bare_app", "--server", server], BARE_READY, workdir / f"bare-{server}.log")
        self.server = server

    @property
    def label(self) -> str:
        return f"bare Starlette ({self.server})"


FLOOR_READY = re.compile(r"FLOOR at (http://[^\s]+)")


class Floor(ModulePeer):
    """``python -m bench.floor``: followers served by a bare uvloop protocol, the floor of the stream scenarios."""

    label = "floor (uvloop protocol)"

    def __init__(self, root: Path, workdir: Path) -> None:
        super().__init__(["bench.floor", "--root", str(root)], FLOOR_READY, workdir / "floor.log")
