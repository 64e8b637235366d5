"""``lumen eval``: listing, one-line errors, showing results."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lumen_lab.cli.eval_cmd import eval_app

runner = CliRunner()


@pytest.fixture
def lumen_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LUMEN_PATHS__DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("LUMEN_PATHS__SOURCES_DIR", str(tmp_path / "sources"))
    monkeypatch.delenv("LUMEN_SETTINGS_FILE", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_ls_lists_tasks(lumen_env: Path) -> None:
    result = runner.invoke(eval_app, ["ls"])
    assert result.exit_code == 0
    assert "mirage_medqa" in result.stdout
    assert "retrieval_pubmedqa" in result.stdout
    listed = json.loads(runner.invoke(eval_app, ["ls", "--json"]).stdout)
    assert {t["name"] for t in listed} >= {"pubmedqa", "grounding_medquad", "mirage"}


def test_unknown_task_is_one_line_with_suggestions(lumen_env: Path) -> None:
    result = runner.invoke(eval_app, ["run", "pubmedq"])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "unknown task 'pubmedq'; did you mean 'pubmedqa'" in lines[0]


def test_bad_dataset_names_record_and_field(lumen_env: Path) -> None:
    bad = lumen_env / "bad.json"
    bad.write_text(
        json.dumps(
            {
                "medqa": {
                    "ok": {"question": "Q?", "options": {"A": "a", "B": "b"}, "answer": "A"},
                    "x7": {"question": "Q?", "options": {"A": "a", "B": "b"}, "answer": "Z"},
                }
            }
        )
    )
    result = runner.invoke(eval_app, ["run", "mirage_medqa", "--data", str(bad)])
    assert result.exit_code == 2
    message = " ".join(result.stderr.split())
    assert "record 'medqa/x7': field 'answer' must be one of the option keys A, B" in message
    assert not (lumen_env / "eval-results").exists()  # nothing started


def test_bad_options_fail_before_running(lumen_env: Path) -> None:
    result = runner.invoke(eval_app, ["run", "mirage_medqa", "--mode", "open-book"])
    assert result.exit_code == 2
    assert "unknown mode 'open-book'" in result.stderr
    result = runner.invoke(eval_app, ["run", "mirage_medqa", "--model", "nothing.gguf"])
    assert result.exit_code == 2
    assert "model file not found" in result.stderr
    result = runner.invoke(eval_app, ["run", "mirage_medqa", "--set", "novalue"])
    assert result.exit_code == 2
    assert "NAME=VALUE" in result.stderr


def test_show_validates_results(lumen_env: Path) -> None:
    broken = lumen_env / "results.json"
    broken.write_text(json.dumps({"schema_version": "1.0"}))
    result = runner.invoke(eval_app, ["show", str(broken)])
    assert result.exit_code == 2
    assert "does not match the results schema" in result.stderr
