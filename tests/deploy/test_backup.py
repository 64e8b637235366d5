"""deploy/backup.sh then deploy/restore.sh on the machine's PostgreSQL, in a throwaway
database: Lumen's rows, its audit chain and its key file survive. Qdrant's snapshot API is
played by a small stand-in server (no Qdrant server runs here)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from .conftest import DEPLOY, REPO, need_tool

ADMIN_URL = os.environ.get(
    "LUMEN_TEST_POSTGRES_URL", "postgresql+psycopg://root@127.0.0.1:5432/test"
)
PASSWORD = "correct horse battery staple"
API_KEY = "qdrant-secret-key"


@pytest.fixture
def throwaway_database() -> Iterator[str]:
    """A database of its own (CREATE DATABASE), dropped afterwards; `test` is never touched."""
    import sqlalchemy

    name = f"lumen_backup_{uuid.uuid4().hex[:12]}"
    try:
        engine = sqlalchemy.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
    except sqlalchemy.exc.OperationalError:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip("PostgreSQL is not running on this machine")
    base = ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with engine.connect() as connection:
            connection.execute(sqlalchemy.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


class FakeQdrant(BaseHTTPRequestHandler):
    """Qdrant's collection-snapshot endpoints, as documented, over a dict of collections."""

    collections: ClassVar[dict[str, bytes]] = {}
    snapshots: ClassVar[dict[str, bytes]] = {}
    uploaded: ClassVar[dict[str, bytes]] = {}
    deleted: ClassVar[list[str]] = []

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def _json(self, body: Any, status: int = 200) -> None:
        data = json.dumps({"result": body, "status": "ok"}).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _authorised(self) -> bool:
        if self.headers.get("api-key") != API_KEY:
            self._json({"error": "unauthorised"}, 403)
            return False
        return True

    def do_GET(self) -> None:
        if not self._authorised():
            return
        parts = self.path.strip("/").split("/")
        if parts == ["collections"]:
            self._json({"collections": [{"name": n} for n in self.collections]})
        elif len(parts) == 4 and parts[2] == "snapshots":
            data = self.snapshots[parts[3]]
            self.send_response(200)
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        else:
            self._json({"error": "not found"}, 404)

    def do_POST(self) -> None:
        if not self._authorised():
            return
        path, _, query = self.path.partition("?")
        parts = path.strip("/").split("/")
        if len(parts) == 3 and parts[2] == "snapshots" and "wait=true" in query:
            name = f"{parts[1]}-{uuid.uuid4().hex[:6]}.snapshot"
            self.snapshots[name] = self.collections[parts[1]]
            self._json({"name": name, "size": len(self.collections[parts[1]])})
        elif len(parts) == 4 and parts[3] == "upload" and "priority=snapshot" in query:
            body = self.rfile.read(int(self.headers["content-length"]))
            self.uploaded[parts[1]] = body
            self._json(True)
        else:
            self._json({"error": "bad request"}, 400)

    def do_DELETE(self) -> None:
        if not self._authorised():
            return
        self.deleted.append(self.path.rsplit("/", 1)[-1])
        self._json(True)


@pytest.fixture
def fake_qdrant() -> Iterator[tuple[str, type[FakeQdrant]]]:
    FakeQdrant.collections = {
        "lumen_knowledge": b"knowledge-points-\x00\x01" * 100,
        "lumen_drugs": b"drug-points" * 50,
    }
    FakeQdrant.snapshots, FakeQdrant.uploaded, FakeQdrant.deleted = {}, {}, []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeQdrant)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", FakeQdrant
    finally:
        server.shutdown()


def lumen(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "lumen.cli.main", *args], env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr + result.stdout
    return result


def users(url: str) -> list[str]:
    import sqlalchemy

    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(sqlalchemy.text("SELECT email FROM users ORDER BY email"))
            return [row[0] for row in rows]
    finally:
        engine.dispose()


