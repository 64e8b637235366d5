"""Uploads through the API on both stacks: indexed by a job, listed, deleted, audited;
hostile files fail their own job; who may write which collection."""

from __future__ import annotations

import uuid
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from lumen.clock import ManualClock
from lumen.db.models import AuditEvent
from lumen.factory import Lumen
from lumen.jobs.runner import wait_for
from lumen.services.container import Services

from ..files import bomb_pdf, malformed_pdf, text_pdf
from .conftest import Account, Stack, make_admin, make_pharma, make_settings, sign_up

MEASLES = "# Measles\n\nMeasles is prevented by two doses of the MMR vaccine in childhood.\n"
HTML = (
    "<!DOCTYPE html><html><head><title>Mumps</title><script>alert('stolen')</script></head>"
    "<body><h1>Mumps</h1><p>Mumps causes swollen salivary glands.</p>"
    "<script>document.write('injected')</script></body></html>"
)
JSONL = (
    '{"id": "a", "title": "Rubella", "text": "Rubella is a mild rash illness in children."}\n'
    '{"id": "b", "title": "Tetanus", "text": "Tetanus is prevented by a booster shot."}\n'
)


def _collection() -> str:
    return f"up-{uuid.uuid4().hex[:10]}"


def _job(client: TestClient, account: Account, job_id: str) -> dict:  # type: ignore[type-arg]
    response = client.get(f"/api/v1/jobs/{job_id}", headers=account.headers)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def _finished(client: TestClient, account: Account, job_id: str, timeout_s: float = 120) -> dict:  # type: ignore[type-arg]
    assert wait_for(
        lambda: _job(client, account, job_id)["state"] in ("succeeded", "failed"), timeout_s
    ), _job(client, account, job_id)
    return _job(client, account, job_id)


def test_upload_index_list_delete_audited(client: TestClient, services: Services) -> None:
    admin = make_admin(services, sign_up(client, "admin@example.org"))
    name = _collection()
    response = client.post(
        f"/api/v1/collections/{name}/uploads",
        files=[
            ("files", ("measles.md", MEASLES.encode(), "text/markdown")),
            # The name says text; the bytes say HTML: the bytes win.
            ("files", ("mumps.txt", HTML.encode(), "text/plain")),
            ("files", ("vaccines.jsonl", JSONL.encode(), "application/json")),
            (
                "files",
                (
                    "report.pdf",
                    text_pdf("Polio is prevented by the IPV vaccine"),
                    "application/pdf",
                ),
            ),
        ],
        headers=admin.headers,
    )
    assert response.status_code == 202, response.text
    items = response.json()["items"]
    assert [i["kind"] for i in items] == ["markdown", "html", "jsonl", "pdf"]
    for item in items:
        job = _finished(client, admin, item["job_id"])
        assert job["state"] == "succeeded", job
        assert job["progress"] == 1.0
        assert job["counts"]["chunks_written"] >= 1

    listing = client.get(f"/api/v1/collections/{name}/documents", headers=admin.headers).json()
    assert listing["total"] == 4
    by_name = {i["filename"]: i for i in listing["items"]}
    assert all(i["state"] == "indexed" and i["chunks"] >= 1 for i in listing["items"])
    assert by_name["vaccines.jsonl"]["documents"] == 2

    store = services.lumen.store
    assert store.stats(name).documents == 5
    texts = " ".join(
        chunk.text
        for doc in store.documents(name)
        for chunk in store.document_chunks(name, doc.doc_id)
    )
    assert "swollen salivary glands" in texts
    assert "Polio" in texts
    assert "alert" not in texts
    assert "injected" not in texts

    html_id = by_name["mumps.txt"]["id"]
    deleted = client.delete(
        f"/api/v1/collections/{name}/documents/{html_id}", headers=admin.headers
    )
    assert deleted.status_code == 204
    assert store.stats(name).documents == 4
    again = client.get(f"/api/v1/collections/{name}/documents", headers=admin.headers).json()
    assert again["total"] == 3
    missing = client.delete(
        f"/api/v1/collections/{name}/documents/{html_id}", headers=admin.headers
    )
    assert missing.status_code == 404

    with services.database.session() as db:
        actions = [
            (e.action, e.outcome)
            for e in db.scalars(select(AuditEvent).where(AuditEvent.object_type == "upload"))
        ]
    assert actions.count(("upload.create", "success")) == 4
    assert actions.count(("upload.index", "success")) == 4
    assert ("upload.delete", "success") in actions
    assert ("upload.delete", "not_found") in actions


