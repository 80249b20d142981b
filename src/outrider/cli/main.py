"""``outrider agent`` and ``outrider version``.

Nomad's single-dash spellings (``-dev``, ``-data-dir=DIR``) are accepted as well
as the double-dash ones.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import shutil
import sqlite3
import sys
from collections.abc import Sequence

from outrider import __version__, _impl
from outrider.config import SERVERS, WATCHERS, AgentConfig, ConfigError, resolve

log = logging.getLogger("outrider.cli")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="outrider", description="A Nomad-compatible client agent.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    agent = sub.add_parser("agent", help="run the client agent", description="Run the client agent.")
    agent.add_argument(
        "--dev",
        action="store_true",
        help="development mode: temporary data dir, bind 127.0.0.1, raw_exec enabled",
    )
    agent.add_argument(
        "--config", action="append", default=[], metavar="FILE", help="HCL or JSON config file"
    )
    agent.add_argument("--data-dir", metavar="DIR", help="state and allocations live here")
    agent.add_argument("--alloc-dir", metavar="DIR", help="allocation directories (default <data-dir>/alloc)")
    agent.add_argument(
        "--bind", metavar="ADDR", help="address to listen on (default 0.0.0.0, --dev 127.0.0.1)"
    )
    agent.add_argument(
        "--http-port", type=int, metavar="N", help="HTTP API port (default 4646; 0 picks a free one)"
    )
    agent.add_argument(
        "--meta", action="append", default=[], metavar="KEY=VALUE", help="static node metadata"
    )
    agent.add_argument("--acl-enabled", action="store_true", default=None, help="enforce ACLs")
    agent.add_argument(
        "--fleet-nats",
        action="append",
        default=None,
        metavar="URL",
        help="a NATS server of the fleet (repeatable; a comma-separated list works too)",
    )
    agent.add_argument("--advertise", metavar="URL", help="the URL other fleet members reach this agent at")
    agent.add_argument("--server", choices=SERVERS, help="ASGI server (default uvicorn)")
    agent.add_argument("--watcher", choices=WATCHERS, help="file-change detection (default auto)")
    agent.add_argument("--log-level", metavar="LEVEL", help="debug, info, warn or error")
    agent.add_argument("--log-json", action="store_true", default=None, help="write logs as JSON lines")

    sub.add_parser("version", help="print the version and the core in use")
    return parser


def _normalize(argv: Sequence[str]) -> list[str]:
    """Turn Nomad's ``-data-dir=x`` into ``--data-dir=x``; leave ``-h`` and values alone."""
    out = []
    for arg in argv:
        if arg.startswith("-") and not arg.startswith("--") and len(arg.split("=", 1)[0]) > 2:
            out.append("-" + arg)
        else:
            out.append(arg)
    return out


def build_config(args: argparse.Namespace) -> AgentConfig:
    flags = {
        "data_dir": args.data_dir,
        "alloc_dir": args.alloc_dir,
        "bind_addr": args.bind,
        "http_port": args.http_port,
        "acl_enabled": args.acl_enabled,
        "server": args.server,
        "watcher": args.watcher,
        "log_level": args.log_level,
        "log_json": args.log_json,
        "fleet.nats": [u for item in args.fleet_nats for u in item.split(",") if u]
        if args.fleet_nats
        else None,
        "fleet.advertise": args.advertise,
    }
    return resolve(dev=args.dev, files=args.config, environ=os.environ, flags=flags, meta=args.meta)


def run_agent(cfg: AgentConfig) -> int:
    from outrider.agent import Agent
    from outrider.http.request_guard import is_loopback
    from outrider.logsetup import setup_logging
    from outrider.server import bind_socket, serve, server_missing, url_of

    setup_logging(cfg.log_level, cfg.log_json)
    _raise_fd_limit()
    _impl.warn_if_degraded()
    missing = server_missing(cfg.server)
    if missing:
        raise ConfigError(missing)
    try:
        sock = bind_socket(cfg.bind_addr, cfg.http_port)
    except OSError as exc:
        raise ConfigError(
            f"cannot listen on {cfg.bind_addr}:{cfg.http_port}: {exc.strerror}; "
            "stop what holds the port or pass another --http-port"
        ) from None
    # --http-port 0 asks for a free port: from here on the agent reports the one it got.
    cfg.http_port = sock.getsockname()[1]
    if cfg.fleet.enabled and not cfg.fleet.advertise:
        if cfg.bind_addr in ("0.0.0.0", "::", ""):
            sock.close()
            raise ConfigError(
                f"fleet: the agent listens on every address ({cfg.bind_addr}); "
                "pass --advertise http://ADDR:PORT so the other agents know where to reach it"
            )
        cfg.fleet.advertise = url_of(sock)
    try:
        agent = Agent(cfg)
    except (OSError, sqlite3.Error) as exc:
        sock.close()
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError(
            f"the data directory {cfg.data_dir} is not usable: {why}; "
            "pass --data-dir with a directory this user can create and write"
        ) from None
    url = url_of(sock)
    mode = " (dev mode)" if cfg.dev else ""
    print(f"==> Outrider agent started{mode}! HTTP API at {url}", flush=True)
    if not cfg.acl_enabled and not is_loopback(cfg.bind_addr):
        print(open_agent_warning(cfg, url), flush=True)
    log.info(
        "agent ready",
        extra={"url": url, "node_id": agent.node_id, "data_dir": cfg.data_dir, "core": _impl.core_name()},
    )
    import uvloop

    try:
        uvloop.run(serve(agent, sock, cfg.server))
    finally:
        # The server may already have closed the listening socket it was handed.
        with contextlib.suppress(OSError):
            sock.close()
    print("==> Outrider agent stopped", flush=True)
    return 0


def open_agent_warning(cfg: AgentConfig, url: str) -> str:
    """The one line an agent reachable from the network without ACLs prints at start."""
    runs = (
        "run any command as this agent's user (raw_exec is enabled)" if cfg.raw_exec_enabled else "stop jobs"
    )
    return (
        f"==> WARNING: ACLs are disabled and the agent listens on {url}: anyone who can reach it can read every allocation's files and logs, {runs}, "
        "signal, restart and collect allocations and change node metadata; "
        "enable ACLs (acl { enabled = true }) or bind to 127.0.0.1"
    )


def _raise_fd_limit() -> None:
    """Every follower holds a descriptor; allow as many as the hard limit permits."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(_normalize(sys.argv[1:] if argv is None else argv))
    if args.command == "version":
        print(f"Outrider v{__version__}")
        print(f"native core: {_impl.core_name()}")
        if not _impl.pure_forced():
            for name, why in _impl.fallbacks().items():
                print(f"pure-python twin in use: outrider._native.{name} ({why})")
        return 0
    cfg: AgentConfig | None = None
    try:
        cfg = build_config(args)
        return run_agent(cfg)
    except ConfigError as exc:
        # A start that failed leaves no temporary data directory behind.
        if cfg is not None and cfg.temp_data_dir:
            shutil.rmtree(cfg.data_dir, ignore_errors=True)
        print(f"error: {exc}", file=sys.stderr)
        return 2
