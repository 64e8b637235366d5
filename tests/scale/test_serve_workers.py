"""``lumen serve --workers 2`` behind one index process, sessions in Redis."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest

from ..api.conftest import PASSWORD, REDIS_URL, _reachable_redis
from .conftest import free_port, stop, wait_http


@pytest.mark.slow
def test_two_uvicorn_workers_share_sessions_and_the_index(
    tmp_path: Path, model_cache: Path
) -> None:
    if not _reachable_redis():
        pytest.skip("Redis is not running on this machine")
    import redis

    data = tmp_path / "data"
    data.mkdir()
    (data / "models").symlink_to(model_cache, target_is_directory=True)
    index_port, api_port = free_port(), free_port()
    prefix = f"lumentest:{uuid.uuid4().hex[:10]}:"
    env = {
        **os.environ,
        "LUMEN_PATHS__DATA_DIR": str(data),
        "LUMEN_KV__BACKEND": "redis",
        "LUMEN_KV__URL": REDIS_URL,
        "LUMEN_KV__PREFIX": prefix,
        "LUMEN_VECTOR_STORE__REMOTE_TOKEN": base64.urlsafe_b64encode(os.urandom(24)).decode(),
        "LUMEN_VECTOR_STORE__REMOTE_URL": f"http://127.0.0.1:{index_port}",
    }
    env.pop("LUMEN_SETTINGS_FILE", None)
    command = [sys.executable, "-m", "lumen.cli.main"]
    index = subprocess.Popen(
        [*command, "index", "serve", "--port", str(index_port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    api = subprocess.Popen(
        [*command, "serve", "--workers", "2", "--port", str(api_port), "--insecure-cookies"],
        env={**env, "LUMEN_VECTOR_STORE__BACKEND": "remote"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{api_port}"
    try:
        wait_http(f"http://127.0.0.1:{index_port}/healthz", index)
        wait_http(f"{base}/healthz", api, timeout_s=120)
        assert httpx.get(f"{base}/readyz", timeout=60).json()["checks"]["vector_store"]
        created = httpx.post(
            f"{base}/api/v1/auth/signup", json={"email": "w@example.org", "password": PASSWORD}
        )
        assert created.status_code == 201, created.text
        token = httpx.post(
            f"{base}/api/v1/auth/login", json={"email": "w@example.org", "password": PASSWORD}
        ).json()["token"]
        # Fresh connections land on either worker: the session is valid on both.
        for _ in range(8):
            me = httpx.get(f"{base}/api/v1/me", headers={"Authorization": f"Bearer {token}"})
            assert me.status_code == 200
    finally:
        output = stop(api)
        stop(index)
        client = redis.Redis.from_url(REDIS_URL)
        keys = list(client.scan_iter(f"{prefix}*"))
        if keys:
            client.delete(*keys)
    assert "Traceback" not in output
    assert output.count("Application startup complete") == 2
