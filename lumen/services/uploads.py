"""Uploads: files stored, then indexed by a job; a collection's uploaded documents; delete.

Admins may write any collection; a pharma user only the collection named after their
organisation (another organisation's looks absent: 404); patients none (403). Every upload,
index and delete is audited.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lumen.db.models import Job, Upload, User, new_id
from lumen.documents import COLLECTION_NAME_PATTERN
from lumen.errors import (
    ComponentError,
    ConflictError,
    FieldError,
    InputError,
    JobBackendUnavailable,
    NotFoundError,
    PermissionDeniedError,
)
from lumen.ingest.sniff import sniff
from lumen.services.accounts import own_collection, utcnow
from lumen.services.audit import Actor
from lumen.services.container import Services
from lumen.services.jobs import create_job, finish_job, get_job

logger = logging.getLogger(__name__)

_COLLECTION = re.compile(COLLECTION_NAME_PATTERN)
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class IncomingFile:
    """One file of an upload request, read within the size limit."""

    filename: str
    data: bytes


def check_write_access(user: User, collection: str) -> None:
    """Whether ``user`` may upload into and delete from ``collection``.

    Raises:
        FieldError: the name is not a valid collection name.
        PermissionDeniedError: the role may not upload at all (patients).
        NotFoundError: a pharma user and another organisation's collection.

    """
    if not _COLLECTION.match(collection):
        raise FieldError("name", "a collection name has 1-64 letters, digits, '_' or '-'")
    if user.role == "admin":
        return
    if user.role == "pharma":
        if own_collection(user) == collection:
            return
        raise NotFoundError("no such collection")
    raise PermissionDeniedError("your role cannot upload documents")


def safe_filename(name: str) -> str:
    """A file name safe as a storage key part (no folders, no odd characters)."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = _UNSAFE.sub("_", base).strip("._")[:120]
    return cleaned or "upload"


def create_uploads(
    services: Services,
    db: Session,
    *,
    user: User,
    collection: str,
    files: list[IncomingFile],
    actor: Actor,
) -> list[Upload]:
    """Check, store and queue each file for indexing (one job per file, so one fails alone).

    Raises:
        InputError: no files, too many, or a file that is not PDF, HTML, Markdown, text or JSONL.
        JobBackendUnavailable: the job queue cannot take the jobs (nothing is kept then).

    """
    check_write_access(user, collection)
    limits = services.settings.uploads
    if not files:
        raise FieldError("files", "no file was uploaded")
    if len(files) > limits.max_files:
        raise FieldError("files", f"at most {limits.max_files} files per upload")
    kinds = [sniff(f.data, f.filename) for f in files]  # InputError names the file
    storage = services.storage
    if storage is None or services.jobs is None:
        raise ComponentError("uploads need the upload storage and the job runner")
    created: list[Upload] = []
    for incoming, kind in zip(files, kinds, strict=True):
        upload_id = new_id()
        name = safe_filename(incoming.filename)
        key = f"uploads/{upload_id}/{name}"
        storage.put(key, incoming.data)
        job = create_job(
            services.database,
            kind="ingest_upload",
            params={"upload_id": upload_id},
            created_by=user.id,
        )
        upload = Upload(
            id=upload_id,
            collection=collection,
            filename=name,
            kind=kind,
            size=len(incoming.data),
            sha256=hashlib.sha256(incoming.data).hexdigest(),
            storage_key=key,
            state="queued",
            job_id=job.id,
            documents=0,
            chunks=0,
            created_by=user.id,
            created_at=utcnow(services),
        )
        db.add(upload)
        db.commit()
        services.audit.record(
            actor=actor, action="upload.create", object_type="upload", object_id=upload_id
        )
        created.append(upload)
    for upload in created:
        if upload.job_id is None:  # set when the upload was created
            continue
        try:
            services.jobs.submit(upload.job_id)
        except JobBackendUnavailable:
            finish_job(
                services.database,
                upload.job_id,
                state="failed",
                error="the job queue was unavailable; upload again",
            )
            upload.state = "failed"
            upload.error = "the job queue was unavailable; upload again"
            db.commit()
            raise
    return created


def read_job(services: Services, *, user: User, job_id: str) -> Job:
    """A job its creator (or an admin) may see; 404 otherwise."""
    try:
        job = get_job(services.database, job_id)
    except NotFoundError:
        raise NotFoundError("no such job") from None
    if user.role != "admin" and job.created_by != user.id:
        raise NotFoundError("no such job")
    return job


def list_uploads(
    services: Services, db: Session, *, user: User, collection: str, limit: int, offset: int
) -> tuple[list[Upload], int]:
    """The collection's uploaded documents, newest first."""
    check_write_access(user, collection)
    where = Upload.collection == collection
    rows = db.scalars(
        select(Upload)
        .where(where)
        .order_by(Upload.created_at.desc(), Upload.id)
        .limit(limit)
        .offset(offset)
    ).all()
    total = db.scalar(select(func.count()).select_from(Upload).where(where)) or 0
    return list(rows), int(total)


def delete_upload(
    services: Services, db: Session, *, user: User, collection: str, upload_id: str, actor: Actor
) -> None:
    """Remove an uploaded document from the index, the storage and the list."""
    check_write_access(user, collection)
    upload = db.get(Upload, upload_id)
    if upload is None or upload.collection != collection:
        services.audit.record(
            actor=actor,
            action="upload.delete",
            outcome="not_found",
            object_type="upload",
            object_id=upload_id[:64],
        )
        raise NotFoundError("no such document")
    if upload.state in ("queued", "indexing"):
        raise ConflictError("the document is still being indexed; delete it once its job ends")
    if collection in services.lumen.store.collections():
        services.lumen.ingestor.delete_source(collection, f"upload:{upload.id}")
    if services.storage is not None:
        with contextlib.suppress(NotFoundError, InputError):
            services.storage.delete(upload.storage_key)
    db.delete(upload)
    db.commit()
    services.audit.record(
        actor=actor, action="upload.delete", object_type="upload", object_id=upload_id
    )
