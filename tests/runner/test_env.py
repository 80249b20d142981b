"""A task's environment (Nomad's ``client/taskenv``) and ``${...}`` interpolation (``helper/args/args.go`` ``ReplaceEnv``)."""

from __future__ import annotations

import os
import subprocess

import pytest

from outrider.runner.env import DENYLIST, interpolate, nomad_env, task_env
from tests.runner.conftest import alloc_context

ALLOC_ID = "5d3ae2c4-8d17-7f6c-a4b4-8a1f3e9d2c01"

CTX = alloc_context(ALLOC_ID, f"/var/lib/outrider/alloc/{ALLOC_ID}")


def test_nomad_variables_of_a_task() -> None:
    assert nomad_env(CTX, "server") == {
        "NOMAD_ALLOC_DIR": f"/var/lib/outrider/alloc/{ALLOC_ID}/alloc",
        "NOMAD_TASK_DIR": f"/var/lib/outrider/alloc/{ALLOC_ID}/server/local",
        "NOMAD_SECRETS_DIR": f"/var/lib/outrider/alloc/{ALLOC_ID}/server/secrets",
        "NOMAD_ALLOC_ID": ALLOC_ID,
        "NOMAD_SHORT_ALLOC_ID": "5d3ae2c4",
        "NOMAD_ALLOC_NAME": "web.api[2]",
        "NOMAD_ALLOC_INDEX": "2",
        "NOMAD_TASK_NAME": "server",
        "NOMAD_GROUP_NAME": "api",
        "NOMAD_JOB_ID": "web",
        "NOMAD_JOB_NAME": "web-name",
        "NOMAD_NAMESPACE": "prod",
        "NOMAD_REGION": "eu",
        "NOMAD_DC": "dc2",
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("${A}", "1"),
        ("x${A}y${B}z", "x1y2z"),
        ("${meta.rack}", "r7"),
        ("${UNKNOWN}", "${UNKNOWN}"),  # unknown names stay as written
        ("$A and ${}", "$A and ${}"),  # only ${NAME} is a reference
        ("${A", "${A"),
        ("${B}", "2"),
        ("no references", "no references"),
    ],
)
def test_interpolate(text: str, expected: str) -> None:
    assert interpolate(text, {"A": "1", "B": "2", "meta.rack": "r7"}) == expected


def test_interpolation_is_one_pass() -> None:
    # A value that looks like a reference is not expanded again.
    assert interpolate("${A}", {"A": "${B}", "B": "2"}) == "${B}"


def test_task_env_precedence_and_denylist(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOST_ONLY", "host")
    monkeypatch.setenv("SHADOWED", "host")
    for name in DENYLIST:
        monkeypatch.setenv(name, "secret")
    env, variables = task_env(
        CTX,
        "server",
        {
            "SHADOWED": "task",
            "NOMAD_TASK_NAME": "spoofed",  # NOMAD_* cannot be overridden
            "WHERE": "${node.unique.name}/${node.datacenter}/${node.region}/${meta.zone}",
            "ID": "${node.unique.id}:${NOMAD_SHORT_ALLOC_ID}:${HOST_ONLY}",
            "LEFT": "${nope}",
        },
    )
    assert not DENYLIST & env.keys(), "the agent's secrets never reach a task"
    assert env["HOST_ONLY"] == "host" and env["SHADOWED"] == "task"
    assert env["NOMAD_TASK_NAME"] == "server"
    assert env["WHERE"] == "node-a/dc2/eu/z1"
    assert env["ID"] == "node-uuid:5d3ae2c4:host"
    assert env["LEFT"] == "${nope}"
    assert nomad_env(CTX, "server").items() <= env.items()
    # What the task's config may name: its whole environment plus the node's attributes.
    assert env.items() <= variables.items()
    assert variables["node.unique.id"] == "node-uuid" and variables["meta.rack"] == "r7"
    assert not DENYLIST & variables.keys()


def test_a_process_started_with_the_task_env_sees_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOMAD_TOKEN", "secret")
    env, _ = task_env(CTX, "server", {"GREETING": "hello ${NOMAD_JOB_NAME}"})
    out = subprocess.run(["/usr/bin/env", "-0"], env=env, capture_output=True, check=True, timeout=30).stdout
    seen = dict(item.split("=", 1) for item in out.decode().split("\0") if item)
    assert seen["GREETING"] == "hello web-name"
    assert seen["NOMAD_TASK_DIR"] == os.path.join(CTX.alloc_dir, "server", "local")
    assert "NOMAD_TOKEN" not in seen
