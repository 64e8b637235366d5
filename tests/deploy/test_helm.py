"""The Helm chart, rendered by Helm's own engine (helm-python-sdk) and checked against the
Kubernetes schemas (kubernetes-validate)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from .conftest import DEPLOY

CHART = DEPLOY / "helm" / "lumen"
KUBERNETES = "1.30"
REQUIRED = {
    "secrets": {
        "databaseUrl": "postgresql+psycopg://lumen:pw@postgres.db:5432/lumen",
        "redisUrl": "redis://:pw@redis.db:6379/0",
        "keyFile": '{"active": "k1", "keys": {"k1": "AAAA"}}',
    }
}


def _helm() -> Any:
    try:
        import helm_python
    except ImportError:
        if os.environ.get("CI") == "true":
            pytest.fail("helm-python-sdk is not installed (the dev extra)")
        pytest.skip("helm-python-sdk is not installed")
    return helm_python


def render(values: dict[str, Any]) -> list[dict[str, Any]]:
    helm = _helm()
    with helm.Chart.load(str(CHART)) as chart:
        files = chart.render(values, name="lumen", namespace="health")
    return [doc for text in files.values() for doc in yaml.safe_load_all(text) if doc]


def merged(*parts: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for part in parts:
        for key, value in part.items():
            out[key] = merged(out.get(key, {}), value) if isinstance(value, dict) else value
    return out


@pytest.fixture(scope="module")
def manifests() -> list[dict[str, Any]]:
    return render(
        merged(
            REQUIRED,
            {
                "ingress": {"enabled": True},
                "metrics": {
                    "serviceMonitor": {"enabled": True},
                    "prometheusRule": {"enabled": True},
                    "grafanaDashboard": {"enabled": True},
                },
                "networkPolicy": {
                    "inClusterDatabases": [
                        {
                            "name": "postgres",
                            "podSelector": {"matchLabels": {"app": "pg"}},
                            "port": 5432,
                        }
                    ]
                },
            },
        )
    )


def by_kind(manifests: list[dict[str, Any]], kind: str) -> Iterator[dict[str, Any]]:
    return (m for m in manifests if m["kind"] == kind)


def named(manifests: list[dict[str, Any]], kind: str, suffix: str) -> dict[str, Any]:
    return next(m for m in by_kind(manifests, kind) if m["metadata"]["name"].endswith(suffix))


def test_lint_finds_no_errors() -> None:
    report = _helm().lint(str(CHART))
    assert report["errors"] == []
    assert all(m["severity"] <= 1 for m in report["messages"]), report["messages"]


def test_every_manifest_matches_the_kubernetes_schema(manifests: list[dict[str, Any]]) -> None:
    import kubernetes_validate

    kinds = {m["kind"] for m in manifests}
    assert {
        "Deployment",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "Job",
        "Secret",
        "NetworkPolicy",
        "Service",
        "Ingress",
    } <= kinds
    for manifest in manifests:
        if manifest["apiVersion"].startswith("monitoring.coreos.com"):
            continue  # a CRD: no schema in the Kubernetes set
        kubernetes_validate.validate(manifest, KUBERNETES, strict=True)


def test_api_probes_autoscaling_and_disruption_budget(manifests: list[dict[str, Any]]) -> None:
    api = named(manifests, "Deployment", "-api")
    container = api["spec"]["template"]["spec"]["containers"][0]
    assert container["command"][:4] == ["lumen", "serve", "--host", "0.0.0.0"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
    assert "replicas" not in api["spec"]  # the HPA owns the count
    hpa = named(manifests, "HorizontalPodAutoscaler", "-api")
    assert hpa["spec"]["scaleTargetRef"]["name"] == api["metadata"]["name"]
    assert hpa["spec"]["minReplicas"] >= 2
    pdb = named(manifests, "PodDisruptionBudget", "-api")
    assert pdb["spec"]["selector"]["matchLabels"] == api["spec"]["selector"]["matchLabels"]


def test_pods_run_unprivileged_with_secrets_as_files(manifests: list[dict[str, Any]]) -> None:
    workloads = [*by_kind(manifests, "Deployment"), *by_kind(manifests, "Job")]
    assert len(workloads) == 3
    for workload in workloads:
        pod = workload["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["automountServiceAccountToken"] is False
        for container in pod["containers"]:
            assert container["securityContext"]["allowPrivilegeEscalation"] is False
            assert container["securityContext"]["readOnlyRootFilesystem"] is True
            env = {e["name"]: e.get("value") for e in container["env"]}
            assert env["LUMEN_DATABASE__URL_FILE"] == "/run/secrets/lumen/database_url"
            assert env["LUMEN_DATABASE__AUTO_MIGRATE"] == "false"
            assert "LUMEN_DATABASE__URL" not in env
    worker = named(manifests, "Deployment", "-worker")
    assert worker["spec"]["template"]["spec"]["containers"][0]["command"] == ["lumen", "worker"]
    job = named(manifests, "Job", "-migrate")
    assert job["spec"]["template"]["spec"]["containers"][0]["command"] == ["lumen", "db", "upgrade"]
    assert "pre-upgrade" in job["metadata"]["annotations"]["helm.sh/hook"]
    secret = next(by_kind(manifests, "Secret"))
    assert secret["stringData"]["database_url"] == REQUIRED["secrets"]["databaseUrl"]
    # The secret exists before the migration hook that reads it.
    assert int(secret["metadata"]["annotations"]["helm.sh/hook-weight"]) < int(
        job["metadata"]["annotations"]["helm.sh/hook-weight"]
    )


def _egress_ports(policy: dict[str, Any]) -> set[int]:
    return {p["port"] for rule in policy["spec"].get("egress", []) for p in rule.get("ports", [])}


def test_only_api_workers_and_migrations_reach_the_databases(
    manifests: list[dict[str, Any]],
) -> None:
    policies = {m["metadata"]["name"]: m for m in by_kind(manifests, "NetworkPolicy")}
    deny = policies["lumen-default-deny"]
    assert deny["spec"]["policyTypes"] == ["Ingress", "Egress"]
    assert "egress" not in deny["spec"]
    assert "ingress" not in deny["spec"]
    assert _egress_ports(policies["lumen-api"]) == {53, 5432, 6379, 6333, 8000}
    assert _egress_ports(policies["lumen-worker"]) == {53, 5432, 6379, 6333, 8000}
    assert _egress_ports(policies["lumen-migrations"]) == {53, 5432}
    assert policies["lumen-worker"]["spec"]["ingress"] == []
    api_in = policies["lumen-api"]["spec"]["ingress"][0]
    assert [p["port"] for p in api_in["ports"]] == [8000]
    # Only those three policies open a database port.
    for name, policy in policies.items():
        if name not in ("lumen-api", "lumen-worker", "lumen-migrations"):
            assert not _egress_ports(policy) & {5432, 6379, 6333}, name
    clients = policies["lumen-postgres-clients"]["spec"]
    assert clients["podSelector"] == {"matchLabels": {"app": "pg"}}
    expressions = clients["ingress"][0]["from"][0]["podSelector"]["matchExpressions"]
    components = next(e for e in expressions if e["key"] == "app.kubernetes.io/component")
    assert set(components["values"]) == {"api", "worker", "migrations"}


def test_missing_secrets_fail_the_render() -> None:
    helm = _helm()
    with pytest.raises(helm.HelmError, match="databaseUrl"):
        render({})


def test_an_existing_secret_replaces_the_generated_one() -> None:
    manifests = render({"secrets": {"create": False, "existingSecret": "lumen-vault"}})
    assert not list(by_kind(manifests, "Secret"))
    api = named(manifests, "Deployment", "-api")
    volumes = api["spec"]["template"]["spec"]["volumes"]
    assert {
        "name": "secrets",
        "secret": {"secretName": "lumen-vault", "defaultMode": 0o440},
    } in volumes


def test_autoscaling_off_sets_the_replica_count() -> None:
    manifests = render(
        merged(REQUIRED, {"api": {"autoscaling": {"enabled": False}, "replicas": 3}})
    )
    assert named(manifests, "Deployment", "-api")["spec"]["replicas"] == 3
    assert not list(by_kind(manifests, "HorizontalPodAutoscaler"))


def test_alert_rules_and_dashboard_ship_with_the_chart(manifests: list[dict[str, Any]]) -> None:
    import json

    rules = next(by_kind(manifests, "PrometheusRule"))
    assert rules["spec"] == yaml.safe_load((DEPLOY / "prometheus/alerts.yml").read_text())
    dashboard = named(manifests, "ConfigMap", "-dashboard")
    assert dashboard["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert json.loads(dashboard["data"]["lumen.json"]) == json.loads(
        (DEPLOY / "grafana/dashboards/lumen.json").read_text()
    )
    # The chart's copies are the same files, byte for byte.
    assert (CHART / "files/alerts.yml").read_bytes() == (
        DEPLOY / "prometheus/alerts.yml"
    ).read_bytes()
    assert (CHART / "files/lumen-dashboard.json").read_bytes() == (
        DEPLOY / "grafana/dashboards/lumen.json"
    ).read_bytes()
