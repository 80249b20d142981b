"""A stored ACL policy (``nomad/structs/acl.go`` ``ACLPolicy``): validation, hash and JSON shapes."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from outrider.acl.errors import ACLRequestError, multierror
from outrider.acl.policy import PolicyError, parse_policy
from outrider.acl.policy_model import rules_json

VALID_POLICY_NAME = re.compile(r"[a-zA-Z0-9-]{1,128}")
MAX_DESCRIPTION = 256
JOB_ACL_FIELDS = ("Namespace", "JobID", "Group", "Task")


@dataclass
class PolicyRecord:
    name: str
    description: str
    rules: str
    job_acl: dict[str, str] | None
    hash: bytes
    create_index: int = 0
    modify_index: int = 0

    def stub(self) -> dict[str, Any]:
        """``ACLPolicyListStub``, in codec JSON's sorted order."""
        return {
            "CreateIndex": self.create_index,
            "Description": self.description,
            "Hash": base64.b64encode(self.hash).decode("ascii"),
            "JobACL": self.job_acl,
            "ModifyIndex": self.modify_index,
            "Name": self.name,
        }

    def with_rules_json(self) -> dict[str, Any]:
        """The ``GET /v1/acl/policy/<name>`` answer: the policy plus its lenient parse as ``RulesJSON``."""
        return {
            **self.stub(),
            "Rules": self.rules,
            "RulesJSON": rules_json(parse_policy(self.rules, strict=False)),
        }

    def to_state(self) -> str:
        row = dataclasses.asdict(self)
        row["hash"] = base64.b64encode(self.hash).decode("ascii")
        return json.dumps(row, ensure_ascii=False)

    @classmethod
    def from_state(cls, text: str) -> PolicyRecord:
        row = json.loads(text)
        row["hash"] = base64.b64decode(row["hash"])
        return cls(**row)


def policy_hash(name: str, description: str, rules: str, job_acl: dict[str, str] | None) -> bytes:
    """``SetHash``: BLAKE2b-256 of Name, Description, Rules and, with a JobACL, its four fields."""
    h = hashlib.blake2b(digest_size=32)
    parts = [name, description, rules]
    if job_acl is not None:
        parts += [job_acl.get(k, "") for k in JOB_ACL_FIELDS]
    for part in parts:
        h.update(part.encode("utf-8", "surrogateescape"))
    return h.digest()


def validate_policy(name: str, description: str, rules: str, job_acl: dict[str, str] | None) -> None:
    """``ACLPolicy.Validate`` (every failure, in order), raised as the coded 400 of ``UpsertPolicies``."""
    errors = []
    if not VALID_POLICY_NAME.fullmatch(name):
        errors.append(f"invalid name '{name}'")
    try:
        parse_policy(rules, strict=True)
    except PolicyError as exc:
        errors.append(f"failed to parse rules: {exc}")
    if len(description.encode("utf-8", "surrogateescape")) > MAX_DESCRIPTION:
        errors.append(f"description longer than {MAX_DESCRIPTION}")
    if job_acl is not None:
        if job_acl["JobID"] and not job_acl["Namespace"]:
            errors.append("namespace must be set to set job ID")
        if job_acl["Group"] and not job_acl["JobID"]:
            errors.append("job ID must be set to set group")
        if job_acl["Task"] and not job_acl["Group"]:
            errors.append("group must be set to set task")
    if errors:
        raise ACLRequestError(400, multierror("policy 0 invalid: ", errors))
