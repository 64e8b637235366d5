"""Uploads into a collection, the collection's uploaded documents, and jobs."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Query, Request, UploadFile, status
from starlette.concurrency import run_in_threadpool

from lumen.api.deps import (
    CurrentCaller,
    ServicesDep,
    SessionDep,
    client_ip,
    get_caller,
    get_services,
)
from lumen.api.job_schemas import JobPublic, UploadPublic, UploadReceipt
from lumen.api.schemas import Page
from lumen.db.models import Job, Upload
from lumen.errors import FieldError
from lumen.services import uploads
from lumen.services.uploads import IncomingFile

router = APIRouter(tags=["uploads"])

Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]


def upload_public(upload: Upload) -> UploadPublic:
    """An upload as the API shows it."""
    return UploadPublic.model_validate(upload, from_attributes=True)


def job_public(job: Job) -> JobPublic:
    """A job as the API shows it."""
    return JobPublic.model_validate(job, from_attributes=True)


async def check_uploader(request: Request, match: re.Match[str]) -> None:
    """Before the files are read: the caller is signed in and may write to the collection."""
    services = get_services(request)
    collection = match.group("name")

    def check() -> None:
        db = services.database.sessions()
        try:
            caller = get_caller(request, services, db, client_ip(request, services))
            uploads.check_write_access(caller.user, collection)
        finally:
            db.close()

    await run_in_threadpool(check)


async def _read_within(file: UploadFile, max_bytes: int) -> IncomingFile:
    data = await file.read(max_bytes + 1)
    name = file.filename or "upload"
    if len(data) > max_bytes:
        raise FieldError("files", f"{name}: larger than {max_bytes} bytes")
    return IncomingFile(filename=name, data=data)


@router.post(
    "/collections/{name}/uploads",
    status_code=status.HTTP_202_ACCEPTED,
    responses={413: {"description": "The request is too large"}},
)
async def upload_files(
    name: str,
    files: list[UploadFile],
    caller: CurrentCaller,
    services: ServicesDep,
    db: SessionDep,
) -> UploadReceipt:
    """Upload PDF, HTML, Markdown, text or JSONL files; each is indexed by its own job."""
    uploads.check_write_access(caller.user, name)
    max_bytes = services.settings.uploads.max_file_bytes
    incoming = [await _read_within(f, max_bytes) for f in files]
    created = await run_in_threadpool(
        uploads.create_uploads,
        services,
        db,
        user=caller.user,
        collection=name,
        files=incoming,
        actor=caller.actor,
    )
    return UploadReceipt(items=[upload_public(u) for u in created])


@router.get("/collections/{name}/documents")
def list_documents(
    name: str,
    caller: CurrentCaller,
    services: ServicesDep,
    db: SessionDep,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[UploadPublic]:
    """The collection's uploaded documents, newest first."""
    rows, total = uploads.list_uploads(
        services, db, user=caller.user, collection=name, limit=limit, offset=offset
    )
    return Page[UploadPublic](
        items=[upload_public(u) for u in rows], total=total, limit=limit, offset=offset
    )


@router.delete("/collections/{name}/documents/{upload_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_document(
    name: str, upload_id: str, caller: CurrentCaller, services: ServicesDep, db: SessionDep
) -> None:
    """Remove an uploaded document from the index and the storage."""
    uploads.delete_upload(
        services, db, user=caller.user, collection=name, upload_id=upload_id, actor=caller.actor
    )


@router.get("/jobs/{job_id}")
def get_job(job_id: str, caller: CurrentCaller, services: ServicesDep) -> JobPublic:
    """A job you started (admins: any job)."""
    return job_public(uploads.read_job(services, user=caller.user, job_id=job_id))
