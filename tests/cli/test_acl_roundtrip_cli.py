"""``outrider acl …`` against a real ACL-enabled agent: bootstrap, policies and tokens end to end."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.support import fails, ok
from tests.conftest import AgentProcess, running_agent

pytestmark = pytest.mark.functional


@pytest.fixture(scope="module")
def acl_agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AgentProcess]:
    with running_agent(tmp_path_factory.mktemp("acl-cli"), "--acl-enabled") as proc:
        yield proc


@pytest.fixture(scope="module")
def management(acl_agent: AgentProcess) -> str:
    token = json.loads(ok("acl", "bootstrap", "-json", agent=acl_agent))
    assert token["Type"] == "management" and token["Name"] == "Bootstrap Token"
    return str(token["SecretID"])


def test_bootstrap_happens_once(acl_agent: AgentProcess, management: str) -> None:
    assert "ACL bootstrap already done" in fails("acl", "bootstrap", agent=acl_agent)


def test_policies_round_trip(acl_agent: AgentProcess, management: str, tmp_path: Path) -> None:
    rules = tmp_path / "web-logs.hcl"
    rules.write_text('namespace "web" {\n  capabilities = ["read-logs"]\n}\n')
    env = {"NOMAD_TOKEN": management}
    assert 'Successfully wrote "web-logs" ACL policy!' in ok(
        "acl", "policy", "apply", "web-logs", str(rules), agent=acl_agent, env=env
    )
    listed = json.loads(ok("acl", "policy", "list", "-json", agent=acl_agent, env=env))
    assert [p["Name"] for p in listed] == ["web-logs"]
    info = json.loads(ok("acl", "policy", "info", "-json", "web-logs", agent=acl_agent, env=env))
    assert info["Rules"] == rules.read_text()
    assert "Name        = web-logs" in ok("acl", "policy", "info", "web-logs", agent=acl_agent, env=env)
    ok("acl", "policy", "delete", "web-logs", agent=acl_agent, env=env)
    assert json.loads(ok("acl", "policy", "list", "-json", agent=acl_agent, env=env)) == []


def test_tokens_round_trip(acl_agent: AgentProcess, management: str, tmp_path: Path) -> None:
    rules = tmp_path / "readonly.hcl"
    rules.write_text('namespace "default" {\n  policy = "read"\n}\n')
    ok("acl", "policy", "apply", "-token", management, "readonly", str(rules), agent=acl_agent)
    created = json.loads(
        ok(
            "acl", "token", "create", "-json", "-name", "ci", "-policy", "readonly", "-ttl", "1h",
            "-token", management, agent=acl_agent,
        )
    )  # fmt: skip
    assert (created["Name"], created["Type"], created["Policies"]) == ("ci", "client", ["readonly"])
    assert created["ExpirationTime"]
    accessor, secret = created["AccessorID"], created["SecretID"]

    env = {"NOMAD_TOKEN": management}
    names = [t["Name"] for t in json.loads(ok("acl", "token", "list", "-json", agent=acl_agent, env=env))]
    assert sorted(names) == ["Bootstrap Token", "ci"]
    info = json.loads(ok("acl", "token", "info", "-json", accessor, agent=acl_agent, env=env))
    assert info["AccessorID"] == accessor and info["Policies"] == ["readonly"]
    # The client token sees itself, through the flag and through the environment alike.
    self_by_flag = json.loads(ok("acl", "token", "self", "-json", "-token", secret, agent=acl_agent))
    self_by_env = json.loads(
        ok("acl", "token", "self", "-json", agent=acl_agent, env={"NOMAD_TOKEN": secret})
    )
    assert self_by_flag["AccessorID"] == self_by_env["AccessorID"] == accessor
    # A client token may not manage tokens.
    denied = fails("acl", "token", "list", agent=acl_agent, env={"NOMAD_TOKEN": secret})
    assert "403 (Permission denied)" in denied and "lacks the capability" in denied

    ok("acl", "token", "delete", accessor, agent=acl_agent, env=env)
    names = [t["Name"] for t in json.loads(ok("acl", "token", "list", "-json", agent=acl_agent, env=env))]
    assert names == ["Bootstrap Token"]
    text = fails("acl", "token", "self", agent=acl_agent, env={"NOMAD_TOKEN": secret})
    assert "Permission denied" in text or "ACL token not found" in text


def test_management_without_a_token_says_what_to_do(acl_agent: AgentProcess, management: str) -> None:
    text = fails("acl", "token", "list", agent=acl_agent)
    assert "403 (Permission denied)" in text
    assert "no token was given: set NOMAD_TOKEN" in text
