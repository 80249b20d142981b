"""Nomad's jobs API, the subset that starts work on this node: parsing, storing, placing."""

from outrider.jobs.errors import JobError
from outrider.jobs.manager import JobManager
from outrider.jobs.parse import GroupSpec, ParsedJob, parse_job
from outrider.jobs.store import JobRecord, JobStore

__all__ = ["GroupSpec", "JobError", "JobManager", "JobRecord", "JobStore", "ParsedJob", "parse_job"]