def test_hostile_files_fail_alone(client: TestClient, services: Services) -> None:
    admin = make_admin(services, sign_up(client, "admin@example.org"))
    name = _collection()
    response = client.post(
        f"/api/v1/collections/{name}/uploads",
        files=[
            ("files", ("bomb.pdf", bomb_pdf(), "application/pdf")),
            ("files", ("good.md", MEASLES.encode(), "text/markdown")),
            ("files", ("broken.pdf", malformed_pdf(), "application/pdf")),
        ],
        headers=admin.headers,
    )
    assert response.status_code == 202, response.text
    bomb, good, broken = (_finished(client, admin, i["job_id"]) for i in response.json()["items"])
    assert good["state"] == "succeeded"
    assert bomb["state"] == "failed"
    assert "bomb.pdf" in bomb["error"]
    assert "decompress" in bomb["error"]
    assert broken["state"] == "failed"
    assert "PDF" in broken["error"]
    assert bomb["attempts"] == 1
    assert broken["attempts"] == 1
    assert services.lumen.store.stats(name).documents == 1
    listing = client.get(f"/api/v1/collections/{name}/documents", headers=admin.headers).json()
    states = sorted(i["state"] for i in listing["items"])
    assert states == ["failed", "failed", "indexed"]


def test_refused_content_and_limits(client: TestClient, services: Services) -> None:
    admin = make_admin(services, sign_up(client, "admin@example.org"))
    name = _collection()
    zipped = client.post(
        f"/api/v1/collections/{name}/uploads",
        files=[("files", ("notes.md", b"PK\x03\x04" + b"\0" * 100, "text/markdown"))],
        headers=admin.headers,
    )
    assert zipped.status_code == 422
    assert "ZIP" in zipped.json()["error"]["message"]
    binary = client.post(
        f"/api/v1/collections/{name}/uploads",
        files=[("files", ("a.txt", b"abc\x00def", "text/plain"))],
        headers=admin.headers,
    )
    assert binary.status_code == 422
    services.settings.uploads.max_file_bytes = 2048
    try:
        large = client.post(
            f"/api/v1/collections/{name}/uploads",
            files=[("files", ("big.txt", b"word " * 1000, "text/plain"))],
            headers=admin.headers,
        )
    finally:
        services.settings.uploads.max_file_bytes = 20_000_000
    assert large.status_code == 422
    assert "larger than" in large.json()["error"]["message"]
    assert services.lumen.store.collections().count(name) == 0


def test_who_may_write_a_collection(client: TestClient, services: Services) -> None:
    patient = sign_up(client, "patient@example.org")
    pharma = make_pharma(services, sign_up(client, "pharma@example.org"), "acme")
    admin = make_admin(services, sign_up(client, "admin@example.org"))
    files = [("files", ("m.md", MEASLES.encode(), "text/markdown"))]

    denied = client.post("/api/v1/collections/acme/uploads", files=files, headers=patient.headers)
    assert denied.status_code == 403
    other = client.post("/api/v1/collections/globex/uploads", files=files, headers=pharma.headers)
    assert other.status_code == 404
    assert (
        client.get("/api/v1/collections/globex/documents", headers=pharma.headers).status_code
        == 404
    )
    anonymous = client.post("/api/v1/collections/acme/uploads", files=files)
    assert anonymous.status_code == 401
    for offset in ("-1", "1000001", str(2**63), "1e3"):
        paged = client.get(
            f"/api/v1/collections/acme/documents?offset={offset}", headers=pharma.headers
        )
        assert paged.status_code == 422, offset

    # An organisation named like a shared collection does not open that collection.
    shared = make_pharma(services, sign_up(client, "pharma2@example.org"), "knowledge")
    knowledge = client.post(
        "/api/v1/collections/knowledge/uploads", files=files, headers=shared.headers
    )
    assert knowledge.status_code == 404

    own = client.post("/api/v1/collections/acme/uploads", files=files, headers=pharma.headers)
    assert own.status_code == 202, own.text
    job_id = own.json()["items"][0]["job_id"]
    assert _finished(client, pharma, job_id)["state"] == "succeeded"
    # A job is visible to whoever started it and to admins only.
    assert client.get(f"/api/v1/jobs/{job_id}", headers=patient.headers).status_code == 404
    assert client.get(f"/api/v1/jobs/{job_id}", headers=admin.headers).status_code == 200
    upload_id = own.json()["items"][0]["id"]
    assert (
        client.delete(
            f"/api/v1/collections/acme/documents/{upload_id}", headers=patient.headers
        ).status_code
        == 403
    )
    assert (
        client.delete(
            f"/api/v1/collections/acme/documents/{upload_id}", headers=pharma.headers
        ).status_code
        == 204
    )