def test_backup_then_restore_keeps_rows_audit_chain_collections_and_keys(
    throwaway_database: str, fake_qdrant: tuple[str, type[FakeQdrant]], tmp_path: Path
) -> None:
    need_tool("pg_dump")
    need_tool("jq")
    qdrant_url, qdrant = fake_qdrant
    data = tmp_path / "data"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("LUMEN_")},
        "PYTHONPATH": str(REPO),
        "LUMEN_PATHS__DATA_DIR": str(data),
        "LUMEN_DATABASE__URL": throwaway_database,
        "ADMIN_PASSWORD": PASSWORD,
    }
    lumen(env, "db", "upgrade")
    lumen(
        env,
        "users",
        "create",
        "admin@example.org",
        "--role",
        "admin",
        "--password-env",
        "ADMIN_PASSWORD",
    )
    lumen(env, "users", "create", "pat@example.org", "--password-env", "ADMIN_PASSWORD")
    key_file = data / "keys.json"
    assert key_file.is_file()
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "database_url").write_text(throwaway_database + "\n")  # Lumen's URL form
    (secrets / "qdrant_api_key").write_text(API_KEY + "\n")
    script_env = {
        "PATH": os.environ["PATH"],
        "DATABASE_URL_FILE": str(secrets / "database_url"),
        "QDRANT_URL": qdrant_url,
        "QDRANT_API_KEY_FILE": str(secrets / "qdrant_api_key"),
        "KEY_FILE": str(key_file),
    }
    backups = tmp_path / "backups"
    made = subprocess.run(
        ["bash", str(DEPLOY / "backup.sh"), str(backups)],
        env=script_env,
        capture_output=True,
        text=True,
    )
    assert made.returncode == 0, made.stderr
    (backup,) = backups.iterdir()
    assert (backup / "postgres.dump").stat().st_size > 0
    assert sorted(p.name for p in (backup / "qdrant").iterdir()) == [
        "lumen_drugs.snapshot",
        "lumen_knowledge.snapshot",
    ]
    assert (backup / "qdrant" / "lumen_knowledge.snapshot").read_bytes() == qdrant.collections[
        "lumen_knowledge"
    ]
    assert len(qdrant.deleted) == 2  # the server's copies are removed once downloaded
    assert (backup / "keys.json").read_bytes() == key_file.read_bytes()
    assert oct((backup / "keys.json").stat().st_mode & 0o777) == "0o600"
    manifest = (backup / "MANIFEST.sha256").read_text()
    assert "postgres.dump" in manifest
    assert "keys.json" in manifest

    # The disaster: a row is lost, a stray one appears, the key file is gone.
    import sqlalchemy

    engine = sqlalchemy.create_engine(throwaway_database)
    with engine.begin() as connection:
        connection.execute(sqlalchemy.text("DELETE FROM users WHERE email = 'pat@example.org'"))
        connection.execute(
            sqlalchemy.text(
                "INSERT INTO users (id, email, password_hash, role, totp_enabled, "
                "recovery_code_hashes, created_at, password_changed_at) VALUES "
                "('00000000-0000-0000-0000-000000000001', 'stray@example.org', 'x', 'patient', "
                "false, '[]', now(), now())"
            )
        )
    engine.dispose()
    assert users(throwaway_database) == ["admin@example.org", "stray@example.org"]
    saved_key = key_file.read_bytes()
    key_file.unlink()

    restored = subprocess.run(
        ["bash", str(DEPLOY / "restore.sh"), str(backup)],
        env=script_env,
        capture_output=True,
        text=True,
    )
    assert restored.returncode == 0, restored.stderr
    assert users(throwaway_database) == ["admin@example.org", "pat@example.org"]
    assert key_file.read_bytes() == saved_key
    assert set(qdrant.uploaded) == {"lumen_knowledge", "lumen_drugs"}
    assert qdrant.collections["lumen_drugs"] in qdrant.uploaded["lumen_drugs"]  # multipart body
    # The audit chain of the restored database still verifies.
    verified = lumen(env, "audit", "verify")
    assert "audit chain intact" in verified.stdout

    # A corrupted backup is refused before anything is touched; a key file is never overwritten.
    (backup / "postgres.dump").write_bytes(b"corrupted")
    refused = subprocess.run(
        ["bash", str(DEPLOY / "restore.sh"), str(backup)],
        env=script_env,
        capture_output=True,
        text=True,
    )
    assert refused.returncode != 0
    assert "checksums do not match" in refused.stderr
    assert users(throwaway_database) == ["admin@example.org", "pat@example.org"]


def test_restore_never_overwrites_an_existing_key_file(tmp_path: Path) -> None:
    backup = tmp_path / "b"
    backup.mkdir()
    (backup / "postgres.dump").write_bytes(b"")
    (backup / "keys.json").write_text('{"active": "new"}')
    existing = tmp_path / "keys.json"
    existing.write_text("{}")
    result = subprocess.run(
        ["bash", str(DEPLOY / "restore.sh"), str(backup)],
        env={
            "PATH": os.environ["PATH"],
            "DATABASE_URL": "postgresql://nowhere/x",
            "KEY_FILE": str(existing),
        },
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert "never overwritten" in result.stderr
    assert existing.read_text() == "{}"


def test_the_scripts_need_their_arguments() -> None:
    for script in ("backup.sh", "restore.sh"):
        result = subprocess.run(["bash", str(DEPLOY / script)], capture_output=True, text=True)
        assert result.returncode == 1
        assert "usage" in result.stderr


def test_the_shell_scripts_pass_shellcheck() -> None:
    tool = need_tool("shellcheck")
    scripts = [str(DEPLOY / n) for n in ("backup.sh", "restore.sh", "init-secrets.sh")]
    result = subprocess.run([tool, *scripts], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout
