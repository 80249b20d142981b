"""Agent configuration: a subset of Nomad's agent config, from HCL or JSON, overridden by flags.

Precedence for every setting: command-line flag, then ``OUTRIDER_*`` environment
variable (where one exists), then the config file, then the default.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import tempfile
from dataclasses import dataclass, field
from typing import Any

DEFAULT_HTTP_PORT = 4646
DEFAULT_BIND = "0.0.0.0"
DEV_BIND = "127.0.0.1"
SERVERS = ("hypercorn", "uvicorn", "granian")
WATCHERS = ("auto", "inotify", "poll")


class ConfigError(ValueError):
    """The configuration cannot be used; the message says which setting and why."""


@dataclass(frozen=True)
class Limits:
    """Nomad's ``limits`` block (``nomad/structs/config/limits.go``), as far as an HTTP-only agent has it.

    ``http_max_conns_per_client`` caps the connections one client address holds
    open (0: no cap), as ``command/agent/http.go`` does with ``connlimit``.
    ``https_handshake_timeout`` is accepted with Nomad's default and checks but has
    no effect: the agent serves no TLS, and Nomad applies it to TLS listeners only.
    ``http_read_header_timeout`` is Outrider's: the time a client has to send a
    request's headers, from the connection's start or from the first byte of a
    later request (Go's ``http.Server.ReadHeaderTimeout``); 0 turns it off.
    """

    http_max_conns_per_client: int = 100
    https_handshake_timeout: float = 5.0
    http_read_header_timeout: float = 10.0


@dataclass
class AgentConfig:
    """Everything the agent needs to start. Paths are absolute once :meth:`finalize` ran."""

    data_dir: str = ""
    alloc_dir: str = ""
    bind_addr: str = DEFAULT_BIND
    http_port: int = DEFAULT_HTTP_PORT
    dev: bool = False
    datacenter: str = "dc1"
    region: str = "global"
    node_name: str = ""
    node_class: str = ""
    node_pool: str = "default"
    meta: dict[str, str] = field(default_factory=dict)
    acl_enabled: bool = False
    collection_interval: float = 1.0
    server: str = "hypercorn"
    watcher: str = "auto"
    poll_interval: float = 0.25
    # Nomad's client.max_kill_timeout: no task waits longer than this between its kill signal and SIGKILL.
    max_kill_timeout: float = 30.0
    response_headers: dict[str, str] = field(default_factory=dict)
    limits: Limits = field(default_factory=Limits)
    log_level: str = "info"
    log_json: bool = False
    temp_data_dir: bool = False

    def finalize(self) -> AgentConfig:
        """Fill derived defaults and validate; raises :class:`ConfigError`."""
        if not self.data_dir:
            if not self.dev:
                raise ConfigError(
                    "a data directory is required: pass --data-dir DIR, or --dev for a temporary one"
                )
            self.data_dir = tempfile.mkdtemp(prefix="outrider-dev-")
            self.temp_data_dir = True
        self.data_dir = str(pathlib.Path(self.data_dir).expanduser().absolute())
        if not self.alloc_dir:
            self.alloc_dir = os.path.join(self.data_dir, "alloc")
        self.alloc_dir = str(pathlib.Path(self.alloc_dir).expanduser().absolute())
        if not 0 <= self.http_port <= 65535:
            raise ConfigError(f"ports.http must be between 0 and 65535, got {self.http_port}")
        if self.server not in SERVERS:
            raise ConfigError(f"unknown server {self.server!r}; choose one of {', '.join(SERVERS)}")
        if self.watcher not in WATCHERS:
            raise ConfigError(f"unknown watcher {self.watcher!r}; choose one of {', '.join(WATCHERS)}")
        if self.collection_interval <= 0:
            raise ConfigError("telemetry.collection_interval must be positive")
        if self.poll_interval <= 0:
            raise ConfigError("client.poll_interval must be positive")
        if self.max_kill_timeout <= 0:
            raise ConfigError("client.max_kill_timeout must be positive")
        if not self.node_name:
            self.node_name = os.uname().nodename
        return self


_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str | float | int) -> float:
    """Parse a Go duration (``"1s"``, ``"250ms"``, ``"1m30s"``) into seconds."""
    if isinstance(text, int | float):
        return float(text)
    s = text.strip()
    pos, total = 0, 0.0
    for m in _DURATION.finditer(s):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNIT_SECONDS[m.group(2)]
        pos = m.end()
    if pos != len(s) or not s:
        raise ConfigError(f"invalid duration {text!r}: expected a Go duration such as 1s or 250ms")
    return total


def _blocks(value: Any) -> dict[str, Any]:
    """HCL blocks arrive as a list of dicts; JSON configs may use a plain dict."""
    if isinstance(value, list):
        merged: dict[str, Any] = {}
        for item in value:
            merged.update(_blocks(item))
        return merged
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if k != "__is_block__"}
    raise ConfigError(f"expected a block, got {value!r}")


def load_file(path: str) -> dict[str, Any]:
    """Read an HCL (``.hcl``) or JSON (``.json``) agent config file into a plain dict."""
    text = pathlib.Path(path).read_text()
    if path.endswith(".json"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}: invalid JSON: {exc}") from exc
    else:
        import hcl2
        from hcl2.utils import SerializationOptions

        try:
            data = hcl2.loads(text, serialization_options=SerializationOptions(strip_string_quotes=True))
        except Exception as exc:
            raise ConfigError(f"{path}: invalid HCL: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be an object")
    return data


def apply_file(cfg: AgentConfig, data: dict[str, Any]) -> None:
    """Copy the recognised settings of a parsed config file onto ``cfg``."""
    if "data_dir" in data:
        cfg.data_dir = str(data["data_dir"])
    if "bind_addr" in data:
        cfg.bind_addr = str(data["bind_addr"])
    for key, attr in (("datacenter", "datacenter"), ("region", "region"), ("name", "node_name")):
        if key in data:
            setattr(cfg, attr, str(data[key]))
    if "log_level" in data:
        cfg.log_level = str(data["log_level"]).lower()
    if "log_json" in data:
        cfg.log_json = bool(data["log_json"])
    if "ports" in data:
        ports = _blocks(data["ports"])
        if "http" in ports:
            cfg.http_port = int(ports["http"])
    if "client" in data:
        _apply_client(cfg, _blocks(data["client"]))
    if "acl" in data:
        cfg.acl_enabled = bool(_blocks(data["acl"]).get("enabled", False))
    if "telemetry" in data:
        tel = _blocks(data["telemetry"])
        if "collection_interval" in tel:
            cfg.collection_interval = parse_duration(tel["collection_interval"])
    if "limits" in data:
        cfg.limits = parse_limits(_blocks(data["limits"]))
    if "http_api_response_headers" in data:
        cfg.response_headers.update(
            {str(k): str(v) for k, v in _blocks(data["http_api_response_headers"]).items()}
        )


def _apply_client(cfg: AgentConfig, client: dict[str, Any]) -> None:
    if "alloc_dir" in client:
        cfg.alloc_dir = str(client["alloc_dir"])
    if "node_class" in client:
        cfg.node_class = str(client["node_class"])
    if "node_pool" in client:
        cfg.node_pool = str(client["node_pool"])
    if "meta" in client:
        cfg.meta.update({str(k).strip('"'): str(v) for k, v in _blocks(client["meta"]).items()})
    if "poll_interval" in client:
        cfg.poll_interval = parse_duration(client["poll_interval"])
    if "max_kill_timeout" in client:
        cfg.max_kill_timeout = parse_duration(client["max_kill_timeout"])
    if "watcher" in client:
        cfg.watcher = str(client["watcher"])


# -- limits { } ------------------------------------------------------------------------------------


# Nomad's RPC limits apply to its servers' RPC listener only; a client agent parses and ignores them.
_IGNORED_LIMITS = {"rpc_handshake_timeout": "duration", "rpc_max_conns_per_client": "count"}
_LIMITS = {
    "http_max_conns_per_client": "count",
    "https_handshake_timeout": "duration",
    "http_read_header_timeout": "duration",
}


def parse_limits(block: dict[str, Any]) -> Limits:
    """The ``limits`` block; an unknown key or a negative or malformed value is a :class:`ConfigError`."""
    values: dict[str, float | int] = {}
    for key, raw in block.items():
        kind = _LIMITS.get(key) or _IGNORED_LIMITS.get(key)
        if kind is None:
            known = ", ".join(sorted({*_LIMITS, *_IGNORED_LIMITS}))
            raise ConfigError(f"limits: unknown key {key!r}; the keys are {known}")
        value = _limit_count(key, raw) if kind == "count" else _limit_duration(key, raw)
        if key in _LIMITS:
            values[key] = value
    return Limits(**values)  # type: ignore[arg-type]


def _limit_count(key: str, raw: Any) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int | str) or not str(raw).strip().isdigit():
        raise ConfigError(f"limits.{key} must be an integer >= 0, got {raw!r}")
    return int(raw)


def _limit_duration(key: str, raw: Any) -> float:
    # Go's time.ParseDuration takes a bare "0"; every other value needs a unit.
    if (type(raw) is int and raw == 0) or (isinstance(raw, str) and raw.strip() == "0"):
        return 0.0
    if not isinstance(raw, str):
        raise ConfigError(f"limits.{key} must be a duration such as 5s, got {raw!r}")
    try:
        return parse_duration(raw)
    except ConfigError:
        raise ConfigError(f"limits.{key} must be a duration >= 0 such as 5s, got {raw!r}") from None
