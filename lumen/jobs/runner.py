"""Where jobs run: a bounded in-process pool (the embedded default) or Celery workers."""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Protocol

from lumen.errors import JobBackendUnavailable
from lumen.jobs.tasks import RetryableJobError, backoff_s, run_job
from lumen.services.jobs import unfinished_jobs
from lumen.settings import JobsSettings

if TYPE_CHECKING:
    from lumen.services.container import Services

logger = logging.getLogger(__name__)


class JobRunner(Protocol):
    """Sends a stored job to be run."""

    def submit(self, job_id: str) -> None:
        """Run the job soon; JobBackendUnavailable if it cannot be handed over."""

    def resume(self) -> None:
        """Pick up jobs left unfinished by a previous process, where the runner must."""

    def close(self) -> None:
        """Stop taking jobs."""


class InProcessRunner:
    """A bounded thread pool in this process; jobs left unfinished by a restart run again."""

    def __init__(self, settings: JobsSettings) -> None:
        self._settings = settings
        self._pool = ThreadPoolExecutor(
            max_workers=settings.workers, thread_name_prefix="lumen-job"
        )
        self._services: Services | None = None
        self._closed = threading.Event()

    def bind(self, services: Services) -> None:
        """Attach the services the jobs use."""
        self._services = services

    def resume(self) -> None:
        """Resubmit the jobs a previous process left unfinished (the server calls it on start)."""
        if self._services is None:
            return
        for job_id in unfinished_jobs(self._services.database):
            logger.info("resuming job %s", job_id)
            self.submit(job_id)

    def submit(self, job_id: str) -> None:
        """Queue the job on the pool."""
        if self._services is None or self._closed.is_set():
            raise JobBackendUnavailable("the job pool is not running")
        self._pool.submit(self._run, self._services, job_id)

    def _run(self, services: Services, job_id: str) -> None:
        retries = 0
        while not self._closed.is_set():
            try:
                run_job(services, job_id, final_attempt=retries >= self._settings.max_retries)
                return
            except RetryableJobError:
                wait = backoff_s(retries, cap_s=self._settings.retry_backoff_max_s)
                retries += 1
                if self._closed.wait(wait):
                    return
            except Exception:
                logger.exception("job %s crashed the runner", job_id)
                return

    def close(self) -> None:
        """Stop; running jobs finish their current step, queued ones resume on next start."""
        self._closed.set()
        self._pool.shutdown(wait=False, cancel_futures=True)


class CeleryRunner:
    """Hands jobs to Celery workers through the broker."""

    def __init__(self, settings: JobsSettings) -> None:
        from lumen.jobs.celery_app import make_celery

        self._settings = settings
        self._app: Any = make_celery(settings)

    def submit(self, job_id: str) -> None:
        """Publish the job (retries the broker connection briefly, then 503)."""
        from lumen.jobs.celery_app import RUN_JOB

        try:
            self._app.send_task(
                RUN_JOB,
                args=[job_id],
                queue=self._settings.queue,
                retry=True,
                retry_policy={"max_retries": 3, "interval_start": 0.2, "interval_step": 0.5},
            )
        except Exception as exc:  # kombu raises OperationalError and friends
            logger.error("cannot publish job %s: %s", job_id, type(exc).__name__)
            raise JobBackendUnavailable("the job broker is unreachable") from exc

    def resume(self) -> None:
        """Nothing to do: the broker keeps unacknowledged jobs."""

    def close(self) -> None:
        """Release the broker connections."""
        pool = getattr(self._app, "pool", None)
        if pool is not None:
            pool.force_close_all()


def wait_for(check: Any, timeout_s: float, interval_s: float = 0.2) -> bool:
    """Poll ``check()`` until it is true or the time is up (tests, the CLI)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(interval_s)
    return bool(check())
