"""The ``limits`` block: Nomad's keys and defaults, Outrider's header-read timeout, refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from outrider.config import AgentConfig, ConfigError, Limits, apply_file, load_file, parse_limits


def test_defaults_are_nomads() -> None:
    limits = AgentConfig().limits
    assert limits.http_max_conns_per_client == 100
    assert limits.https_handshake_timeout == 5.0
    assert limits.http_read_header_timeout == 10.0


def test_hcl_block(tmp_path: Path) -> None:
    path = tmp_path / "agent.hcl"
    path.write_text(
        "limits {\n"
        "  http_max_conns_per_client = 20\n"
        '  https_handshake_timeout = "2s"\n'
        '  http_read_header_timeout = "500ms"\n'
        '  rpc_handshake_timeout = "5s"\n'
        "  rpc_max_conns_per_client = 100\n"
        "}\n"
    )
    cfg = AgentConfig()
    apply_file(cfg, load_file(str(path)))
    assert cfg.limits == Limits(
        http_max_conns_per_client=20, https_handshake_timeout=2.0, http_read_header_timeout=0.5
    )


def test_json_block_and_zero_turns_off(tmp_path: Path) -> None:
    path = tmp_path / "agent.json"
    path.write_text('{"limits": {"http_max_conns_per_client": 0, "http_read_header_timeout": "0"}}')
    cfg = AgentConfig()
    apply_file(cfg, load_file(str(path)))
    assert cfg.limits.http_max_conns_per_client == 0
    assert cfg.limits.http_read_header_timeout == 0.0
    # Keys not given keep their defaults.
    assert cfg.limits.https_handshake_timeout == 5.0


@pytest.mark.parametrize(
    ("block", "text"),
    [
        (
            {"http_max_conns_per_client": -1},
            "limits.http_max_conns_per_client must be an integer >= 0, got -1",
        ),
        ({"http_max_conns_per_client": "many"}, "limits.http_max_conns_per_client must be an integer >= 0"),
        ({"http_max_conns_per_client": True}, "limits.http_max_conns_per_client must be an integer >= 0"),
        ({"https_handshake_timeout": "5"}, "limits.https_handshake_timeout must be a duration >= 0"),
        ({"https_handshake_timeout": "-5s"}, "limits.https_handshake_timeout must be a duration >= 0"),
        ({"http_read_header_timeout": 5}, "limits.http_read_header_timeout must be a duration such as 5s"),
        ({"rpc_max_conns_per_client": -3}, "limits.rpc_max_conns_per_client must be an integer >= 0"),
        ({"rpc_handshake_timeout": "soon"}, "limits.rpc_handshake_timeout must be a duration >= 0"),
        ({"http_max_conn_per_client": 5}, "limits: unknown key 'http_max_conn_per_client'"),
    ],
)
def test_refusals_name_the_key(block: dict[str, object], text: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_limits(block)
    assert str(err.value).startswith(text)
