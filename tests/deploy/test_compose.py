"""The compose stack: `docker-compose config` accepts it, and its invariants hold."""

from __future__ import annotations

import json
import os
import shutil
import socket
import ssl
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import DEPLOY, need_tool

STATEFUL = {
    "postgres": "/var/lib/postgresql/data",
    "redis": "/data",
    "qdrant": "/qdrant/storage",
    "prometheus": "/prometheus",
    "grafana": "/var/lib/grafana",
    "caddy": "/data",
    "api": "/var/lib/lumen",
}
DATABASES = ("postgres", "redis", "qdrant")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return data


@pytest.fixture
def deploy_copy(tmp_path: Path) -> Path:
    """deploy/ with placeholder secret files, as init-secrets.sh leaves it."""
    target = tmp_path / "deploy"
    shutil.copytree(DEPLOY, target, ignore=shutil.ignore_patterns("helm", "tests"))
    (target.parent / "lumen").mkdir()  # the build context's contents are not read by config
    compose = yaml.safe_load((target / "compose.yaml").read_text())
    for secret in compose["secrets"].values():
        (target / secret["file"]).write_text("placeholder\n")
    return target


@pytest.mark.parametrize("profile", ["cpu", "gpu"])
def test_docker_compose_config_accepts_the_file(deploy_copy: Path, profile: str) -> None:
    tool = need_tool("docker-compose")
    result = subprocess.run(
        [tool, "-f", "compose.yaml", "--profile", profile, "config"],
        cwd=deploy_copy,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    resolved = yaml.safe_load(result.stdout)
    assert resolved["services"]["api"]["command"] == ["lumen", "serve", "--host", "0.0.0.0"]
    assert resolved["services"]["worker"]["command"] == ["lumen", "worker"]


def test_the_model_server_profiles(compose: dict[str, Any]) -> None:
    services = compose["services"]
    cpu, gpu = services["llm-cpu"], services["llm-gpu"]
    assert cpu["profiles"] == ["cpu"]
    assert gpu["profiles"] == ["gpu"]
    assert "llama_cpp.server" in " ".join(cpu["entrypoint"])
    assert "SmolLM2" in " ".join(cpu["entrypoint"])
    assert "LUMEN_GGUF" in " ".join(cpu["entrypoint"])
    assert "vllm" in " ".join(gpu["entrypoint"])
    assert gpu["environment"]["VLLM_MODEL"] == "${VLLM_MODEL:-BioMistral/BioMistral-7B}"
    assert gpu["deploy"]["resources"]["reservations"]["devices"][0]["capabilities"] == ["gpu"]
    # Both answer as "llm" under one model name, which the API is configured with.
    for server in (cpu, gpu):
        assert server["networks"]["backend"]["aliases"] == ["llm"]
        assert "lumen-llm" in " ".join(server["entrypoint"])
    env = compose["x-lumen"]["environment"]
    assert env["LUMEN_LLM__BASE_URL"] == "http://llm:8000/v1"
    assert env["LUMEN_LLM__MODEL"] == "lumen-llm"


def test_every_service_restarts_has_a_healthcheck_and_a_pinned_image(
    compose: dict[str, Any],
) -> None:
    template = compose["x-lumen"]
    for name, service in compose["services"].items():
        merged = {**template, **service} if name in ("api", "worker", "migrate") else service
        image = merged["image"]
        assert ":" in image, f"{name}: {image}"
        assert not image.endswith(":latest"), f"{name}: {image}"
        expected_restart = "no" if name in ("migrate", "backup") else "unless-stopped"
        assert merged["restart"] == expected_restart, name
        check = merged.get("healthcheck")
        assert check, f"{name} has no healthcheck"
        if check.get("disable"):
            assert name in ("migrate", "worker", "backup"), f"{name} turns its healthcheck off"
        else:
            assert check["test"][0] in ("CMD", "CMD-SHELL")


def test_stateful_parts_keep_their_data_in_volumes(compose: dict[str, Any]) -> None:
    declared = set(compose["volumes"])
    for name, path in STATEFUL.items():
        service = compose["services"][name]
        mounts = service.get("volumes", compose["x-lumen"]["volumes"])
        named = {m.split(":")[0]: m.split(":")[1] for m in mounts if not m.startswith(".")}
        assert path in named.values(), f"{name} keeps {path} outside a volume"
        assert set(named) <= declared


def test_secrets_come_from_files_and_never_from_the_environment(compose: dict[str, Any]) -> None:
    assert all(set(s) == {"file"} for s in compose["secrets"].values())
    env = compose["x-lumen"]["environment"]
    for key in ("DATABASE__URL", "KV__URL", "VECTOR_STORE__API_KEY", "LLM__API_KEY"):
        assert f"LUMEN_{key}" not in env
        assert env[f"LUMEN_{key}_FILE"].startswith("/run/secrets/")
    assert env["LUMEN_SECURITY__KEY_FILE"] == "/run/secrets/lumen_keys"
    postgres = compose["services"]["postgres"]["environment"]
    assert "POSTGRES_PASSWORD" not in postgres
    assert "POSTGRES_PASSWORD_FILE" in postgres
    grafana = compose["services"]["grafana"]["environment"]
    assert grafana["GF_SECURITY_ADMIN_PASSWORD__FILE"].startswith("/run/secrets/")


def test_only_lumen_and_prometheus_share_the_databases_network(compose: dict[str, Any]) -> None:
    assert compose["networks"]["backend"]["internal"] is True
    template_networks = compose["x-lumen"]["networks"]
    on_backend = set()
    for name, service in compose["services"].items():
        networks = service.get(
            "networks", template_networks if name in ("migrate", "worker") else []
        )
        if "backend" in networks:
            on_backend.add(name)
        if name in DATABASES:
            assert list(networks) == ["backend"], name
            assert "ports" not in service, f"{name} is published on the host"
    assert on_backend == {
        *DATABASES,
        "api",
        "worker",
        "migrate",
        "llm-cpu",
        "llm-gpu",
        "prometheus",
        "backup",
    }
    published = {n for n, s in compose["services"].items() if "ports" in s}
    assert published == {"caddy", "grafana"}
    assert compose["services"]["grafana"]["ports"] == ["127.0.0.1:3000:3000"]


def test_migrations_run_before_the_api_and_workers(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert services["migrate"]["command"] == ["lumen", "db", "upgrade"]
    for name in ("api", "worker"):
        condition = services[name]["depends_on"]["migrate"]["condition"]
        assert condition == "service_completed_successfully"
    assert compose["x-lumen"]["environment"]["LUMEN_DATABASE__AUTO_MIGRATE"] == "false"


def test_caddy_allows_tls_1_3_only(tmp_path: Path) -> None:
    caddy = need_tool("caddy")
    result = subprocess.run(
        [caddy, "adapt", "--config", str(DEPLOY / "caddy" / "Caddyfile"), "--adapter", "caddyfile"],
        capture_output=True,
        text=True,
        env={"HOME": str(tmp_path), "LUMEN_DOMAIN": "lumen.example.org", "LUMEN_TLS": "internal"},
    )
    assert result.returncode == 0, result.stderr
    config = json.loads(result.stdout)
    server = next(iter(config["apps"]["http"]["servers"].values()))
    policies = server["tls_connection_policies"]
    assert policies
    assert all(
        p.get("protocol_min") == "tls1.3" and p.get("protocol_max") == "tls1.3" for p in policies
    )
    routes = json.dumps(server["routes"])
    assert "lumen.example.org" in routes
    assert "api:8000" in routes
    assert '"/metrics"' in routes  # kept from the public side


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _handshake(port: int, version: ssl.TLSVersion, server_name: str) -> str:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.maximum_version = version
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname=server_name) as tls,
    ):
        return str(tls.version())


