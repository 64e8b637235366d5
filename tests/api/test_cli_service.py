"""Service commands on the embedded defaults: users, audit, keys, retention, db, serve."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import update
from typer.testing import CliRunner

from lumen.cli.main import app
from lumen.db.models import AuditEvent, PatientProfile
from lumen.factory import build_services
from lumen.security.crypto import Keyring
from lumen.services.audit import Actor
from lumen.services.profiles import ProfileData, create_profile, decrypt_profile
from lumen.settings import load_settings

from .conftest import PASSWORD

runner = CliRunner()


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def test_users_create_and_audit_verify(settings_env: Path) -> None:
    code, out, err = run(
        "users",
        "create",
        "root@example.org",
        "--role",
        "admin",
        "--password-env",
        "PW",
        env={"PW": PASSWORD},
    )
    assert code == 0, err
    assert "created admin root@example.org" in out
    code, _, err = run(
        "users", "create", "x@example.org", "--password-env", "PW", env={"PW": "short"}
    )
    assert code == 2
    assert "at least 15" in err
    assert "Traceback" not in err
    code, _, err = run("users", "create", "y@example.org", "--role", "boss", "--password-env", "PW")
    assert code == 2
    assert "unknown role" in err

    code, out, _ = run("audit", "verify")
    assert code == 0
    assert "intact: 1 rows" in out

    services = build_services(load_settings())
    try:
        services.audit.record(actor=Actor.system(), action="x.test")
        with services.database.session() as db:
            db.execute(update(AuditEvent).where(AuditEvent.seq == 1).values(actor_role="patient"))
    finally:
        services.close()
    code, _, err = run("audit", "verify")
    assert code == 1
    assert "broken at row 1: the row was changed" in err


def test_audit_anchor_then_verify_against_the_anchors(settings_env: Path, tmp_path: Path) -> None:
    from sqlalchemy import delete, select

    from lumen.db.models import AuditHead

    services = build_services(load_settings())
    try:
        for _ in range(3):
            services.audit.record(actor=Actor.system(), action="x.test")
    finally:
        services.close()
    anchors = tmp_path / "offsite" / "audit-anchors.jsonl"
    code, out, err = run("audit", "anchor", "--file", str(anchors))
    assert code == 0, err
    assert "anchored row 3" in out
    code, out, _ = run("audit", "verify", "--anchors", str(anchors))
    assert code == 0
    assert "intact: 3 rows, 1 anchors match" in out

    # Cut the last row and move the head back: consistent, so only the anchor tells.
    services = build_services(load_settings())
    try:
        with services.database.session() as db:
            db.execute(delete(AuditEvent).where(AuditEvent.seq == 3))
            row = db.scalars(select(AuditEvent).where(AuditEvent.seq == 2)).one()
            db.execute(update(AuditHead).values(seq=2, hash=row.hash))
    finally:
        services.close()
    assert run("audit", "verify")[0] == 0
    code, _, err = run("audit", "verify", "--anchors", str(anchors))
    assert code == 1
    assert "broken at row 3: rows up to the anchor taken at" in err
    code, _, err = run("audit", "anchor", "--file", str(anchors))
    assert code == 1
    assert "not anchored" in err
    assert len(anchors.read_text().splitlines()) == 1  # the forged head was not added

    anchors.write_text("not json\n")
    code, _, err = run("audit", "verify", "--anchors", str(anchors))
    assert code == 2
    assert "line 1: not an audit anchor" in err
    assert "Traceback" not in err


def test_keys_rotate_reencrypts_every_value(settings_env: Path) -> None:
    services = build_services(load_settings())
    try:
        with services.database.session() as db:
            from lumen.services.accounts import create_user

            user = create_user(
                services, db, email="p@example.org", password=PASSWORD, role="patient"
            )
            profile, _ = create_profile(
                services,
                db,
                user=user,
                data=ProfileData("Me", medications=["warfarin"]),
                actor=Actor.system(),
            )
            old_key = services.keyring.active_id
    finally:
        services.close()

    code, out, err = run("keys", "rotate", "--retire")
    assert code == 0, err
    assert "re-encrypted 5 value(s)" in out  # the profile's five fields
    keys = json.loads((settings_env / "keys.json").read_text())
    assert old_key not in keys["keys"]
    assert keys["active"] != old_key

    services = build_services(load_settings())
    try:
        with services.database.session() as db:
            stored = db.get(PatientProfile, profile.id)
            assert stored is not None
            assert Keyring.key_id_of(stored.medications_enc) == keys["active"]
            assert decrypt_profile(services.keyring, stored).medications == ["warfarin"]
    finally:
        services.close()


def test_retention_and_db_upgrade(settings_env: Path) -> None:
    code, out, _ = run("db", "upgrade")
    assert code == 0
    assert "up to date" in out
    code, out, _ = run("retention", "run", "--days", "30")
    assert code == 0
    assert "deleted 0 conversation(s)" in out
    code, _, _err = run("retention", "run", "--days", "0")
    assert code == 2


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.integration
def test_lumen_serve_answers_over_http(settings_env: Path) -> None:
    port = _free_port()
    env = {**os.environ, "LUMEN_API__PORT": str(port)}
    process = subprocess.Popen(
        [sys.executable, "-m", "lumen.cli.main", "serve", "--insecure-cookies"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        else:
            pytest.fail("lumen serve did not start")
        with httpx.Client(base_url=base) as client:
            created = client.post(
                "/api/v1/auth/signup", json={"email": "s@example.org", "password": PASSWORD}
            )
            assert created.status_code == 201
            login = client.post(
                "/api/v1/auth/login", json={"email": "s@example.org", "password": PASSWORD}
            )
            assert login.status_code == 200
            assert "lumen_session" in login.cookies
            me = client.get("/api/v1/me")
            assert me.json()["email"] == "s@example.org"
            assert client.get("/api/openapi.json").status_code == 200
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=30)
    assert "Traceback" not in output
