"""The words of Nomad's policy language: levels, capabilities and what each shorthand expands to.

Source: ``acl/policy.go`` (the capability constants, ``isPolicyValid``,
``isNamespaceCapabilityValid``, ``expandNamespacePolicy``,
``expandNamespaceCapabilities``, ``expandNodePoolPolicy``,
``expandHostVolumePolicy``, ``expandOperatorPolicy``, ``expandSentinelPolicy``,
``expandVariablesCapabilities``). Expansion order matters: it is visible in a
policy's ``RulesJSON``.
"""

from __future__ import annotations

import re

DENY = "deny"
READ = "read"
WRITE = "write"
SCALE = "scale"
LIST = "list"

# Levels accepted by every block's `policy` except plugin's.
POLICY_LEVELS = frozenset({DENY, READ, WRITE, SCALE})
PLUGIN_LEVELS = frozenset({DENY, READ, LIST, WRITE})

# Namespace capabilities.
LIST_JOBS = "list-jobs"
PARSE_JOB = "parse-job"
READ_JOB = "read-job"
SUBMIT_JOB = "submit-job"
DISPATCH_JOB = "dispatch-job"
READ_LOGS = "read-logs"
READ_FS = "read-fs"
ALLOC_EXEC = "alloc-exec"
ALLOC_NODE_EXEC = "alloc-node-exec"
ALLOC_LIFECYCLE = "alloc-lifecycle"
SENTINEL_OVERRIDE = "sentinel-override"
CSI_REGISTER_PLUGIN = "csi-register-plugin"
CSI_WRITE_VOLUME = "csi-write-volume"
CSI_READ_VOLUME = "csi-read-volume"
CSI_LIST_VOLUME = "csi-list-volume"
CSI_MOUNT_VOLUME = "csi-mount-volume"
HOST_VOLUME_CREATE = "host-volume-create"
HOST_VOLUME_REGISTER = "host-volume-register"
HOST_VOLUME_READ = "host-volume-read"
HOST_VOLUME_WRITE = "host-volume-write"
HOST_VOLUME_DELETE = "host-volume-delete"
LIST_SCALING_POLICIES = "list-scaling-policies"
READ_SCALING_POLICY = "read-scaling-policy"
READ_JOB_SCALING = "read-job-scaling"
SCALE_JOB = "scale-job"
SUBMIT_RECOMMENDATION = "submit-recommendation"
REGISTER_JOB = "register-job"
REVERT_JOB = "revert-job"
DEREGISTER_JOB = "deregister-job"
PURGE_JOB = "purge-job"
EVALUATE_JOB = "evaluate-job"
PLAN_JOB = "plan-job"
TAG_JOB_VERSION = "tag-job-version"
STABLE_JOB = "stable-job"
FAIL_DEPLOYMENT = "fail-deployment"
PAUSE_DEPLOYMENT = "pause-deployment"
PROMOTE_DEPLOYMENT = "promote-deployment"
UNBLOCK_DEPLOYMENT = "unblock-deployment"
CANCEL_DEPLOYMENT = "cancel-deployment"
SET_ALLOC_HEALTH_DEPLOYMENT = "set-alloc-health-deployment"
GC_ALLOCATION = "gc-allocation"
PAUSE_ALLOCATION = "pause-allocation"
FORCE_PERIODIC_JOB = "force-periodic-job"
DELETE_SERVICE_REGISTRATION = "delete-service-registration"

NAMESPACE_CAPABILITIES = frozenset(
    {
        DENY, LIST_JOBS, PARSE_JOB, READ_JOB, SUBMIT_JOB, DISPATCH_JOB, READ_LOGS, READ_FS,
        ALLOC_EXEC, ALLOC_NODE_EXEC, ALLOC_LIFECYCLE, SENTINEL_OVERRIDE,
        CSI_REGISTER_PLUGIN, CSI_WRITE_VOLUME, CSI_READ_VOLUME, CSI_LIST_VOLUME, CSI_MOUNT_VOLUME,
        HOST_VOLUME_CREATE, HOST_VOLUME_REGISTER, HOST_VOLUME_READ, HOST_VOLUME_WRITE, HOST_VOLUME_DELETE,
        LIST_SCALING_POLICIES, READ_SCALING_POLICY, READ_JOB_SCALING, SCALE_JOB, SUBMIT_RECOMMENDATION,
        REGISTER_JOB, REVERT_JOB, DEREGISTER_JOB, PURGE_JOB, EVALUATE_JOB, PLAN_JOB, TAG_JOB_VERSION,
        STABLE_JOB, FAIL_DEPLOYMENT, PAUSE_DEPLOYMENT, PROMOTE_DEPLOYMENT, UNBLOCK_DEPLOYMENT,
        CANCEL_DEPLOYMENT, SET_ALLOC_HEALTH_DEPLOYMENT, GC_ALLOCATION, PAUSE_ALLOCATION,
        FORCE_PERIODIC_JOB, DELETE_SERVICE_REGISTRATION,
    }
)  # fmt: skip

