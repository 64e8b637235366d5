"""The Celery application: one task that runs a stored job, and the periodic schedule.

Late acknowledgement with ``task_reject_on_worker_lost``: a job whose worker dies is handed to
another worker (RabbitMQ at once; Redis after ``jobs.visibility_timeout_s``). Results live in
the ``jobs`` table, never in the broker.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from lumen.errors import MissingExtraError
from lumen.settings import JobsSettings, Settings

if TYPE_CHECKING:
    from lumen.services.container import Services

logger = logging.getLogger(__name__)

RUN_JOB = "lumen.run_job"
SCHEDULE_JOB = "lumen.schedule_job"

_worker_services: Services | None = None
_worker_lock = threading.Lock()


def _import_celery() -> Any:
    try:
        import celery
    except ImportError as exc:
        raise MissingExtraError("celery", "jobs") from exc
    return celery


def make_celery(
    jobs: JobsSettings,
    *,
    settings: Settings | None = None,
    services: Callable[[], Services] | None = None,
) -> Any:
    """A Celery app on ``jobs.broker_url``.

    Workers pass ``settings`` and ``services`` (what builds the worker's parts, called on its
    first job): its tasks then run jobs.
    """
    celery = _import_celery()
    app = celery.Celery("lumen", broker=jobs.broker_url, set_as_current=False)
    transport: dict[str, Any] = {"visibility_timeout": jobs.visibility_timeout_s}
    if jobs.broker_url.startswith(("redis://", "rediss://")):
        transport["global_keyprefix"] = f"{jobs.queue}:"
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_ignore_result=True,
        worker_prefetch_multiplier=1,
        task_default_queue=jobs.queue,
        task_serializer="json",
        accept_content=["json"],
        broker_transport_options=transport,
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,
        worker_hijack_root_logger=False,
        worker_cancel_long_running_tasks_on_connection_loss=False,
    )
    if settings is not None and services is not None:
        _register_tasks(app, settings, services)
    return app


def _services(build: Callable[[], Services]) -> Services:
    """The worker process's services, built on its first job."""
    global _worker_services
    with _worker_lock:
        if _worker_services is None:
            _worker_services = build()
        return _worker_services


def _register_tasks(app: Any, settings: Settings, build: Callable[[], Services]) -> None:
    from lumen.jobs.tasks import RetryableJobError, backoff_s, run_job

    jobs = settings.jobs

    @app.task(name=RUN_JOB, bind=True, max_retries=jobs.max_retries, acks_late=True)  # type: ignore[untyped-decorator]
    def run_job_task(self: Any, job_id: str) -> None:
        services = _services(build)
        try:
            run_job(services, job_id, final_attempt=self.request.retries >= jobs.max_retries)
        except RetryableJobError as exc:
            countdown = backoff_s(self.request.retries, cap_s=jobs.retry_backoff_max_s)
            raise self.retry(exc=exc, countdown=countdown) from exc

    @app.task(name=SCHEDULE_JOB)  # type: ignore[untyped-decorator]
    def schedule_job(kind: str) -> None:
        from lumen.services.jobs import create_job

        services = _services(build)
        job = create_job(services.database, kind=kind, params={}, created_by=None)  # type: ignore[arg-type]
        app.send_task(RUN_JOB, args=[job.id], queue=jobs.queue)

    app.conf.beat_schedule = {
        "retention": {
            "task": SCHEDULE_JOB,
            "schedule": float(jobs.retention_every_s),
            "args": ("retention",),
            "options": {"queue": jobs.queue},
        },
        "audit-anchor": {
            "task": SCHEDULE_JOB,
            "schedule": float(jobs.anchor_every_s),
            "args": ("audit_anchor",),
            "options": {"queue": jobs.queue},
        },
    }
