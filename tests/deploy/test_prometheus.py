"""Prometheus: the alert rules check and pass their unit tests, the scrape config loads."""

from __future__ import annotations

import subprocess
from pathlib import Path

from .conftest import DEPLOY, need_tool

PROMETHEUS = DEPLOY / "prometheus"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True)


def test_alert_rules_are_valid() -> None:
    result = run(need_tool("promtool"), "check", "rules", str(PROMETHEUS / "alerts.yml"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 7 rules found" in result.stdout


def test_alert_rules_pass_their_unit_tests() -> None:
    result = run(need_tool("promtool"), "test", "rules", str(PROMETHEUS / "tests/alerts_test.yml"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_the_scrape_config_loads(tmp_path: Path) -> None:
    # The compose file mounts alerts.yml at /etc/prometheus: point there from a copy.
    (tmp_path / "alerts.yml").write_text((PROMETHEUS / "alerts.yml").read_text())
    config = (PROMETHEUS / "prometheus.yml").read_text()
    (tmp_path / "prometheus.yml").write_text(
        config.replace("/etc/prometheus/alerts.yml", str(tmp_path / "alerts.yml"))
    )
    result = run(need_tool("promtool"), "check", "config", str(tmp_path / "prometheus.yml"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_dashboard_is_provisioned_against_the_provisioned_data_source() -> None:
    import json

    import yaml

    grafana = DEPLOY / "grafana"
    source = yaml.safe_load((grafana / "provisioning/datasources/prometheus.yml").read_text())
    uid = source["datasources"][0]["uid"]
    provider = yaml.safe_load((grafana / "provisioning/dashboards/lumen.yml").read_text())
    assert provider["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"
    dashboard = json.loads((grafana / "dashboards/lumen.json").read_text())
    panels = dashboard["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    queries = [p for p in panels if p["type"] != "row"]
    assert len(queries) >= 20
    for panel in queries:
        assert panel["datasource"]["uid"] == uid
        assert panel["targets"]
        assert all(t["expr"].strip() for t in panel["targets"])
        box = panel["gridPos"]
        assert box["x"] + box["w"] <= 24
    titles = " ".join(p["title"] for p in queries).lower()
    for topic in (
        "p95",
        "tokens/s",
        "cache",
        "rate-limit",
        "safety",
        "hallucination",
        "abstention",
        "satisfaction",
        "database",
        "queue",
        "active users",
        "patient vs pharma",
        "audit",
        "certificate",
        "in flight",
    ):
        assert topic in titles, topic
