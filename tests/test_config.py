"""Agent configuration: HCL and JSON files, flags over files, Nomad's single-dash spellings."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from outrider.cli.main import _normalize, _parser, build_config
from outrider.config import ENV, AgentConfig, ConfigError, apply_file, load_file, parse_duration, resolve

HCL = """
data_dir  = "/var/lib/outrider"
bind_addr = "127.0.0.2"
datacenter = "east"
ports { http = 4747 }
client {
  alloc_dir = "/srv/alloc"
  node_class = "edge"
  meta {
    rack = "r1"
    zone = "z9"
  }
  poll_interval = "100ms"
  max_kill_timeout = "90s"
}
acl { enabled = false }
telemetry { collection_interval = "2s" }
http_api_response_headers { X-Served-By = "outrider" }
"""


def test_hcl_file(tmp_path: Path) -> None:
    path = tmp_path / "agent.hcl"
    path.write_text(HCL)
    cfg = AgentConfig()
    apply_file(cfg, load_file(str(path)))
    assert cfg.data_dir == "/var/lib/outrider"
    assert cfg.bind_addr == "127.0.0.2"
    assert cfg.datacenter == "east"
    assert cfg.http_port == 4747
    assert cfg.alloc_dir == "/srv/alloc"
    assert cfg.node_class == "edge"
    assert cfg.meta == {"rack": "r1", "zone": "z9"}
    assert cfg.poll_interval == pytest.approx(0.1)
    assert cfg.max_kill_timeout == 90.0
    assert cfg.collection_interval == 2.0
    assert cfg.response_headers == {"X-Served-By": "outrider"}


def test_json_file(tmp_path: Path) -> None:
    path = tmp_path / "agent.json"
    path.write_text(json.dumps({"data_dir": "/d", "ports": {"http": 1234}, "client": {"meta": {"a.b": "c"}}}))
    cfg = AgentConfig()
    apply_file(cfg, load_file(str(path)))
    assert (cfg.data_dir, cfg.http_port, cfg.meta) == ("/d", 1234, {"a.b": "c"})


def test_flags_override_file_and_dash_spellings(tmp_path: Path) -> None:
    path = tmp_path / "agent.hcl"
    path.write_text(HCL)
    argv = ["agent", f"-config={path}", "-data-dir", str(tmp_path), "--http-port=0", "-meta", "rack=r2"]
    cfg = build_config(_parser().parse_args(_normalize(argv)))
    assert cfg.data_dir == str(tmp_path)
    assert cfg.alloc_dir == "/srv/alloc"
    assert cfg.http_port == 0
    assert cfg.meta["rack"] == "r2" and cfg.meta["zone"] == "z9"


def test_dev_defaults(tmp_path: Path) -> None:
    cfg = build_config(_parser().parse_args(_normalize(["agent", "-dev"])))
    try:
        assert cfg.dev and cfg.temp_data_dir and cfg.bind_addr == "127.0.0.1"
        assert cfg.alloc_dir == str(Path(cfg.data_dir) / "alloc")
    finally:
        Path(cfg.data_dir).rmdir()


def test_errors_say_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--data-dir"):
        build_config(_parser().parse_args(["agent"]))
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        build_config(
            _parser().parse_args(["agent", "--dev", "--data-dir", str(tmp_path), "--meta", "novalue"])
        )
    bad = tmp_path / "bad.hcl"
    bad.write_text("client {")
    with pytest.raises(ConfigError, match="invalid HCL"):
        load_file(str(bad))


@pytest.mark.parametrize(
    ("text", "seconds"), [("1s", 1.0), ("250ms", 0.25), ("1m30s", 90.0), ("1.5h", 5400.0), ("10us", 1e-5)]
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "1", "s", "1x", "1s2"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ConfigError):
        parse_duration(text)


# -- environment variables: flags > env > config file > default ----------------------------------


def settle(tmp_path: Path, env: dict[str, str], hcl: str = "", **flags: object) -> AgentConfig:
    """The configuration from an optional config file, ``env`` and ``flags``, as the agent resolves it."""
    files = []
    if hcl:
        path = tmp_path / "agent.hcl"
        path.write_text(hcl)
        files.append(str(path))
    return resolve(dev=True, files=files, environ=env, flags={"data_dir": str(tmp_path), **flags})


def test_watcher_flag_beats_environment_beats_file(tmp_path: Path) -> None:
    auto = 'client {\n  watcher = "auto"\n}\n'
    assert settle(tmp_path, {}).watcher == "auto"
    assert settle(tmp_path, {"OUTRIDER_WATCHER": "inotify"}).watcher == "inotify"
    # "auto" from a config file leaves the choice to the environment.
    assert settle(tmp_path, {"OUTRIDER_WATCHER": "poll"}, auto).watcher == "poll"
    # A flag is final, "auto" included.
    assert settle(tmp_path, {"OUTRIDER_WATCHER": "poll"}, watcher="auto").watcher == "auto"
    assert settle(tmp_path, {"OUTRIDER_WATCHER": "poll"}, watcher="inotify").watcher == "inotify"


def test_poll_interval_environment_beats_file(tmp_path: Path) -> None:
    half = 'client {\n  poll_interval = "500ms"\n}\n'
    assert settle(tmp_path, {}).poll_interval == 0.25
    assert settle(tmp_path, {}, half).poll_interval == 0.5
    assert settle(tmp_path, {"OUTRIDER_POLL_INTERVAL": "100ms"}, half).poll_interval == pytest.approx(0.1)
    assert settle(tmp_path, {"OUTRIDER_POLL_INTERVAL": ""}).poll_interval == 0.25


@pytest.mark.parametrize(
    ("name", "value"),
    [("OUTRIDER_WATCHER", "fanotify"), ("OUTRIDER_POLL_INTERVAL", "soon"), ("OUTRIDER_POLL_INTERVAL", "0s")],
)
def test_bad_environment_values_are_config_errors(tmp_path: Path, name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=r"OUTRIDER_WATCHER|poll_interval|OUTRIDER_POLL_INTERVAL"):
        settle(tmp_path, {name: value})


def test_every_environment_variable_is_documented() -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    assert [name for name in ENV if f"`{name}`" not in readme] == []


def test_rotation_grace(tmp_path: Path) -> None:
    path = tmp_path / "agent.hcl"
    path.write_text('client { rotation_grace = "250ms" }\n')
    cfg = AgentConfig(data_dir=str(tmp_path))
    assert cfg.rotation_grace == 1.0
    apply_file(cfg, load_file(str(path)))
    assert cfg.rotation_grace == pytest.approx(0.25)
    path.write_text('client { rotation_grace = "0s" }\n')
    apply_file(cfg, load_file(str(path)))
    assert cfg.finalize().rotation_grace == 0.0
    cfg.rotation_grace = -1.0
    with pytest.raises(ConfigError, match=r"client\.rotation_grace must not be negative"):
        cfg.finalize()


def test_acl_block(tmp_path: Path) -> None:
    path = tmp_path / "acl.hcl"
    path.write_text(
        'acl {\n  enabled = true\n  token_min_expiration_ttl = "30s"\n  token_max_expiration_ttl = "48h"\n}\n'
    )
    cfg = AgentConfig()
    assert (cfg.acl_enabled, cfg.acl_token_min_expiration_ttl, cfg.acl_token_max_expiration_ttl) == (
        False,
        60 * 10**9,
        24 * 3600 * 10**9,
    )
    apply_file(cfg, load_file(str(path)))
    assert (cfg.acl_enabled, cfg.acl_token_min_expiration_ttl, cfg.acl_token_max_expiration_ttl) == (
        True,
        30 * 10**9,
        48 * 3600 * 10**9,
    )
    flags = build_config(_parser().parse_args(["agent", "--data-dir", str(tmp_path), "--acl-enabled"]))
    assert flags.acl_enabled


def test_acl_ttl_errors_use_go_text(tmp_path: Path) -> None:
    path = tmp_path / "acl.json"
    path.write_text(json.dumps({"acl": {"token_max_expiration_ttl": "1d"}}))
    with pytest.raises(ConfigError) as exc:
        apply_file(AgentConfig(), load_file(str(path)))
    assert str(exc.value) == 'acl.token_max_expiration_ttl: time: unknown unit "d" in duration "1d"'


FLEET_HCL = """
data_dir = "/tmp/x"
fleet {
  nats = ["nats://10.0.0.1:4222", "tls://10.0.0.2:4222"]
  advertise = "http://10.0.0.5:4646"
  ttl = "5s"
  user = "agent"
  password = "pw"
}
"""


def test_fleet_block_and_flags(tmp_path: Path) -> None:
    path = tmp_path / "agent.hcl"
    path.write_text(FLEET_HCL)
    cfg = resolve(files=[str(path)], environ={})
    fleet = cfg.fleet
    assert fleet.enabled and fleet.nats == ["nats://10.0.0.1:4222", "tls://10.0.0.2:4222"]
    assert (fleet.advertise, fleet.ttl, fleet.user, fleet.password) == (
        "http://10.0.0.5:4646",
        5.0,
        "agent",
        "pw",
    )
    args = _parser().parse_args(
        _normalize(
            ["agent", "--config", str(path), "--fleet-nats", "nats://a:1,nats://b:2", "-advertise=http://h:1"]
        )
    )
    cfg = build_config(args)
    assert cfg.fleet.nats == ["nats://a:1", "nats://b:2"] and cfg.fleet.advertise == "http://h:1"
    # Without the block the agent is a single node.
    assert not resolve(dev=True, environ={}).fleet.enabled


@pytest.mark.parametrize(
    ("block", "error"),
    [
        ('nats = ["http://x:1"]', "fleet.nats: 'http://x:1' is not a NATS URL"),
        ('nats = ["nats://x:1"]\nadvertise = "x:1"', "fleet.advertise: 'x:1' is not a URL"),
        ('nats = ["nats://x:1"]\nttl = "10ms"', "fleet.ttl: must be at least 1s"),
        ('nats = ["nats://x:1"]\ntls_cert_file = "c"', "go together"),
        ('nats = ["nats://x:1"]\nbogus = 1', "unknown key 'fleet.bogus'"),
    ],
)
def test_fleet_block_refusals(tmp_path: Path, block: str, error: str) -> None:
    path = tmp_path / "agent.hcl"
    path.write_text(f"fleet {{\n{block}\n}}\n")
    with pytest.raises(ConfigError, match=re.escape(error)):
        resolve(dev=True, files=[str(path)], environ={})