def test_broker_down_is_503_and_the_upload_is_not_left_queued(
    tmp_path: Path, stack: Stack, clock: ManualClock, rag_lumen: Lumen
) -> None:
    from lumen.api.app import create_app
    from lumen.factory import build_services

    settings = make_settings(
        tmp_path, stack, jobs={"backend": "celery", "broker_url": "redis://127.0.0.1:9/0"}
    )
    services = build_services(settings, clock=clock, lumen=rag_lumen)
    try:
        with TestClient(
            create_app(services=services),
            base_url="https://testserver",
            raise_server_exceptions=False,
        ) as client:
            admin = make_admin(services, sign_up(client, "admin@example.org"))
            name = _collection()
            response = client.post(
                f"/api/v1/collections/{name}/uploads",
                files=[("files", ("m.md", MEASLES.encode(), "text/markdown"))],
                headers=admin.headers,
            )
            assert response.status_code == 503, response.text
            assert response.json()["error"]["code"] == "jobs_unavailable"
            assert int(response.headers["Retry-After"]) > 0
            listing = client.get(
                f"/api/v1/collections/{name}/documents", headers=admin.headers
            ).json()
            assert [i["state"] for i in listing["items"]] == ["failed"]
            assert "upload again" in listing["items"][0]["error"]
    finally:
        services.close()


def _ask(client: TestClient, who: Account, question: str, collections: list[str]):  # type: ignore[no-untyped-def]
    created = client.post("/api/v1/conversations", json={"title": "t"}, headers=who.headers)
    assert created.status_code == 201, created.text
    return client.post(
        f"/api/v1/conversations/{created.json()['id']}/messages",
        json={"content": question, "collections": collections},
        headers=who.headers,
    )


def test_pharma_users_ask_their_organisations_collection(
    client: TestClient, services: Services
) -> None:
    org = _collection()
    pharma = make_pharma(services, sign_up(client, "pharma@example.org"), org)
    rival = make_pharma(services, sign_up(client, "rival@example.org"), "globex")
    patient = sign_up(client, "patient@example.org")
    admin = make_admin(services, sign_up(client, "admin@example.org"))
    me = client.get("/api/v1/me", headers=pharma.headers)
    assert me.status_code == 200, me.text
    assert me.json()["organisation"] == org  # the web app offers it beside the standard ones

    files = [("files", ("measles.md", MEASLES.encode(), "text/markdown"))]
    upload = client.post(f"/api/v1/collections/{org}/uploads", files=files, headers=pharma.headers)
    assert upload.status_code == 202, upload.text
    assert _finished(client, pharma, upload.json()["items"][0]["job_id"])["state"] == "succeeded"

    question = "How is measles prevented?"
    answered = _ask(client, pharma, question, [org])
    assert answered.status_code == 201, answered.text
    answer = answered.json()["answer"]
    assert not answer["abstained"], answer
    assert [c["title"] for c in answer["citations"]] == ["Measles"]
    assert "MMR" in answer["answer"]
    # Together with a standard collection, the organisation's documents still count.
    both = _ask(client, pharma, question, ["drugs", org])
    assert both.status_code == 201, both.text

    # Everyone else: the collection reads as unknown (its existence is not revealed) ...
    for outsider in (rival, patient):
        refused = _ask(client, outsider, question, [org])
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["fields"][0]["field"] == "collections"
    # ... a patient still may not search a standard collection beyond knowledge ...
    assert _ask(client, patient, question, ["drugs"]).status_code == 403
    # ... and an admin may search any collection that exists, but not an invented one.
    assert _ask(client, admin, question, [org]).status_code == 201
    assert _ask(client, admin, question, ["no-such-collection"]).status_code == 422
    # A name that cannot be a collection is refused by the schema.
    assert _ask(client, pharma, question, ["../etc"]).status_code == 422

    # The OpenAI-compatible API offers the same collection as the model lumen-<organisation>.
    ids = [m["id"] for m in client.get("/v1/models", headers=pharma.headers).json()["data"]]
    assert ids == ["lumen", "lumen-drugs", "lumen-regulatory", f"lumen-{org}"]
    completion = client.post(
        "/v1/chat/completions",
        json={"model": f"lumen-{org}", "messages": [{"role": "user", "content": question}]},
        headers=pharma.headers,
    )
    assert completion.status_code == 200, completion.text
    assert "MMR" in completion.json()["choices"][0]["message"]["content"]
    rival_ids = [m["id"] for m in client.get("/v1/models", headers=rival.headers).json()["data"]]
    assert f"lumen-{org}" not in rival_ids
    refused = client.post(
        "/v1/chat/completions",
        json={"model": f"lumen-{org}", "messages": [{"role": "user", "content": question}]},
        headers=rival.headers,
    )
    assert refused.status_code == 404
