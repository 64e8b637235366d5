"""The job functions: the same code runs in the in-process pool and in Celery workers.

Each takes the job's id, reads its parameters from the ``jobs`` table, writes progress and the
outcome back there, and is safe to run twice (ingestion is incremental; a finished job is
skipped), so a job redelivered after a worker died completes without losing or duplicating a
document.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lumen.db.models import Upload
from lumen.errors import ComponentError, InputError, LumenError, NotFoundError
from lumen.ingest.pipeline import IngestReport
from lumen.services.audit import Actor
from lumen.services.jobs import finish_job, set_progress, start_job

if TYPE_CHECKING:
    from lumen.documents import Document
    from lumen.services.container import Services

logger = logging.getLogger(__name__)


def backoff_s(retries: int, *, cap_s: int) -> int:
    """Exponential back-off: 2, 4, 8, ... seconds, at most ``cap_s``."""
    return int(min(cap_s, 2 ** (retries + 1)))


class RetryableJobError(ComponentError):
    """A part the job needs failed; the job runs again after a back-off."""


def _counts(report: IngestReport) -> dict[str, Any]:
    return {
        "documents": report.documents,
        "added": report.added,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "chunks_written": report.chunks_written,
        "seconds": round(report.seconds, 3),
    }


def _progress(services: Services, job_id: str) -> Callable[[int, int], None]:
    def report(done: int, total: int) -> None:
        set_progress(
            services.database,
            job_id,
            progress=done / total if total else 0.0,
            counts={"chunks_done": done, "chunks_total": total},
        )

    return report


def _ingest_documents(
    services: Services, job_id: str, documents: list[Document], *, collection: str, source: str
) -> dict[str, Any]:
    report = services.lumen.ingestor.ingest(
        documents, collection=collection, source=source, progress=_progress(services, job_id)
    )
    return _counts(report)


def _ingest_source(services: Services, job_id: str, params: dict[str, Any]) -> dict[str, Any]:
    from lumen.ingest.loaders import get_loader

    loader = get_loader(str(params["source"]))
    collection = str(params.get("collection") or loader.default_collection)
    path = Path(params["path"]) if params.get("path") else None
    if path is None:
        if not loader.default_subpath:
            raise InputError(f"the source {params['source']!r} needs a path")
        path = services.settings.paths.sources_dir / loader.default_subpath
    problems: list[str] = []
    documents = list(
        loader.load(path, collection=collection, report=lambda f, m: problems.append(m))
    )
    if not documents and problems:
        raise InputError(f"nothing to ingest: {len(problems)} file(s) failed ({problems[0]})")
    counts = services.lumen.ingestor.ingest(
        documents,
        collection=collection,
        source=params.get("source_name"),
        progress=_progress(services, job_id),
        vocabulary=True,
    )
    return {**_counts(counts), "problems": len(problems)}


def _ingest_folder(services: Services, job_id: str, params: dict[str, Any]) -> dict[str, Any]:
    return _ingest_source(services, job_id, {**params, "source": "files"})


def _ingest_upload(services: Services, job_id: str, params: dict[str, Any]) -> dict[str, Any]:
    from lumen.ingest.sandbox import parse_file
    from lumen.ingest.sniff import SUFFIXES

    upload_id = str(params["upload_id"])
    with services.database.session() as db:
        upload = db.get(Upload, upload_id)
        if upload is None:
            raise InputError("the upload was deleted before it was indexed")
        upload.state = "indexing"
        collection, kind, key = upload.collection, upload.kind, upload.storage_key
        filename = upload.filename
        actor = Actor(upload.created_by, None, None)
    try:
        data = services_storage(services).get(key)
    except NotFoundError:
        raise InputError("the uploaded file is gone from storage") from None
    uploads = services.settings.uploads
    with tempfile.TemporaryDirectory(prefix="lumen-upload-") as folder:
        path = Path(folder) / f"upload{SUFFIXES[kind]}"
        path.write_bytes(data)
        parsed = parse_file(
            path,
            kind=kind,
            collection=collection,
            max_pdf_pages=uploads.max_pdf_pages,
            max_text_chars=uploads.max_text_chars,
            name=filename,
        )
    source = f"upload:{upload_id}"
    documents = [replace(d, id=f"{source}/{d.id}", source=source) for d in parsed]
    counts = _ingest_documents(services, job_id, documents, collection=collection, source=source)
    with services.database.session() as db:
        upload = db.get(Upload, upload_id)
        if upload is not None:
            upload.state = "indexed"
            upload.documents = len(documents)
            upload.chunks = sum(
                d.chunks_found for d in services.lumen.store.documents(collection, source)
            )
            upload.error = None
    services.audit.record(
        actor=actor, action="upload.index", object_type="upload", object_id=upload_id
    )
    return counts


def _reindex(services: Services, job_id: str, params: dict[str, Any]) -> dict[str, Any]:
    store = services.lumen.store
    names = [params["collection"]] if params.get("collection") else store.collections()
    ingestor = services.lumen.ingestor
    progress = _progress(services, job_id)
    total = 0
    for name in names:
        total += ingestor.reembed(str(name), progress=progress)
    ingestor.adopt_embedding_model()
    return {"collections": len(names), "chunks_written": total}


def _retention(services: Services, _job_id: str, params: dict[str, Any]) -> dict[str, Any]:
    from lumen.services.data_rights import purge_expired_conversations

    removed = purge_expired_conversations(services, days=params.get("days"))
    return {"conversations_deleted": removed}


def _audit_anchor(services: Services, _job_id: str, params: dict[str, Any]) -> dict[str, Any]:
    from lumen.services.audit import append_anchor, read_anchors

    settings = services.settings
    file = Path(
        params.get("file") or settings.jobs.anchor_file or settings.paths.data_dir / "audit.anchors"
    )
    earlier = read_anchors(file) if file.exists() else []
    anchor = services.audit.head()
    report = services.audit.verify(anchors=[*earlier, anchor])
    if not report.ok:
        raise InputError(
            f"not anchored: the audit chain is broken at row {report.first_bad_seq}: "
            f"{report.reason}"
        )
    append_anchor(file, anchor)
    return {"seq": anchor.seq}


JOBS: dict[str, Callable[[Services, str, dict[str, Any]], dict[str, Any]]] = {
    "ingest_source": _ingest_source,
    "ingest_folder": _ingest_folder,
    "ingest_upload": _ingest_upload,
    "reindex": _reindex,
    "retention": _retention,
    "audit_anchor": _audit_anchor,
}


def services_storage(services: Services) -> Any:
    """The blob store of uploads."""
    if services.storage is None:
        raise ComponentError("no upload storage is configured")
    return services.storage


def run_job(services: Services, job_id: str, *, final_attempt: bool) -> None:
    """Run one job and record its outcome.

    Bad input (a hostile or malformed file) fails the job at once with its message. A failing
    component raises :class:`RetryableJobError` (the job is ``retrying``) unless this is the
    final attempt, when the job fails.
    """
    job = start_job(services.database, job_id)
    if job is None:
        logger.info("job %s is finished already; skipped", job_id)
        return
    logger.info("job %s (%s) started, attempt %s", job_id, job.kind, job.attempts)
    try:
        counts = JOBS[job.kind](services, job_id, dict(job.params))
    except InputError as exc:
        _failed(services, job.kind, job_id, dict(job.params), str(exc))
        return
    except LumenError as exc:
        logger.warning("job %s attempt %s failed: %s", job_id, job.attempts, type(exc).__name__)
        if final_attempt:
            _failed(services, job.kind, job_id, dict(job.params), f"gave up: {exc}")
            return
        finish_job(services.database, job_id, state="retrying", error=str(exc))
        raise RetryableJobError(str(exc)) from exc
    except Exception as exc:
        logger.exception("job %s failed unexpectedly", job_id)
        _failed(
            services, job.kind, job_id, dict(job.params), f"internal error ({type(exc).__name__})"
        )
        return
    finish_job(services.database, job_id, state="succeeded", counts=counts)
    logger.info("job %s (%s) succeeded", job_id, job.kind)


def _failed(services: Services, kind: str, job_id: str, params: dict[str, Any], error: str) -> None:
    logger.warning("job %s (%s) failed", job_id, kind)
    finish_job(services.database, job_id, state="failed", error=error)
    if kind == "ingest_upload":
        upload_id = str(params.get("upload_id", ""))
        with services.database.session() as db:
            upload = db.get(Upload, upload_id)
            if upload is None:
                return
            upload.state = "failed"
            upload.error = error[:500]
            actor = Actor(upload.created_by, None, None)
        services.audit.record(
            actor=actor,
            action="upload.index",
            outcome="failure",
            object_type="upload",
            object_id=upload_id,
        )
