"""Helpers for tests that run Lumen's processes: free ports, waiting for a server."""

from __future__ import annotations

import base64
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from lumen.jobs.runner import wait_for

from ..api.conftest import PASSWORD, POSTGRES_URL, REDIS_URL, _reachable_postgres, _reachable_redis


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, process: subprocess.Popen[str], timeout_s: float = 90) -> None:
    """Wait until ``url`` answers 200; fail with the process output if it exits first."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read() if process.stdout else ""
            raise AssertionError(f"the process exited ({process.returncode}): {output[-3000:]}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"{url} did not answer within {timeout_s} s")


def stop(process: subprocess.Popen[str], timeout_s: float = 30) -> str:
    """Terminate the process and return its output."""
    if process.poll() is None:
        process.terminate()
    try:
        output, _ = process.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate(timeout=timeout_s)
    return output or ""


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[tuple[str, int, Path]]:
    """A redis-server of the test's own (never the shared one), with an append-only file."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")
    port = free_port()
    folder = tmp_path / "redis"
    folder.mkdir()
    return binary, port, folder


@dataclass
class Cluster:
    """The running processes and how to reach them."""

    root: Path
    env: dict[str, str]
    apis: list[str] = field(default_factory=list)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(
        self, name: str, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        log = open(self.root / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen(
            [sys.executable, "-m", "lumen.cli.main", *args],
            env={**self.env, **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.processes[name] = process
        return process

    def log(self, name: str) -> str:
        return (self.root / f"{name}.log").read_text(errors="replace")[-4000:]

    def stop_all(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def _wait_up(url: str, cluster: Cluster, name: str) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if cluster.processes[name].poll() is not None:
            raise AssertionError(f"{name} exited: {cluster.log(name)}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"{name} did not start: {cluster.log(name)}")


def wait_worker_ready(cluster: Cluster, name: str) -> None:
    assert wait_for(lambda: "ready." in cluster.log(name), 120), cluster.log(name)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> Iterator[Cluster]:
    """An index process, two API processes and two workers sharing PostgreSQL and Redis."""
    if not (_reachable_postgres() and _reachable_redis()):
        pytest.skip("PostgreSQL or Redis is not running on this machine")
    import redis
    import sqlalchemy

    root = tmp_path_factory.mktemp("cluster")
    data = root / "data"
    data.mkdir()
    (data / "models").symlink_to(model_cache, target_is_directory=True)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = sqlalchemy.create_engine(POSTGRES_URL)
    with engine.begin() as connection:
        connection.execute(sqlalchemy.text(f"CREATE SCHEMA {schema}"))
    prefix = f"lumentest:{schema}:"
    index_port = free_port()
    token = base64.urlsafe_b64encode(os.urandom(24)).decode()
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "LUMEN_PATHS__DATA_DIR": str(data),
        "LUMEN_DATABASE__URL": f"{POSTGRES_URL}?options=-csearch_path%3D{schema}",
        "LUMEN_KV__BACKEND": "redis",
        "LUMEN_KV__URL": REDIS_URL,
        "LUMEN_KV__PREFIX": prefix,
        "LUMEN_SECURITY__ENCRYPTION_KEY": base64.b64encode(os.urandom(32)).decode(),
        "LUMEN_JOBS__BACKEND": "celery",
        "LUMEN_JOBS__BROKER_URL": REDIS_URL,
        "LUMEN_JOBS__QUEUE": f"lumentest-{schema}",
        "LUMEN_JOBS__VISIBILITY_TIMEOUT_S": "8",
        "LUMEN_VECTOR_STORE__BACKEND": "remote",
        "LUMEN_VECTOR_STORE__REMOTE_URL": f"http://127.0.0.1:{index_port}",
        "LUMEN_VECTOR_STORE__REMOTE_TOKEN": token,
        "LUMEN_LLM__TIMEOUT_S": "300",
        "LUMEN_API__RATE_LIMIT_PER_IP": "10000",
    }
    env.pop("LUMEN_SETTINGS_FILE", None)
    env.pop("LUMEN_PROFILE", None)
    cluster = Cluster(root, env)
    try:
        cluster.start(
            "index",
            "index",
            "serve",
            "--port",
            str(index_port),
            env={"LUMEN_VECTOR_STORE__BACKEND": "edge"},
        )
        _wait_up(f"http://127.0.0.1:{index_port}/healthz", cluster, "index")
        done = subprocess.run(
            [sys.executable, "-m", "lumen.cli.main", "db", "upgrade"],
            env=env,
            check=False,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "lumen.cli.main",
                "users",
                "create",
                "admin@example.org",
                "--role",
                "admin",
                "--password-env",
                "PW",
            ],
            env={**env, "PW": PASSWORD},
            check=False,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr
        for n in (1, 2):
            port = free_port()
            cluster.start(f"api{n}", "serve", "--port", str(port))
            cluster.apis.append(f"http://127.0.0.1:{port}")
        for n in (1, 2):
            cluster.start(f"worker{n}", "worker", "--hostname", f"w{n}-{schema}@%h")
        for n, url in enumerate(cluster.apis, start=1):
            _wait_up(f"{url}/healthz", cluster, f"api{n}")
        for n in (1, 2):
            wait_worker_ready(cluster, f"worker{n}")
        yield cluster
    finally:
        cluster.stop_all()
        with engine.begin() as connection:
            connection.execute(sqlalchemy.text("SET lock_timeout = '10s'"))
            connection.execute(sqlalchemy.text(f"DROP SCHEMA {schema} CASCADE"))
        engine.dispose()
        client = redis.Redis.from_url(REDIS_URL)
        for pattern in (f"{prefix}*", f"lumentest-{schema}*"):
            keys = list(client.scan_iter(pattern))
            if keys:
                client.delete(*keys)
