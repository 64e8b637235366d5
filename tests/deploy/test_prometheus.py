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
