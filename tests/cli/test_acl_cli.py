"""``outrider acl …`` commands: their usage rules, and what they say to an agent without the ACL API.

The commands speak Nomad's ``/v1/acl/*`` API; this agent does not serve it yet, so
here they are driven against the real agent for the parts that do not need it: a
missing endpoint is named (with what to do), and the local checks come first.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.support import fails
from tests.conftest import AgentProcess

pytestmark = pytest.mark.functional


@pytest.mark.parametrize(
    ("args", "endpoint"),
    [
        (("acl", "bootstrap"), "/v1/acl/bootstrap"),
        (("acl", "policy", "list"), "/v1/acl/policies"),
        (("acl", "policy", "info", "readonly"), "/v1/acl/policy/readonly"),
        (("acl", "policy", "delete", "readonly"), "/v1/acl/policy/readonly"),
        (("acl", "token", "create", "-name", "ci", "-policy", "readonly", "-ttl", "1h"), "/v1/acl/token"),
        (("acl", "token", "list"), "/v1/acl/tokens"),
        (("acl", "token", "self"), "/v1/acl/token/self"),
        (
            ("acl", "token", "info", "b780e702-98ce-521f-2e5f-c6b87de05b24"),
            "/v1/acl/token/b780e702-98ce-521f-2e5f-c6b87de05b24",
        ),
        (
            ("acl", "token", "delete", "b780e702-98ce-521f-2e5f-c6b87de05b24"),
            "/v1/acl/token/b780e702-98ce-521f-2e5f-c6b87de05b24",
        ),
    ],
)
def test_a_missing_acl_api_is_named(agent: AgentProcess, args: tuple[str, ...], endpoint: str) -> None:
    text = fails(*args, agent=agent)
    assert f"Error: Unexpected response code: 404 (no such endpoint: {endpoint})" in text
    assert f"Hint: the agent at {agent.url} does not serve this API" in text


def test_policy_apply_reads_the_file_first(agent: AgentProcess, tmp_path: Path) -> None:
    assert "cannot read the policy file" in fails(
        "acl", "policy", "apply", "p", str(tmp_path / "none.hcl"), agent=agent
    )
    rules = tmp_path / "p.hcl"
    rules.write_text('namespace "default" { policy = "read" }\n')
    assert "no such endpoint: /v1/acl/policy/p" in fails(
        "acl", "policy", "apply", "p", str(rules), agent=agent
    )


def test_bootstrap_secret_file_is_read_first(agent: AgentProcess, tmp_path: Path) -> None:
    assert "cannot read the secret file" in fails("acl", "bootstrap", str(tmp_path / "none"), agent=agent)


@pytest.mark.parametrize(
    "args",
    [
        ("acl", "token", "create", "-type", "root"),
        ("acl", "token", "info"),
        ("acl", "policy", "apply", "only-a-name"),
        ("acl", "token", "delete"),
    ],
)
def test_usage_errors(args: tuple[str, ...]) -> None:
    fails(*args, code=2)
