"""Schemas of jobs and uploaded documents (Public: what the API returns)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel

JobState = Literal["queued", "running", "retrying", "succeeded", "failed"]
UploadState = Literal["queued", "indexing", "indexed", "failed"]


class JobPublic(BaseModel):
    """A background job: its state, progress (0..1), counts and error."""

    id: str
    kind: str
    state: JobState
    progress: float
    counts: dict[str, Any]
    error: str | None = None
    attempts: int
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None


class UploadPublic(BaseModel):
    """An uploaded file and what indexing made of it."""

    id: str
    collection: str
    filename: str
    kind: str
    size: int
    state: UploadState
    job_id: str | None = None
    documents: int
    chunks: int
    error: str | None = None
    created_at: datetime


class UploadReceipt(BaseModel):
    """The files accepted; each is indexed by its own job."""

    items: list[UploadPublic]
