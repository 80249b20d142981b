"""``outrider acl …`` commands: their usage rules and the local checks that come before any request."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.support import fails
from tests.conftest import AgentProcess

pytestmark = pytest.mark.functional


def test_policy_apply_reads_the_file_first(agent: AgentProcess, tmp_path: Path) -> None:
    assert "cannot read the policy file" in fails(
        "acl", "policy", "apply", "p", str(tmp_path / "none.hcl"), agent=agent
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
