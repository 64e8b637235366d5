"""Serving the static export (no browser needed): pages, files, 404s and the CSP."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from lumen.api.errors import install_error_handlers
from lumen.api.web import content_security_policy, inline_script_hashes, mount_web_app

BOOT = "(self.__next_f=self.__next_f||[]).push([0])"
DATA = 'self.__next_f.push([1,"<b>é</b>"])'


def _sha(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


@pytest.fixture
def export(tmp_path: Path) -> Path:
    out = tmp_path / "out"
    (out / "_next" / "static" / "chunks").mkdir(parents=True)
    page = (
        '<!DOCTYPE html><html><head><script src="/_next/static/chunks/a.js" async=""></script>'
        f"</head><body><h1>{{}}</h1><script>{BOOT}</script><script>{DATA}</script></body></html>"
    )
    (out / "index.html").write_text(page.format("home"), encoding="utf-8")
    (out / "chat.html").write_text(page.format("chat"), encoding="utf-8")
    (out / "chat.txt").write_text("rsc payload", encoding="utf-8")
    (out / "404.html").write_text("<html><body>not found</body></html>", encoding="utf-8")
    (out / "_next" / "static" / "chunks" / "a.js").write_text("console.log(1)", encoding="utf-8")
    (out / "manifest.webmanifest").write_text("{}", encoding="utf-8")
    (tmp_path / "secret.txt").write_text("outside the export", encoding="utf-8")
    return out


@pytest.fixture
def client(export: Path) -> TestClient:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/api/v1/ping")
    def ping() -> dict[str, str]:
        return {"ok": "yes"}

    mount_web_app(app, export)
    return TestClient(app)


def test_inline_scripts_are_hashed_and_external_ones_are_not() -> None:
    html = f'<script src="/x.js"></script><script>{BOOT}</script><SCRIPT type="x">{DATA}</SCRIPT>'
    assert inline_script_hashes(html) == sorted([_sha(BOOT), _sha(DATA)])
    policy = content_security_policy(html)
    assert "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy
    assert f"script-src 'self' {' '.join(sorted([_sha(BOOT), _sha(DATA)]))};" in policy
    assert "style-src 'self';" in policy
    assert "frame-ancestors 'none'" in policy


def test_pages_carry_their_csp(client: TestClient) -> None:
    for path in ("/", "/chat", "/chat?c=123"):
        response = client.get(path)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        assert _sha(BOOT) in response.headers["content-security-policy"]
        assert _sha(DATA) in response.headers["content-security-policy"]
        assert response.headers["cache-control"] == "no-cache"
    assert "<h1>chat</h1>" in client.get("/chat").text


def test_files_and_caching(client: TestClient) -> None:
    chunk = client.get("/_next/static/chunks/a.js")
    assert chunk.status_code == 200
    assert "immutable" in chunk.headers["cache-control"]
    assert client.get("/chat.txt").text == "rsc payload"
    assert client.get("/manifest.webmanifest").headers["content-type"] == (
        "application/manifest+json"
    )
    head = client.head("/chat")
    assert head.status_code == 200
    assert head.content == b""


def test_unknown_paths_get_the_404_page_and_nothing_outside_the_export(
    client: TestClient,
) -> None:
    for path in ("/nope", "/../secret.txt", "/%2e%2e/secret.txt", "/.hidden", "/chat/x"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "outside the export" not in response.text
    missing = client.get("/nope")
    assert "not found" in missing.text
    assert "content-security-policy" in missing.headers


def test_api_paths_stay_json(client: TestClient) -> None:
    assert client.get("/api/v1/ping").json() == {"ok": "yes"}
    response = client.get("/api/v1/nothing")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_trailing_slash_redirects_and_writes_are_refused(client: TestClient) -> None:
    response = client.get("/chat/?c=1", follow_redirects=False)
    assert response.status_code == 308
    assert response.headers["location"] == "/chat?c=1"
    assert client.post("/chat").status_code == 405


def test_a_changed_page_is_hashed_again(client: TestClient, export: Path) -> None:
    first = client.get("/chat").headers["content-security-policy"]
    (export / "chat.html").write_text("<html><script>alert(1)</script></html>", encoding="utf-8")
    second = client.get("/chat").headers["content-security-policy"]
    assert first != second
    assert _sha("alert(1)") in second
