"""Jobs: the in-process pool resumes after a restart; Celery on RabbitMQ; S3 storage (moto);
several API workers refuse an index they cannot share."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lumen.cli.main import app
from lumen.errors import InputError
from lumen.factory import build_services, check_multi_process
from lumen.jobs.runner import backoff_s, wait_for
from lumen.services.jobs import create_job, get_job
from lumen.settings import Settings


def test_inprocess_jobs_survive_a_restart(tmp_path: Path) -> None:
    settings = Settings(paths={"data_dir": tmp_path}, jobs={"workers": 1})
    services = build_services(settings, jobs_runner=False)  # a process that dies before running
    job = create_job(services.database, kind="retention", params={}, created_by=None)
    services.close()
    assert get_job(build_services(settings, jobs_runner=False).database, job.id).state == "queued"

    restarted = build_services(settings)
    try:
        assert restarted.jobs is not None
        restarted.jobs.resume()  # as the server does on start
        assert wait_for(lambda: get_job(restarted.database, job.id).state == "succeeded", 30)
        assert get_job(restarted.database, job.id).counts == {"conversations_deleted": 0}
    finally:
        restarted.close()


def test_a_bad_job_fails_with_its_message_and_is_not_retried(tmp_path: Path) -> None:
    services = build_services(Settings(paths={"data_dir": tmp_path}))
    try:
        job = create_job(
            services.database,
            kind="ingest_folder",
            params={"path": str(tmp_path / "missing"), "collection": "x"},
            created_by=None,
        )
        assert services.jobs is not None
        services.jobs.submit(job.id)
        assert wait_for(lambda: get_job(services.database, job.id).state == "failed", 30)
        failed = get_job(services.database, job.id)
        assert failed.attempts == 1
        assert failed.error
        assert "missing" in failed.error
    finally:
        services.close()


def test_backoff_is_exponential_and_capped() -> None:
    assert [backoff_s(n, cap_s=20) for n in range(6)] == [2, 4, 8, 16, 20, 20]


def test_several_workers_refuse_the_embedded_index(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="one process only"):
        check_multi_process(Settings(paths={"data_dir": tmp_path}), 2)
    with pytest.raises(InputError, match=r"kv\.backend=redis"):
        check_multi_process(
            Settings(paths={"data_dir": tmp_path}, vector_store={"backend": "server"}), 2
        )
    check_multi_process(Settings(vector_store={"backend": "remote"}, kv={"backend": "redis"}), 4)
    result = CliRunner().invoke(
        app, ["serve", "--workers", "2"], env={"LUMEN_PATHS__DATA_DIR": str(tmp_path)}
    )
    assert result.exit_code == 2
    assert "one process only" in result.stderr
    assert "Traceback" not in result.stderr


def _rabbitmq_reachable() -> bool:
    import socket

    try:
        with socket.create_connection(("127.0.0.1", 5672), timeout=1):
            return True
    except OSError:
        return False


@pytest.mark.slow
def test_celery_worker_on_rabbitmq(tmp_path: Path, model_cache: Path) -> None:
    if not _rabbitmq_reachable():
        pytest.skip("RabbitMQ is not running on this machine")
    queue = f"lumentest-{uuid.uuid4().hex[:10]}"
    env = {
        **os.environ,
        "LUMEN_PATHS__DATA_DIR": str(tmp_path),
        "LUMEN_JOBS__BACKEND": "celery",
        "LUMEN_JOBS__BROKER_URL": "amqp://guest:guest@127.0.0.1:5672//",
        "LUMEN_JOBS__QUEUE": queue,
    }
    settings = Settings(
        paths={"data_dir": tmp_path},
        jobs={"backend": "celery", "broker_url": env["LUMEN_JOBS__BROKER_URL"], "queue": queue},
    )
    services = build_services(settings)  # migrates the database before the worker starts
    log = open(tmp_path / "worker.log", "wb")  # noqa: SIM115
    worker = subprocess.Popen(
        [sys.executable, "-m", "lumen.cli.main", "worker", "--hostname", f"{queue}@%h"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        job = create_job(services.database, kind="audit_anchor", params={}, created_by=None)
        assert services.jobs is not None
        services.jobs.submit(job.id)
        assert wait_for(lambda: get_job(services.database, job.id).state == "succeeded", 120), (
            tmp_path / "worker.log"
        ).read_text()[-3000:]
        assert (tmp_path / "audit.anchors").is_file()
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        log.close()
        from lumen.jobs.celery_app import make_celery

        with make_celery(settings.jobs).connection_for_write() as connection:
            connection.default_channel.queue_delete(queue)
        services.close()


def test_s3_storage_against_moto_server(moto_server: str) -> None:
    from lumen.components.storage.s3 import S3BlobStore
    from lumen.errors import NotFoundError
    from lumen.settings import UploadSettings

    store = S3BlobStore(
        UploadSettings(
            storage="s3",
            s3_bucket="lumen-test",
            s3_endpoint_url=moto_server,
            s3_region="us-east-1",
            s3_access_key_id="testing",
            s3_secret_access_key="testing",
        )
    )
    store.put("uploads/1/a.md", b"# A\n\nbody\n")
    assert store.get("uploads/1/a.md") == b"# A\n\nbody\n"
    store.delete("uploads/1/a.md")
    with pytest.raises(NotFoundError):
        store.get("uploads/1/a.md")


def test_folder_ingest_then_reindex_after_a_model_change(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    from lumen.factory import build_lumen
    from lumen.ingest.pipeline import EMBEDDING_KEY

    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.md").write_text("# Gout\n\nGout is arthritis caused by uric acid crystals.\n")
    (folder / "b.md").write_text("# Anemia\n\nAnemia means too few red blood cells.\n")
    settings = Settings(paths={"data_dir": tmp_path / "data"})
    services = build_services(settings, lumen=build_lumen(settings, embedder=embedder))
    try:
        assert services.jobs is not None
        job = create_job(
            services.database,
            kind="ingest_folder",
            params={"path": str(folder), "collection": "notes"},
            created_by=None,
        )
        services.jobs.submit(job.id)
        assert wait_for(lambda: get_job(services.database, job.id).state == "succeeded", 60)
        assert get_job(services.database, job.id).counts["added"] == 2
        store = services.lumen.store
        store.set_metadata(EMBEDDING_KEY, "an-older-model")  # as after a change of model
        points = store.stats("notes").points
        reindex = create_job(services.database, kind="reindex", params={}, created_by=None)
        services.jobs.submit(reindex.id)
        assert wait_for(lambda: get_job(services.database, reindex.id).state == "succeeded", 60)
        assert get_job(services.database, reindex.id).counts["chunks_written"] == points
        assert store.get_metadata(EMBEDDING_KEY) == embedder.identity
        assert store.stats("notes").points == points  # rewritten in place, nothing duplicated
        hits = services.lumen.retriever.retrieve("uric acid crystals", collections=["notes"], k=1)
        assert hits.chunks[0].chunk.title.startswith("Gout")
    finally:
        services.close()


def test_upload_through_s3_storage_indexed_and_deleted(
    tmp_path: Path,
    moto_server: str,
    embedder,  # type: ignore[no-untyped-def]
) -> None:
    from lumen.db.models import Upload
    from lumen.factory import build_lumen
    from lumen.services import accounts
    from lumen.services.audit import Actor
    from lumen.services.uploads import IncomingFile, create_uploads, delete_upload

    settings = Settings(
        paths={"data_dir": tmp_path / "data"},
        uploads={
            "storage": "s3",
            "s3_bucket": "lumen-uploads-test",
            "s3_endpoint_url": moto_server,
            "s3_region": "us-east-1",
            "s3_access_key_id": "testing",
            "s3_secret_access_key": "testing",
        },
    )
    services = build_services(settings, lumen=build_lumen(settings, embedder=embedder))
    try:
        with services.database.session() as db:
            admin = accounts.create_user(
                services,
                db,
                email="s3@example.org",
                password="correct horse battery staple",
                role="admin",
            )
            (upload,) = create_uploads(
                services,
                db,
                user=admin,
                collection="s3docs",
                files=[IncomingFile("gout.md", b"# Gout\n\nGout is caused by uric acid.\n")],
                actor=Actor(admin.id, "admin", None),
            )
        assert not (tmp_path / "data" / "uploads").exists()  # nothing kept locally
        assert services.storage is not None
        assert services.storage.get(upload.storage_key).startswith(b"# Gout")
        assert upload.job_id is not None
        assert wait_for(lambda: get_job(services.database, upload.job_id).state == "succeeded", 60)
        assert services.lumen.store.stats("s3docs").documents == 1
        with services.database.session() as db:
            delete_upload(
                services,
                db,
                user=admin,
                collection="s3docs",
                upload_id=upload.id,
                actor=Actor(admin.id, "admin", None),
            )
            assert db.get(Upload, upload.id) is None
        assert services.lumen.store.stats("s3docs").documents == 0
        from lumen.errors import NotFoundError

        with pytest.raises(NotFoundError):
            services.storage.get(upload.storage_key)
    finally:
        services.close()


def test_jobs_submit_checks_its_input(tmp_path: Path) -> None:
    env = {"LUMEN_PATHS__DATA_DIR": str(tmp_path)}
    unknown = CliRunner().invoke(app, ["jobs", "submit", "explode"], env=env)
    assert unknown.exit_code == 2
    assert "unknown job kind" in unknown.stderr
    no_workers = CliRunner().invoke(app, ["jobs", "submit", "retention"], env=env)
    assert no_workers.exit_code == 2
    assert "jobs.backend=celery" in no_workers.stderr
    bad = CliRunner().invoke(app, ["jobs", "submit", "retention", "--params", "[1]"], env=env)
    assert bad.exit_code == 2
    assert "JSON object" in bad.stderr
