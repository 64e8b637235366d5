"""The audit trail: every access is recorded without patient data, and tampering shows."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, select, update

from lumen.db.models import AuditEvent, AuditHead
from lumen.services.audit import Actor
from lumen.services.container import Services

from .conftest import Account, make_admin


def _some_activity(client: TestClient, who: Account) -> str:
    profile = client.post(
        "/api/v1/profiles", json={"medications": ["metformin"]}, headers=who.headers
    ).json()["id"]
    client.get(f"/api/v1/profiles/{profile}", headers=who.headers)
    client.get("/api/v1/profiles", headers=who.headers)
    client.delete(f"/api/v1/profiles/{profile}", headers=who.headers)
    return str(profile)


def test_data_access_is_audited_without_patient_data(
    client: TestClient, alice: Account, services: Services
) -> None:
    profile = _some_activity(client, alice)
    with services.database.session() as db:
        rows = db.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
    actions = [(r.action, r.object_id, r.outcome) for r in rows if r.actor_id == alice.id]
    assert ("profile.create", profile, "success") in actions
    assert ("profile.read", profile, "success") in actions
    assert ("profile.delete", profile, "success") in actions
    assert any(a == "auth.login" for a, _, _ in actions)
    for row in rows:
        assert row.ts.tzinfo is not None
        text = " ".join(str(v) for v in vars(row).values())
        assert "metformin" not in text
        assert "alice@example.org" not in text
    assert services.audit.verify().ok


def test_admin_endpoint_verifies_and_detects_an_edited_row(
    client: TestClient, alice: Account, bob: Account, services: Services
) -> None:
    _some_activity(client, alice)
    admin = make_admin(services, bob)
    verified = client.get("/api/v1/admin/audit/verify", headers=admin.headers).json()
    assert verified["ok"]
    assert verified["checked"] > 5
    listed = client.get("/api/v1/admin/audit?action=profile.", headers=admin.headers).json()
    assert listed["total"] >= 4
    assert {i["action"] for i in listed["items"]} >= {"profile.create", "profile.read"}

    with services.database.session() as db:
        target = db.scalars(
            select(AuditEvent.seq).where(AuditEvent.action == "profile.read")
        ).first()
        db.execute(update(AuditEvent).where(AuditEvent.seq == target).values(outcome="denied"))
    broken = client.get("/api/v1/admin/audit/verify", headers=admin.headers).json()
    assert broken == {
        "ok": False,
        "checked": target - 1,
        "first_bad_seq": target,
        "reason": "the row was changed",
    }


def test_deleted_inserted_and_truncated_rows_are_detected(services: Services) -> None:
    for n in range(6):
        services.audit.record(actor=Actor(f"user-{n}", "patient", "127.0.0.1"), action="x.test")
    assert services.audit.verify().ok

    with services.database.session() as db:
        db.execute(delete(AuditEvent).where(AuditEvent.seq == 3))
    report = services.audit.verify()
    assert not report.ok
    assert report.first_bad_seq == 3
    assert report.reason == "a row is missing"


def test_recomputed_hashes_still_break_at_the_head(services: Services) -> None:
    for n in range(4):
        services.audit.record(actor=Actor(f"user-{n}"), action="x.test")
    # Cutting off the tail, even with a consistent chain before it, disagrees with the head.
    with services.database.session() as db:
        db.execute(delete(AuditEvent).where(AuditEvent.seq == 4))
    report = services.audit.verify()
    assert not report.ok
    assert report.reason == "rows after the last one were removed"
    # Moving the head back as well hides it only from a check that trusts the database alone;
    # appending afterwards still chains from the moved head.
    with services.database.session() as db:
        row = db.scalars(select(AuditEvent).where(AuditEvent.seq == 3)).one()
        db.execute(update(AuditHead).values(seq=3, hash=row.hash))
    assert services.audit.verify().ok


def test_concurrent_appends_keep_one_chain(services: Services) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def record(n: int) -> int:
        return services.audit.record(actor=Actor(f"user-{n}"), action="x.concurrent")

    with ThreadPoolExecutor(max_workers=8) as pool:
        seqs = list(pool.map(record, range(40)))
    assert sorted(seqs) == list(range(1, 41))
    assert services.audit.verify().checked == 40


def _rewrite_from(services: Services, seq: int, **values: str) -> None:
    """Edit row ``seq`` and re-hash it and every later row and the head: a consistent forgery."""
    from lumen.services.audit import _row_hash

    with services.database.session() as db:
        db.execute(update(AuditEvent).where(AuditEvent.seq == seq).values(**values))
    with services.database.session() as db:
        rows = db.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
        previous = rows[seq - 2].hash if seq > 1 else "0" * 64
        for row in rows[seq - 1 :]:
            row.prev_hash = previous
            row.hash = _row_hash(row)
            previous = row.hash
        db.execute(update(AuditHead).values(seq=rows[-1].seq, hash=previous))


def test_anchors_catch_a_chain_rewritten_or_cut_consistently(services: Services) -> None:
    for n in range(5):
        services.audit.record(actor=Actor(f"user-{n}", "patient"), action="x.test")
    anchor = services.audit.head()
    assert anchor.seq == 5
    assert services.audit.verify(anchors=[anchor]).ok

    _rewrite_from(services, 2, outcome="denied")
    assert services.audit.verify().ok  # the database alone cannot tell
    report = services.audit.verify(anchors=[anchor])
    assert not report.ok
    assert report.first_bad_seq == 5
    assert report.reason == f"the chain differs from the anchor taken at {anchor.taken_at}"


def test_anchors_catch_a_cut_tail_with_the_head_moved_back(services: Services) -> None:
    for n in range(4):
        services.audit.record(actor=Actor(f"user-{n}"), action="x.test")
    anchor = services.audit.head()
    with services.database.session() as db:
        db.execute(delete(AuditEvent).where(AuditEvent.seq == 4))
        row = db.scalars(select(AuditEvent).where(AuditEvent.seq == 3)).one()
        db.execute(update(AuditHead).values(seq=3, hash=row.hash))
    assert services.audit.verify().ok
    report = services.audit.verify(anchors=[anchor])
    assert not report.ok
    assert report.checked == 3
    assert report.first_bad_seq == 4
    assert report.reason is not None
    assert "removed" in report.reason


def test_anchor_files_round_trip_and_bad_lines_are_named(tmp_path: Path) -> None:
    from lumen.errors import InputError
    from lumen.services.audit import Anchor, append_anchor, read_anchors

    path = tmp_path / "anchors" / "audit.jsonl"
    first, second = Anchor(3, "a" * 64, "2026-12-02T10:00:00+00:00"), Anchor(9, "b" * 64, "t")
    append_anchor(path, first)
    append_anchor(path, second)
    assert read_anchors(path) == [first, second]
    path.write_text(path.read_text() + '{"seq": 12}\n')
    with pytest.raises(InputError, match="line 3: not an audit anchor"):
        read_anchors(path)
    with pytest.raises(InputError, match="no anchor file"):
        read_anchors(tmp_path / "missing.jsonl")


def test_admin_reads_the_chain_head(
    client: TestClient, alice: Account, bob: Account, services: Services
) -> None:
    _some_activity(client, alice)
    assert client.get("/api/v1/admin/audit/head", headers=alice.headers).status_code == 403
    admin = make_admin(services, bob)
    head = client.get("/api/v1/admin/audit/head", headers=admin.headers).json()
    with services.database.session() as db:
        row = db.scalars(select(AuditEvent).where(AuditEvent.seq == head["seq"])).one()
    assert head["hash"] == row.hash
    assert head["taken_at"]
    assert services.audit.head().seq == head["seq"] + 1  # reading it is audited too
