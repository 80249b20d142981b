"""Agent configuration: a subset of Nomad's agent config, from HCL or JSON, overridden by flags.

Precedence for every setting: command-line flag, then ``OUTRIDER_*`` environment
variable (where one exists, see :data:`ENV`), then the config file, then the
default. :func:`resolve` is the one place that applies it; every other part of
the agent reads the resolved :class:`AgentConfig`.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

DEFAULT_HTTP_PORT = 4646
DEFAULT_BIND = "0.0.0.0"
DEV_BIND = "127.0.0.1"
SERVERS = ("uvicorn", "hypercorn")
WATCHERS = ("auto", "inotify", "poll")
# Nomad's log levels (``command/agent/log_levels.go``); "warning" is Python's spelling of warn.
LOG_LEVELS = ("trace", "debug", "info", "warn", "error")

FREE_FORM = "free-form"
"""A block whose keys are the operator's own (``client { meta }``, ``http_api_response_headers``)."""

KNOWN_KEYS: dict[str, Any] = {
    "data_dir": None,
    "bind_addr": None,
    "datacenter": None,
    "region": None,
    "name": None,
    "log_level": None,
    "log_json": None,
    "ports": {"http": None},
    "client": {
        # Every Nomad client config says ``enabled = true``; this agent is always a client.
        "enabled": None,
        "alloc_dir": None,
        "node_class": None,
        "node_pool": None,
        "meta": FREE_FORM,
        "poll_interval": None,
        "rotation_grace": None,
        "max_kill_timeout": None,
        "watcher": None,
    },
    "acl": {
        "enabled": None,
        "token_min_expiration_ttl": None,
        "token_max_expiration_ttl": None,
        "token_failure_limit": None,
    },
    # Other drivers' plugin blocks are Nomad's to read; _apply_plugins takes raw_exec's.
    "plugin": FREE_FORM,
    "http_api_allowed_origins": None,
    "http_api_allowed_hosts": None,
    "telemetry": {"collection_interval": None},
    # parse_limits checks the block's keys and values itself.
    "limits": FREE_FORM,
    "http_api_response_headers": FREE_FORM,
    "fleet": {
        "nats": None,
        "advertise": None,
        "ttl": None,
        "token": None,
        "user": None,
        "password": None,
        "tls_ca_file": None,
        "tls_cert_file": None,
        "tls_key_file": None,
    },
}
"""Every key a config file may hold, block by block: None for a value, a dict for a block.

Nomad refuses an agent config with a key it does not know (``command/agent/config_parse.go``
``ParseConfigFile`` reports ``unexpected keys``); so does :func:`check_keys`.
"""


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
class FleetSettings:
    """``fleet { }``: the NATS servers whose JetStream key-value buckets hold the fleet's records.

    Empty ``nats``: the agent is a single node. ``advertise`` is the URL other agents
    reach this one's HTTP API at (default: the address the agent listens on, which must
    then not be a wildcard). ``ttl`` is how long a node record lives without a refresh.
    The credentials are those ``nats-py``'s ``connect`` takes: a token, or a user and a
    password, and TLS files (a CA to verify the servers, a client certificate and key).
    """

    nats: list[str] = field(default_factory=list)
    advertise: str = ""
    ttl: float = 15.0
    token: str = ""
    user: str = ""
    password: str = ""
    tls_ca_file: str = ""
    tls_cert_file: str = ""
    tls_key_file: str = ""

    @property
    def enabled(self) -> bool:
        return bool(self.nats)


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
    # acl { token_min_expiration_ttl, token_max_expiration_ttl }, in nanoseconds (Nomad: 1m and 24h).
    acl_token_min_expiration_ttl: int = 60 * 10**9
    acl_token_max_expiration_ttl: int = 24 * 3600 * 10**9
    # acl { token_failure_limit }: failed tokens one client address may send at once, refilled at
    # that many per minute; past it, requests with a token are answered 429. 0 turns the limit off.
    acl_token_failure_limit: int = 10
    # plugin "raw_exec" { config { enabled = true } }: off unless set, as in Nomad; --dev turns it on.
    raw_exec_enabled: bool = False
    # http_api_allowed_origins: browser origins (scheme://host[:port]) besides the agent's own whose
    # state-changing requests are accepted.
    http_api_allowed_origins: list[str] = field(default_factory=list)
    # http_api_allowed_hosts: Host names accepted by an agent bound to a loopback address, besides
    # loopback names and addresses.
    http_api_allowed_hosts: list[str] = field(default_factory=list)
    collection_interval: float = 1.0
    server: str = "uvicorn"
    watcher: str = "auto"
    # Seconds between stats of polled files (the reference's change-poll interval).
    poll_interval: float = 0.25
    # How long a path followed by fs/stream may be missing (logrotate's rename-then-create)
    # before the stream reports it deleted; 0 reports it at once.
    rotation_grace: float = 1.0
    # Nomad's client.max_kill_timeout: no task waits longer than this between its kill signal and SIGKILL.
    max_kill_timeout: float = 30.0
    response_headers: dict[str, str] = field(default_factory=dict)
    limits: Limits = field(default_factory=Limits)
    fleet: FleetSettings = field(default_factory=FleetSettings)
    log_level: str = "info"
    log_json: bool = False
    temp_data_dir: bool = False

    def finalize(self) -> AgentConfig:
        """Fill derived defaults and validate; raises :class:`ConfigError`."""
        if not self.data_dir and not self.dev:
            raise ConfigError(
                "a data directory is required: pass --data-dir DIR, or --dev for a temporary one"
            )
        if not 0 <= self.http_port <= 65535:
            raise ConfigError(f"ports.http must be between 0 and 65535, got {self.http_port}")
        if self.server not in SERVERS:
            raise ConfigError(f"unknown server {self.server!r}; choose one of {', '.join(SERVERS)}")
        if self.watcher not in WATCHERS:
            raise ConfigError(f"unknown watcher {self.watcher!r}; choose one of {', '.join(WATCHERS)}")
        if self.log_level.lower() not in LOG_LEVELS:
            raise ConfigError(f"log_level must be one of {', '.join(LOG_LEVELS)}, got {self.log_level!r}")
        self.log_level = self.log_level.lower()
        if self.collection_interval <= 0:
            raise ConfigError("telemetry.collection_interval must be positive")
        if self.poll_interval <= 0:
            raise ConfigError("client.poll_interval must be positive")
        if self.rotation_grace < 0:
            raise ConfigError("client.rotation_grace must not be negative")
        if self.max_kill_timeout <= 0:
            raise ConfigError("client.max_kill_timeout must be positive")
        if not self.node_name:
            self.node_name = os.uname().nodename
        _check_fleet(self.fleet)
        # The temporary directory comes last, once nothing above can refuse the settings.
        if not self.data_dir:
            self.data_dir = tempfile.mkdtemp(prefix="outrider-dev-")
            self.temp_data_dir = True
        self.data_dir = str(pathlib.Path(self.data_dir).expanduser().absolute())
        if not self.alloc_dir:
            self.alloc_dir = os.path.join(self.data_dir, "alloc")
        self.alloc_dir = str(pathlib.Path(self.alloc_dir).expanduser().absolute())
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
        from outrider.config_hcl import HCLConfigError, loads

        try:
            data = loads(text)
        except HCLConfigError as exc:
            raise ConfigError(f"{path}: invalid HCL: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be an object")
    check_keys(path, data)
    return data


