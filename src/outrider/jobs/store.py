"""Registered jobs in the state DB's ``jobs`` table, and their recent versions in ``job_versions``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from outrider.state.db import StateDB

TRACKED_VERSIONS = 6
"""Versions kept per job, the newest ones (Nomad's ``JobTrackedVersions`` default)."""


@dataclass
class JobRecord:
    """A registered job: its Nomad JSON (server fields included, ``Status`` excepted) and bookkeeping."""

    namespace: str
    id: str
    job: dict[str, Any]
    stop: bool
    version: int
    create_index: int
    modify_index: int
    submit_time: int

    @property
    def job_modify_index(self) -> int:
        return int(self.job.get("JobModifyIndex", self.modify_index))


class JobStore:
    """Reads and writes job rows; each write is one transaction."""

    def __init__(self, db: StateDB) -> None:
        self.db = db

    def get(self, namespace: str, job_id: str) -> JobRecord | None:
        rows = self.db.query(
            "SELECT namespace, id, spec, stop, version, create_index, modify_index, submit_time "
            "FROM jobs WHERE namespace = ? AND id = ?",
            (namespace, job_id),
        )
        return _record(rows[0]) if rows else None

    def all(self, namespace: str | None = None) -> list[JobRecord]:
        """Every job (of ``namespace``, or of all namespaces when None), sorted by ID."""
        sql = "SELECT namespace, id, spec, stop, version, create_index, modify_index, submit_time FROM jobs"
        params: tuple[object, ...] = ()
        if namespace is not None:
            sql += " WHERE namespace = ?"
            params = (namespace,)
        return [_record(row) for row in self.db.query(sql + " ORDER BY id, namespace", params)]

    def put(self, rec: JobRecord) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO jobs (namespace, id, spec, status, stop, version, create_index, modify_index, "
                "submit_time) VALUES (?, ?, ?, '', ?, ?, ?, ?, ?) ON CONFLICT(namespace, id) DO UPDATE SET "
                "spec = excluded.spec, stop = excluded.stop, version = excluded.version, "
                "create_index = excluded.create_index, modify_index = excluded.modify_index, "
                "submit_time = excluded.submit_time",
                (
                    rec.namespace,
                    rec.id,
                    orjson.dumps(rec.job).decode(),
                    int(rec.stop),
                    rec.version,
                    rec.create_index,
                    rec.modify_index,
                    rec.submit_time,
                ),
            )
            conn.execute(
                "INSERT INTO job_versions (namespace, id, version, spec) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(namespace, id, version) DO UPDATE SET spec = excluded.spec",
                (rec.namespace, rec.id, rec.version, orjson.dumps(rec.job).decode()),
            )
            conn.execute(
                "DELETE FROM job_versions WHERE namespace = ? AND id = ? AND version <= ?",
                (rec.namespace, rec.id, rec.version - TRACKED_VERSIONS),
            )

    def versions(self, namespace: str, job_id: str) -> list[dict[str, Any]]:
        """The job as registered at each version kept, newest first (empty for an unknown job)."""
        rows = self.db.query(
            "SELECT spec FROM job_versions WHERE namespace = ? AND id = ? ORDER BY version DESC",
            (namespace, job_id),
        )
        return [orjson.loads(str(row[0])) for row in rows]

    def delete(self, namespace: str, job_id: str) -> None:
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM jobs WHERE namespace = ? AND id = ?", (namespace, job_id))
            conn.execute("DELETE FROM job_versions WHERE namespace = ? AND id = ?", (namespace, job_id))

    def current_index(self) -> int:
        """The latest index handed out (``X-Nomad-Index`` of reads), without taking a new one."""
        return self.db.current_index()


def _record(row: tuple[object, ...]) -> JobRecord:
    return JobRecord(
        namespace=str(row[0]),
        id=str(row[1]),
        job=orjson.loads(str(row[2])),
        stop=bool(row[3]),
        version=int(row[4]),  # type: ignore[call-overload]
        create_index=int(row[5]),  # type: ignore[call-overload]
        modify_index=int(row[6]),  # type: ignore[call-overload]
        submit_time=int(row[7]),  # type: ignore[call-overload]
    )