def test_caddy_refuses_tls_1_2_and_serves_tls_1_3(tmp_path: Path) -> None:
    caddy = need_tool("caddy")
    https_port, admin_port = _free_port(), _free_port()
    env = {
        **os.environ,
        "HOME": str(tmp_path),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "LUMEN_DOMAIN": "lumen.localhost",
        "CADDY_HTTPS_PORT": str(https_port),
        "CADDY_HTTP_PORT": str(_free_port()),
        "CADDY_ADMIN": f"127.0.0.1:{admin_port}",
    }
    process = subprocess.Popen(
        [caddy, "run", "--config", str(DEPLOY / "caddy" / "Caddyfile"), "--adapter", "caddyfile"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        version = None
        while time.monotonic() < deadline and version is None:
            try:
                version = _handshake(https_port, ssl.TLSVersion.TLSv1_3, "lumen.localhost")
            except OSError:
                time.sleep(0.5)
        assert version == "TLSv1.3"
        with pytest.raises(ssl.SSLError):
            _handshake(https_port, ssl.TLSVersion.TLSv1_2, "lumen.localhost")
        with pytest.raises(ssl.SSLError):  # another name: no certificate, no TLS 1.2 either
            _handshake(https_port, ssl.TLSVersion.TLSv1_2, "other.example")
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_init_secrets_writes_every_secret_once(tmp_path: Path) -> None:
    from lumen.security.crypto import load_key_file

    shutil.copy(DEPLOY / "init-secrets.sh", tmp_path / "init-secrets.sh")
    for _ in range(2):  # the second run keeps what the first made
        result = subprocess.run(
            ["bash", str(tmp_path / "init-secrets.sh")], capture_output=True, text=True
        )
        assert result.returncode == 0, result.stderr
        if _ == 0:
            first = {p.name: p.read_text() for p in (tmp_path / "secrets").iterdir()}
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    expected = {Path(s["file"]).name for s in compose["secrets"].values()}
    secrets = tmp_path / "secrets"
    assert {p.name for p in secrets.iterdir()} == expected
    assert {p.name: p.read_text() for p in secrets.iterdir()} == first
    password = (secrets / "postgres_password").read_text().strip()
    assert len(password) >= 24
    assert f"lumen:{password}@postgres:5432/lumen" in (secrets / "database_url").read_text()
    assert (secrets / "redis_password").read_text().strip() in (secrets / "redis_url").read_text()
    assert oct(secrets.stat().st_mode & 0o777) == "0o700"
    load_key_file(secrets / "keys.json")  # a valid key file