def check_keys(path: str, data: dict[str, Any], known: dict[str, Any] = KNOWN_KEYS, where: str = "") -> None:
    """Refuse a key :data:`KNOWN_KEYS` does not list, naming the file, the key and the keys expected."""
    for key, value in data.items():
        if key == "__is_block__":
            continue
        name = f"{where}{key}"
        if key not in known:
            expected = ", ".join(sorted(known))
            raise ConfigError(f"{path}: unknown key {name!r}; expected one of {expected}")
        inner = known[key]
        if isinstance(inner, dict):
            if isinstance(value, list) and all(isinstance(v, dict) for v in value):
                for item in value:
                    check_keys(path, item, inner, f"{name}.")
            elif isinstance(value, dict):
                check_keys(path, value, inner, f"{name}.")
            else:
                raise ConfigError(f"{path}: {name} must be a block, got {value!r}")


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
        _apply_acl(cfg, _blocks(data["acl"]))
    if "telemetry" in data:
        tel = _blocks(data["telemetry"])
        if "collection_interval" in tel:
            cfg.collection_interval = parse_duration(tel["collection_interval"])
    if "limits" in data:
        cfg.limits = parse_limits(_blocks(data["limits"]))
    if "plugin" in data:
        _apply_plugins(cfg, data["plugin"])
    _apply_fleet(cfg.fleet, _blocks(data.get("fleet", {})))
    _apply_allow_lists(cfg, data)
    if "http_api_response_headers" in data:
        cfg.response_headers.update(
            {str(k): str(v) for k, v in _blocks(data["http_api_response_headers"]).items()}
        )


def _apply_acl(cfg: AgentConfig, acl: dict[str, Any]) -> None:
    from outrider.goduration import GoDurationError
    from outrider.goduration import parse_duration as parse_go_duration

    cfg.acl_enabled = bool(acl.get("enabled", False))
    for key in ("token_min_expiration_ttl", "token_max_expiration_ttl"):
        if key in acl:
            try:
                setattr(cfg, f"acl_{key}", parse_go_duration(str(acl[key])))
            except GoDurationError as exc:
                raise ConfigError(f"acl.{key}: {exc}") from None
    if "token_failure_limit" in acl:
        try:
            cfg.acl_token_failure_limit = int(acl["token_failure_limit"])
        except (TypeError, ValueError):
            raise ConfigError("acl.token_failure_limit: must be a whole number") from None
        if cfg.acl_token_failure_limit < 0:
            raise ConfigError("acl.token_failure_limit: must not be negative")


