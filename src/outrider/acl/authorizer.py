"""The one authorization step every endpoint goes through (``client/acl.go``, ``acl/acl.go``).

With ACLs disabled every request is allowed, whatever its token (``acl/virtual.go`` ``ACLsDisabledACL``).
"""

from __future__ import annotations

from outrider.errors import permission_denied

# Namespace capabilities named by the endpoints (``acl/policy.go``).
READ_FS = "read-fs"
READ_LOGS = "read-logs"
READ_JOB = "read-job"
SUBMIT_JOB = "submit-job"
GC_ALLOCATION = "gc-allocation"
ALLOC_LIFECYCLE = "alloc-lifecycle"
LIST_JOBS = "list-jobs"


class Authorizer:
    """Answers "may this token do that?"; raises the 403 :class:`~outrider.errors.APIError` when not."""

    def __init__(self, acl_enabled: bool) -> None:
        self.acl_enabled = acl_enabled

    def allow_namespace(self, token: str, namespace: str, *any_of: str) -> None:
        """Require at least one of the namespace capabilities ``any_of``."""
        if not self.acl_enabled:
            return
        raise permission_denied()

    def allow_node(self, token: str, *, write: bool) -> None:
        """Require ``node:read`` (or ``node:write`` when ``write``)."""
        if not self.acl_enabled:
            return
        raise permission_denied()

    def allow_agent(self, token: str, *, write: bool) -> None:
        """Require ``agent:read`` (or ``agent:write``)."""
        if not self.acl_enabled:
            return
        raise permission_denied()