_NAMESPACE_READ = (
    LIST_JOBS, PARSE_JOB, READ_JOB, CSI_LIST_VOLUME, CSI_READ_VOLUME, READ_JOB_SCALING,
    LIST_SCALING_POLICIES, READ_SCALING_POLICY, HOST_VOLUME_READ,
)  # fmt: skip
NAMESPACE_POLICY_EXPANSION: dict[str, tuple[str, ...]] = {
    DENY: (DENY,),
    READ: _NAMESPACE_READ,
    WRITE: (
        *_NAMESPACE_READ,
        SCALE_JOB, SUBMIT_JOB, DISPATCH_JOB, READ_LOGS, READ_FS, ALLOC_EXEC, ALLOC_LIFECYCLE,
        CSI_MOUNT_VOLUME, CSI_WRITE_VOLUME, SUBMIT_RECOMMENDATION, HOST_VOLUME_CREATE,
    ),
    SCALE: (LIST_SCALING_POLICIES, READ_SCALING_POLICY, READ_JOB_SCALING, SCALE_JOB, READ_JOB,
            SUBMIT_RECOMMENDATION),
}  # fmt: skip

# What a host-volume capability implies, added in one pass over the list (not a closure).
NAMESPACE_IMPLIED: dict[str, tuple[str, ...]] = {
    HOST_VOLUME_WRITE: (HOST_VOLUME_REGISTER, HOST_VOLUME_CREATE, HOST_VOLUME_DELETE, HOST_VOLUME_READ),
    HOST_VOLUME_REGISTER: (HOST_VOLUME_CREATE, HOST_VOLUME_READ),
    HOST_VOLUME_CREATE: (HOST_VOLUME_READ,),
}

NODE_POOL_CAPABILITIES = frozenset({"delete", DENY, READ, WRITE})
NODE_POOL_POLICY_EXPANSION: dict[str, tuple[str, ...]] = {
    DENY: (DENY,),
    READ: (READ,),
    WRITE: ("delete", READ, WRITE),
}

HOST_VOLUME_CAPABILITIES = frozenset({DENY, "mount-readonly", "mount-readwrite"})
HOST_VOLUME_POLICY_EXPANSION: dict[str, tuple[str, ...]] = {
    DENY: (DENY,),
    READ: ("mount-readonly",),
    WRITE: ("mount-readonly", "mount-readwrite"),
}

OPERATOR_CAPABILITIES = frozenset(
    {DENY, "snapshot-save", "license-read", "keyring-rotate", "keyring-read", "keyring-delete"}
)
OPERATOR_POLICY_EXPANSION: dict[str, tuple[str, ...]] = {
    DENY: (DENY,),
    READ: ("license-read", "keyring-read"),
    WRITE: ("snapshot-save", "license-read", "keyring-rotate", "keyring-read", "keyring-delete"),
}

SENTINEL_CAPABILITIES = frozenset({DENY, "sentinel-read", "sentinel-submit", "sentinel-delete"})
SENTINEL_POLICY_EXPANSION: dict[str, tuple[str, ...]] = {
    DENY: (DENY,),
    READ: ("sentinel-read",),
    WRITE: ("sentinel-read", "sentinel-submit", "sentinel-delete"),
}

VARIABLE_CAPABILITIES = frozenset({LIST, READ, WRITE, "destroy", DENY})

VALID_NAMESPACE = re.compile(r"[a-zA-Z0-9\-*]{1,128}")
VALID_NODE_POOL = re.compile(r"[a-zA-Z0-9\-_*]{1,128}")
VALID_HOST_VOLUME = VALID_NAMESPACE


def expand_namespace_capabilities(caps: list[str]) -> list[str]:
    """The single pass of implied host-volume capabilities, appended after the list."""
    extra = [implied for cap in caps for implied in NAMESPACE_IMPLIED.get(cap, ())]
    return caps + extra


def expand_variable_capabilities(caps: list[str] | None) -> list[str] | None:
    """A ``deny`` makes the list exactly ``["deny"]``; ``read`` without ``list`` gains ``list``."""
    if caps is None:
        return None
    if DENY in caps:
        return [DENY]
    if READ in caps and LIST not in caps:
        return [*caps, LIST]
    return caps


def max_privilege(a: str, b: str) -> str:
    """``maxPrivilege``: deny beats everything, then write, read, list; anything else is nothing."""
    for level in (DENY, WRITE, READ, LIST):
        if level in (a, b):
            return level
    return ""
