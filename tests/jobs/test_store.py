"""The job store keeps the newest versions of each job, and forgets them with the job."""

from __future__ import annotations

from pathlib import Path

from outrider.jobs.store import TRACKED_VERSIONS, JobRecord, JobStore
from outrider.state.db import StateDB


def record(version: int, job_id: str = "web") -> JobRecord:
    job = {"ID": job_id, "Version": version}
    return JobRecord("default", job_id, job, False, version, 1, version + 1, 0)


def test_the_newest_versions_are_kept_newest_first(tmp_path: Path) -> None:
    db = StateDB(str(tmp_path / "state.db"))
    try:
        store = JobStore(db)
        for version in range(TRACKED_VERSIONS + 2):
            store.put(record(version))
        store.put(record(0, "other"))
        kept = [job["Version"] for job in store.versions("default", "web")]
        assert kept == list(range(TRACKED_VERSIONS + 1, 1, -1))
        assert store.versions("default", "nope") == []
        store.delete("default", "web")
        assert store.versions("default", "web") == []
        assert [job["ID"] for job in store.versions("default", "other")] == ["other"]
    finally:
        db.close()