def _apply_fleet(fleet: FleetSettings, block: dict[str, Any]) -> None:
    if "nats" in block:
        servers = block["nats"]
        if isinstance(servers, str):
            servers = [servers]
        if not isinstance(servers, list) or not all(isinstance(s, str) for s in servers):
            raise ConfigError("fleet.nats: must be a list of NATS URLs such as nats://127.0.0.1:4222")
        fleet.nats = list(servers)
    if "ttl" in block:
        fleet.ttl = parse_duration(block["ttl"])
    for key in ("advertise", "token", "user", "password", "tls_ca_file", "tls_cert_file", "tls_key_file"):
        if key in block:
            setattr(fleet, key, str(block[key]))


_NATS_URL = re.compile(r"(nats|tls|ws|wss)://[^\s/]+/?")
_HTTP_URL = re.compile(r"http://[^\s/?#]+")


def _check_fleet(fleet: FleetSettings) -> None:
    for url in fleet.nats:
        if not _NATS_URL.fullmatch(url):
            raise ConfigError(f"fleet.nats: {url!r} is not a NATS URL such as nats://127.0.0.1:4222")
    if fleet.advertise and not _HTTP_URL.fullmatch(fleet.advertise):
        raise ConfigError(f"fleet.advertise: {fleet.advertise!r} is not a URL such as http://10.0.0.5:4646")
    if fleet.ttl < 1:
        raise ConfigError("fleet.ttl: must be at least 1s")
    if bool(fleet.tls_cert_file) != bool(fleet.tls_key_file):
        raise ConfigError("fleet.tls_cert_file and fleet.tls_key_file go together")


def _apply_allow_lists(cfg: AgentConfig, data: dict[str, Any]) -> None:
    for key in ("http_api_allowed_origins", "http_api_allowed_hosts"):
        if key in data:
            value = data[key]
            if not isinstance(value, list):
                raise ConfigError(f"{key}: must be a list of strings")
            setattr(cfg, key, [str(v).strip('"') for v in value])


def _apply_plugins(cfg: AgentConfig, raw: Any) -> None:
    """``plugin "raw_exec" { config { enabled = true } }``; other plugins are not Outrider's."""
    for block in raw if isinstance(raw, list) else [raw]:
        if not isinstance(block, dict):
            continue
        for name, body in block.items():
            if name.strip('"') != "raw_exec":
                continue
            config = _blocks(_blocks(body).get("config", {}))
            if "enabled" in config:
                cfg.raw_exec_enabled = bool(config["enabled"])


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
    if "rotation_grace" in client:
        cfg.rotation_grace = parse_duration(client["rotation_grace"])
    if "max_kill_timeout" in client:
        cfg.max_kill_timeout = parse_duration(client["max_kill_timeout"])
    if "watcher" in client:
        cfg.watcher = str(client["watcher"])


def _watcher_mode(text: str) -> str:
    mode = text.strip().lower()
    if mode not in WATCHERS:
        raise ConfigError(f"OUTRIDER_WATCHER must be {', '.join(WATCHERS)}, got {text!r}")
    return mode


def _poll_interval(text: str) -> float:
    try:
        return parse_duration(text)
    except ConfigError as exc:
        raise ConfigError(f"OUTRIDER_POLL_INTERVAL: {exc}") from None


ENV: dict[str, tuple[str, Callable[[str], Any]]] = {
    "OUTRIDER_WATCHER": ("watcher", _watcher_mode),
    "OUTRIDER_POLL_INTERVAL": ("poll_interval", _poll_interval),
}
"""Environment variables that set an agent setting: name -> (setting, parser of the value)."""


def apply_env(cfg: AgentConfig, environ: Mapping[str, str]) -> None:
    """Copy the settings given as ``OUTRIDER_*`` variables of ``environ`` onto ``cfg``; empty ones are unset."""
    for name, (attr, parse) in ENV.items():
        value = environ.get(name, "").strip()
        if value:
            setattr(cfg, attr, parse(value))


def resolve(
    *,
    dev: bool = False,
    files: Sequence[str] = (),
    environ: Mapping[str, str] | None = None,
    flags: Mapping[str, Any] | None = None,
    meta: Sequence[str] = (),
) -> AgentConfig:
    """The agent's configuration: defaults, then ``files`` in order, then ``environ``, then ``flags``.

    ``flags`` maps :class:`AgentConfig` fields (``block.field`` for a nested one) to
    command-line values (None: not given); ``meta`` holds ``KEY=VALUE`` items of static node metadata, which
    override the files' ``client { meta }`` key by key. Raises :class:`ConfigError`.
    """
    cfg = AgentConfig(dev=dev)
    if dev:
        cfg.bind_addr = DEV_BIND
        cfg.raw_exec_enabled = True
    for path in files:
        apply_file(cfg, load_file(path))
    apply_env(cfg, os.environ if environ is None else environ)
    for attr, value in (flags or {}).items():
        if value is not None:
            # "fleet.nats" names a field of a nested block.
            block, _, name = attr.rpartition(".")
            setattr(getattr(cfg, block) if block else cfg, name, value)
    for item in meta:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--meta takes KEY=VALUE, got {item!r}")
        cfg.meta[key] = value
    return cfg.finalize()


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
