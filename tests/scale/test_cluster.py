"""Two API processes and two Celery workers on PostgreSQL + Redis, one index process.

The embedded index can be opened by one process only, so ``lumen index serve`` holds it (the
engine in-process, qdrant-edge) and every other process reaches it with
``vector_store.backend=remote``. The shared Redis is used with a unique queue prefix and key
prefix; the test of a broker restart starts its own redis-server.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

import httpx
import pytest

from lumen.jobs.runner import wait_for

from ..api.conftest import PASSWORD
from .conftest import Cluster, wait_worker_ready

pytestmark = pytest.mark.slow

TOPIC = (
    "# Zorblax fever\n\nZorblax fever is a made-up illness used in Lumen's tests. It is treated "
    "with three days of rest and plenty of water; it never needs antibiotics.\n"
)


def _login(base: str) -> dict[str, str]:
    response = httpx.post(
        f"{base}/api/v1/auth/login",
        json={"email": "admin@example.org", "password": PASSWORD},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def _job(base: str, headers: dict[str, str], job_id: str) -> dict:  # type: ignore[type-arg]
    response = httpx.get(f"{base}/api/v1/jobs/{job_id}", headers=headers, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def _upload(base: str, headers: dict[str, str], collection: str, name: str, data: bytes) -> dict:  # type: ignore[type-arg]
    response = httpx.post(
        f"{base}/api/v1/collections/{collection}/uploads",
        files=[("files", (name, data, "application/octet-stream"))],
        headers=headers,
        timeout=60,
    )
    assert response.status_code == 202, response.text
    return response.json()["items"][0]  # type: ignore[no-any-return]


def _ask(base: str, headers: dict[str, str], question: str) -> dict:  # type: ignore[type-arg]
    conversation = httpx.post(f"{base}/api/v1/conversations", json={}, headers=headers, timeout=30)
    assert conversation.status_code == 201, conversation.text
    response = httpx.post(
        f"{base}/api/v1/conversations/{conversation.json()['id']}/messages",
        json={"content": question},
        headers=headers,
        timeout=400,
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def test_upload_indexed_by_a_worker_answerable_from_both_apis(cluster: Cluster) -> None:
    api1, api2 = cluster.apis
    headers = _login(api1)  # the session lives in Redis: valid on both processes
    item = _upload(api1, headers, "knowledge", "zorblax.md", TOPIC.encode())
    assert wait_for(lambda: _job(api2, headers, item["job_id"])["state"] == "succeeded", 120), (
        _job(api2, headers, item["job_id"]),
        cluster.log("worker1"),
        cluster.log("worker2"),
    )
    for base in (api1, api2):
        message = _ask(base, headers, "How is Zorblax fever treated?")
        assert message["status"] == "answered"
        sources = {c["source"] for c in message["answer"]["citations"]}
        assert f"upload:{item['id']}" in sources, message["answer"]
    assert "lumen.run_job" in cluster.log("worker1") + cluster.log("worker2")


def _bulk_jsonl(count: int) -> bytes:
    lines = [
        json.dumps(
            {
                "id": f"doc-{i}",
                "title": f"Condition number {i}",
                "text": f"Condition number {i} is described here with its own words: "
                + " ".join(f"term{i}x{j}" for j in range(40)),
            }
        )
        for i in range(count)
    ]
    return ("\n".join(lines) + "\n").encode()


def test_worker_killed_mid_job_the_other_completes_it(cluster: Cluster) -> None:
    api1, _ = cluster.apis
    headers = _login(api1)
    # Only worker1 takes the job: worker2 is stopped until the job is under way.
    worker2 = cluster.processes["worker2"]
    worker2.send_signal(signal.SIGTERM)
    worker2.wait(timeout=60)
    count = 400
    item = _upload(api1, headers, "bulk", "bulk.jsonl", _bulk_jsonl(count))
    assert wait_for(
        lambda: _job(api1, headers, item["job_id"])["counts"].get("chunks_done", 0) >= 256, 180
    ), (_job(api1, headers, item["job_id"]), cluster.log("worker1"))
    cluster.start("worker2b", "worker", "--hostname", f"w2b-{uuid.uuid4().hex[:6]}@%h")
    wait_worker_ready(cluster, "worker2b")
    cluster.processes["worker1"].send_signal(signal.SIGKILL)
    cluster.processes["worker1"].wait(timeout=10)
    assert _job(api1, headers, item["job_id"])["state"] == "running"

    assert wait_for(
        lambda: _job(api1, headers, item["job_id"])["state"] in ("succeeded", "failed"), 240
    ), (_job(api1, headers, item["job_id"]), cluster.log("worker2b"))
    job = _job(api1, headers, item["job_id"])
    assert job["state"] == "succeeded", job
    assert job["attempts"] == 2, job
    # The first worker's complete documents were kept, the rest written once.
    assert job["counts"]["unchanged"] >= 1
    assert job["counts"]["unchanged"] + job["counts"]["added"] + job["counts"]["updated"] == count
    listing = httpx.get(f"{api1}/api/v1/collections/bulk/documents", headers=headers).json()
    assert listing["items"][0]["documents"] == count
    # No document lost or duplicated: one point per chunk, every document complete.
    from lumen.components.vector_store.remote import RemoteVectorStore

    store = RemoteVectorStore(
        cluster.env["LUMEN_VECTOR_STORE__REMOTE_URL"],
        cluster.env["LUMEN_VECTOR_STORE__REMOTE_TOKEN"],
    )
    try:
        stats = store.stats("bulk")
        documents = list(store.documents("bulk"))
    finally:
        store.close()
    assert stats.documents == count == len(documents)
    assert all(d.complete for d in documents)
    assert stats.points == sum(d.n_chunks for d in documents)


def test_hostile_upload_fails_alone_and_roles(cluster: Cluster) -> None:
    from ..files import bomb_pdf

    api1, api2 = cluster.apis
    headers = _login(api2)
    bad = _upload(api2, headers, "knowledge", "bomb.pdf", bomb_pdf())
    good = _upload(
        api2, headers, "knowledge", "fine.md", b"# Fine\n\nA fine document about sleep.\n"
    )
    assert wait_for(
        lambda: all(
            _job(api1, headers, i["job_id"])["state"] in ("succeeded", "failed")
            for i in (bad, good)
        ),
        180,
    )
    assert _job(api1, headers, bad["job_id"])["state"] == "failed"
    assert "bomb.pdf" in _job(api1, headers, bad["job_id"])["error"]
    assert _job(api1, headers, good["job_id"])["state"] == "succeeded"
    # A patient may not write a collection.
    signup = httpx.post(
        f"{api1}/api/v1/auth/signup", json={"email": "p@example.org", "password": PASSWORD}
    )
    assert signup.status_code == 201
    login = httpx.post(
        f"{api2}/api/v1/auth/login", json={"email": "p@example.org", "password": PASSWORD}
    )
    patient = {"Authorization": f"Bearer {login.json()['token']}"}
    refused = httpx.post(
        f"{api1}/api/v1/collections/knowledge/uploads",
        files=[("files", ("x.md", b"# X\n\ntext\n", "text/markdown"))],
        headers=patient,
    )
    assert refused.status_code == 403


def _start_redis(binary: str, port: int, folder: Path) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(folder),
            "--appendonly",
            "yes",
            "--save",
            "",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    import redis

    assert wait_for(lambda: _pings(redis, port), 20)
    return process


def _pings(redis: object, port: int) -> bool:
    try:
        return bool(redis.Redis(port=port, socket_timeout=0.5).ping())  # type: ignore[attr-defined]
    except Exception:
        return False


def test_broker_restarted_mid_job(cluster: Cluster, own_redis: tuple[str, int, Path]) -> None:
    binary, port, folder = own_redis
    broker = _start_redis(binary, port, folder)
    broker_url = f"redis://127.0.0.1:{port}/0"
    env = {"LUMEN_JOBS__BROKER_URL": broker_url}
    worker = cluster.start("worker-own", "worker", "--hostname", "wown@%h", env=env)
    try:
        wait_worker_ready(cluster, "worker-own")
        from lumen.factory import build_services
        from lumen.services.jobs import create_job, get_job
        from lumen.settings import Settings

        os.environ.update({k: v for k, v in cluster.env.items() if k.startswith("LUMEN_")})
        os.environ["LUMEN_JOBS__BROKER_URL"] = broker_url
        try:
            services = build_services(Settings())
        finally:
            for key in [k for k in os.environ if k.startswith("LUMEN_")]:
                del os.environ[key]
        folder_docs = cluster.root / "restart-docs"
        folder_docs.mkdir()
        (folder_docs / "bulk.jsonl").write_bytes(_bulk_jsonl(600))
        try:
            job = create_job(
                services.database,
                kind="ingest_folder",
                params={"path": str(folder_docs), "collection": "restart"},
                created_by=None,
            )
            assert services.jobs is not None
            services.jobs.submit(job.id)
            assert wait_for(lambda: get_job(services.database, job.id).state == "running", 120)
            broker.send_signal(signal.SIGTERM)  # the broker goes away mid-job...
            broker.wait(timeout=20)
            time.sleep(2)
            broker = _start_redis(binary, port, folder)  # ...and comes back
            assert wait_for(
                lambda: get_job(services.database, job.id).state in ("succeeded", "failed"), 240
            ), cluster.log("worker-own")
            finished = get_job(services.database, job.id)
            assert finished.state == "succeeded", finished.error
            assert finished.counts["documents"] == 600
            # The worker reconnected: a job sent after the restart runs too.
            second = create_job(services.database, kind="retention", params={}, created_by=None)
            services.jobs.submit(second.id)
            assert wait_for(
                lambda: get_job(services.database, second.id).state == "succeeded", 120
            ), cluster.log("worker-own")
            assert services.lumen.store.stats("restart").documents == 600
        finally:
            services.close()
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        broker.terminate()
        broker.wait(timeout=20)
