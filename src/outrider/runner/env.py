"""The environment a task runs with, and ``${...}`` interpolation, as Nomad's ``taskenv`` builds them."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

# Nomad's default ``env.denylist``: the agent's secrets never reach a raw_exec task.
DENYLIST = frozenset(
    {
        "CONSUL_TOKEN",
        "CONSUL_HTTP_TOKEN",
        "CONSUL_HTTP_TOKEN_FILE",
        "NOMAD_TOKEN",
        "VAULT_TOKEN",
        "GOOGLE_APPLICATION_CREDENTIALS",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
    }
)

_VAR = re.compile(r"\$\{([^}]+)\}")


@dataclass(frozen=True)
class AllocContext:
    """What the environment says about the allocation and the node it runs on."""

    alloc_id: str
    alloc_name: str
    alloc_index: int
    alloc_dir: str  # the allocation's directory on the host
    group: str
    job_id: str
    job_name: str
    namespace: str
    region: str
    datacenter: str
    node_id: str
    node_name: str
    node_meta: dict[str, str]


def nomad_env(ctx: AllocContext, task: str) -> dict[str, str]:
    """The ``NOMAD_*`` variables of ``task`` (paths are absolute: raw_exec tasks see the host)."""
    task_dir = os.path.join(ctx.alloc_dir, task)
    return {
        "NOMAD_ALLOC_DIR": os.path.join(ctx.alloc_dir, "alloc"),
        "NOMAD_TASK_DIR": os.path.join(task_dir, "local"),
        "NOMAD_SECRETS_DIR": os.path.join(task_dir, "secrets"),
        "NOMAD_ALLOC_ID": ctx.alloc_id,
        "NOMAD_SHORT_ALLOC_ID": ctx.alloc_id[:8],
        "NOMAD_ALLOC_NAME": ctx.alloc_name,
        "NOMAD_ALLOC_INDEX": str(ctx.alloc_index),
        "NOMAD_TASK_NAME": task,
        "NOMAD_GROUP_NAME": ctx.group,
        "NOMAD_JOB_ID": ctx.job_id,
        "NOMAD_JOB_NAME": ctx.job_name,
        "NOMAD_NAMESPACE": ctx.namespace,
        "NOMAD_REGION": ctx.region,
        "NOMAD_DC": ctx.datacenter,
    }


def interpolate(text: str, variables: Mapping[str, str]) -> str:
    """Replace ``${NAME}`` with its value; unknown names stay as written (as in Nomad)."""
    return _VAR.sub(lambda m: variables.get(m.group(1).strip(), m.group(0)), text)


def task_env(
    ctx: AllocContext, task: str, user_env: Mapping[str, str]
) -> tuple[dict[str, str], dict[str, str]]:
    """The task's full environment, and the variables ``${...}`` may name in its config.

    Precedence, lowest first: the agent's environment (minus :data:`DENYLIST`), the
    task's ``Env``, then the ``NOMAD_*`` variables, which a job cannot override.
    """
    nomad = nomad_env(ctx, task)
    host = {k: v for k, v in os.environ.items() if k not in DENYLIST}
    variables: dict[str, str] = {
        **host,
        **nomad,
        "node.unique.id": ctx.node_id,
        "node.unique.name": ctx.node_name,
        "node.datacenter": ctx.datacenter,
        "node.region": ctx.region,
        **{f"meta.{k}": v for k, v in ctx.node_meta.items()},
    }
    env = {**host, **{k: interpolate(v, variables) for k, v in user_env.items()}, **nomad}
    variables.update(env)
    return env, variables
