"""The ``jobs`` table: create, start, report progress, finish; the broker holds no results."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import select

from lumen.db.models import Job, new_id
from lumen.db.session import Database
from lumen.errors import NotFoundError

JobKind = Literal[
    "ingest_source", "ingest_folder", "ingest_upload", "reindex", "retention", "audit_anchor"
]
JOB_KINDS: tuple[str, ...] = (
    "ingest_source",
    "ingest_folder",
    "ingest_upload",
    "reindex",
    "retention",
    "audit_anchor",
)
TERMINAL = frozenset({"succeeded", "failed"})
ERROR_CHARS = 500


def _now() -> datetime:
    return datetime.now(UTC)


def create_job(
    database: Database, *, kind: JobKind, params: dict[str, Any], created_by: str | None
) -> Job:
    """A queued job."""
    now = _now()
    job = Job(
        id=new_id(),
        kind=kind,
        state="queued",
        params=params,
        progress=0.0,
        counts={},
        attempts=0,
        created_by=created_by,
        created_at=now,
        updated_at=now,
    )
    with database.session() as db:
        db.add(job)
    return job


def get_job(database: Database, job_id: str) -> Job:
    """One job; NotFoundError if there is none."""
    with database.session() as db:
        job: Job | None = db.get(Job, job_id)
        if job is None:
            raise NotFoundError("no such job")
        return job


def start_job(database: Database, job_id: str) -> Job | None:
    """Mark the job running (one more attempt); None if it is finished already (a redelivery)."""
    with database.session() as db:
        job: Job | None = db.get(Job, job_id, with_for_update=True)
        if job is None or job.state in TERMINAL:
            return None
        job.state = "running"
        job.attempts += 1
        job.started_at = job.started_at or _now()
        job.updated_at = _now()
        job.error = None
        return job


def set_progress(
    database: Database, job_id: str, *, progress: float, counts: dict[str, Any]
) -> None:
    """Record how far the job is (0..1) and its counts so far."""
    with database.session() as db:
        job = db.get(Job, job_id)
        if job is not None and job.state not in TERMINAL:
            job.progress = max(0.0, min(1.0, progress))
            job.counts = counts
            job.updated_at = _now()


def finish_job(
    database: Database,
    job_id: str,
    *,
    state: Literal["succeeded", "failed", "retrying"],
    counts: dict[str, Any] | None = None,
    error: str | None = None,
) -> None:
    """Record the job's outcome (``retrying``: it will run again)."""
    with database.session() as db:
        job = db.get(Job, job_id)
        if job is None:
            return
        job.state = state
        if counts is not None:
            job.counts = counts
        if state == "succeeded":
            job.progress = 1.0
        job.error = error[:ERROR_CHARS] if error else None
        job.updated_at = _now()
        if state in TERMINAL:
            job.finished_at = _now()


def unfinished_jobs(database: Database) -> list[str]:
    """Ids of jobs queued, running or retrying (oldest first): to resume after a restart."""
    with database.session() as db:
        return list(
            db.scalars(
                select(Job.id)
                .where(Job.state.in_(("queued", "running", "retrying")))
                .order_by(Job.created_at)
            )
        )
