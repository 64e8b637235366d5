"""Job commands: ``worker`` (Celery worker), ``scheduler`` (Celery beat), ``jobs submit``."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from lumen.cli.common import (
    console,
    err_console,
    fail,
    get_settings,
    handle_errors,
    index_settings,
)

if TYPE_CHECKING:
    from lumen.services.container import Services

jobs_app = typer.Typer(help="Background jobs.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add the job commands to the main CLI."""
    app.command()(worker)
    app.command()(scheduler)
    app.add_typer(jobs_app, name="jobs")


def _celery(with_tasks: bool) -> Any:
    from lumen.jobs.celery_app import make_celery

    settings = index_settings(get_settings())
    if settings.jobs.backend != "celery":
        raise fail(
            "jobs.backend is 'inprocess' (jobs run inside 'lumen serve'); set "
            "LUMEN_JOBS__BACKEND=celery and jobs.broker_url for workers",
            2,
        )
    if not with_tasks:
        return settings, make_celery(settings.jobs)

    def worker_services() -> Services:
        from lumen.factory import build_services

        return build_services(settings, jobs_runner=False)

    return settings, make_celery(settings.jobs, settings=settings, services=worker_services)


@handle_errors
def worker(
    concurrency: Annotated[int, typer.Option(min=1, max=64, help="Jobs run at once.")] = 1,
    pool: Annotated[
        str, typer.Option(help="Celery pool: threads (default), solo or prefork.")
    ] = "threads",
    hostname: Annotated[str | None, typer.Option(help="Worker name (default: celery's).")] = None,
) -> None:
    """Run a Celery worker for Lumen's jobs (ingestion, re-indexing, retention, anchoring)."""
    if pool not in ("threads", "solo", "prefork"):
        raise fail(f"unknown pool {pool!r}: use threads, solo or prefork", 2)
    settings, app = _celery(with_tasks=True)
    if settings.vector_store.backend in ("edge", "local"):
        err_console.print(
            "[yellow]warning:[/] this worker opens the embedded index itself: no other process "
            "(lumen serve, another worker) can open it meanwhile; share it with 'lumen serve' "
            "on this data directory, 'lumen index serve' or a Qdrant server",
            highlight=False,
        )
    argv = [
        "worker",
        "--loglevel=INFO",
        f"--queues={settings.jobs.queue}",
        f"--pool={pool}",
        f"--concurrency={concurrency}",
        "--without-gossip",
        "--without-mingle",
    ]
    if hostname:
        argv.append(f"--hostname={hostname}")
    app.worker_main(argv)


@handle_errors
def scheduler() -> None:
    """Run Celery beat: retention and audit anchoring on the jobs.*_every_s periods."""
    settings, app = _celery(with_tasks=True)
    schedule = settings.paths.data_dir / "celerybeat-schedule"
    settings.paths.data_dir.mkdir(parents=True, exist_ok=True)
    app.start(["beat", "--loglevel=INFO", f"--schedule={schedule}"])


@jobs_app.command("submit")
@handle_errors
def jobs_submit(
    kind: Annotated[
        str,
        typer.Argument(help="ingest_source, ingest_folder, reindex, retention or audit_anchor."),
    ],
    params: Annotated[str, typer.Option(help="The job's parameters as JSON.")] = "{}",
) -> None:
    """Queue a job for the workers (jobs.backend=celery) and print its id."""
    from lumen.errors import InputError
    from lumen.factory import build_services
    from lumen.services.jobs import JOB_KINDS, create_job

    if kind not in JOB_KINDS or kind == "ingest_upload":
        raise InputError(f"unknown job kind {kind!r}")
    try:
        values = json.loads(params)
    except json.JSONDecodeError:
        raise InputError("--params is not valid JSON") from None
    if not isinstance(values, dict):
        raise InputError("--params must be a JSON object")
    settings = get_settings()
    if settings.jobs.backend != "celery":
        raise fail("jobs submit needs jobs.backend=celery (workers to run it)", 2)
    services = build_services(settings)
    try:
        job = create_job(services.database, kind=kind, params=values, created_by=None)  # type: ignore[arg-type]
        if services.jobs is None:
            raise fail("no job runner is configured (jobs.backend)", 1)
        services.jobs.submit(job.id)
    finally:
        services.close()
    console.print(job.id, highlight=False)
