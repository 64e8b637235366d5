"""The command line on real parts: errors and exit codes, incremental ingest, ask --json."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lumen.cli.main import app

from .corpus import medquad_subset

runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_empty_question_is_a_one_line_error(settings_env: Path) -> None:
    code, _, err = run("ask", "   ")
    assert code == 2
    assert "error: the question is empty" in err
    assert "Traceback" not in err


def test_overlong_question_names_the_limit(settings_env: Path) -> None:
    code, _, err = run("ask", "x" * 2001)
    assert code == 2
    assert "limit is 2000" in err


def test_asking_before_ingesting_says_what_to_do(settings_env: Path) -> None:
    code, _, err = run("ask", "What is glaucoma?")
    assert code == 2
    assert "lumen ingest" in err


def test_missing_path_is_a_one_line_error(settings_env: Path, tmp_path: Path) -> None:
    code, _, err = run("ingest", "medquad", "--path", str(tmp_path / "nowhere"))
    assert code == 2
    assert "nowhere" in err
    assert "Traceback" not in err


def test_unknown_source_lists_the_known_ones(settings_env: Path) -> None:
    code, _, err = run("ingest", "wikipedia")
    assert code == 2
    assert "medquad" in err


def test_invalid_setting_is_reported(settings_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LUMEN_RETRIEVAL__K", "many")
    code, _, err = run("ask", "What is glaucoma?")
    assert code == 2
    assert "retrieval.k" in err


def test_bad_file_in_a_folder_is_skipped(settings_env: Path, tmp_path: Path) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "good.md").write_text("# Hydration\n\nDrink water when you have a fever.\n")
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4 this is not a real pdf")
    code, out, err = run("ingest", "files", "--path", str(folder), "--collection", "notes")
    assert code == 0, err
    assert "broken.pdf" in err
    assert "1 added" in out


def test_incremental_reingest_and_delete(
    settings_env: Path, shared_data: Path, tmp_path: Path
) -> None:
    corpus = medquad_subset(shared_data, tmp_path)
    for name in sorted((corpus / "7_SeniorHealth_QA").iterdir())[3:]:
        name.unlink()  # three documents are enough here
    code, out, err = run("ingest", "medquad", "--path", str(corpus))
    assert code == 0, err
    assert "3 added" in out
    # no terminal here: progress comes as plain lines, the last one at the full count
    lines = [line for line in err.splitlines() if line.startswith("indexing into knowledge: ")]
    assert lines
    done, total = lines[-1].split(": ")[1].split(" ")[0].split("/")
    assert done == total

    code, out, _ = run("ingest", "medquad", "--path", str(corpus))
    assert code == 0
    assert "0 added, 0 updated, 3 unchanged; 0 chunks written" in out

    changed = sorted((corpus / "7_SeniorHealth_QA").iterdir())[0]
    changed.write_text(changed.read_text().replace("</Answer>", " An added sentence.</Answer>", 1))
    code, out, _ = run("ingest", "medquad", "--path", str(corpus))
    assert "0 added, 1 updated, 2 unchanged" in out

    code, out, _ = run("index", "stats", "--json")
    stats = {c["name"]: c for c in json.loads(out)["collections"]}
    assert stats["knowledge"]["documents"] == 3
    points = stats["knowledge"]["points"]

    # The updated document's old chunks were replaced, not added to: same count on a re-run.
    code, out, _ = run("ingest", "medquad", "--path", str(corpus))
    code, out, _ = run("index", "stats", "--json")
    assert {c["name"]: c for c in json.loads(out)["collections"]}["knowledge"]["points"] == points

    code, out, _ = run("ingest", "medquad", "--delete")
    assert code == 0
    assert "removed 3 documents" in out
    code, out, _ = run("index", "stats", "--json")
    assert {c["name"]: c for c in json.loads(out)["collections"]}["knowledge"]["points"] == 0


@pytest.mark.slow
def test_ask_json_and_unreachable_server(
    settings_env: Path, shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = medquad_subset(shared_data, tmp_path)
    code, _, err = run("ingest", "medquad", "--path", str(corpus))
    assert code == 0, err

    code, out, err = run("ask", "What is glaucoma?", "--json")
    assert code == 0, err
    answer = json.loads(out)
    assert {"answer", "citations", "abstained", "disclaimer", "timings_ms"} <= set(answer)
    assert {"retrieve", "generate", "verify", "total"} <= set(answer["timings_ms"])
    for citation in answer["citations"]:
        assert {"n", "title", "url", "source", "snippet", "score"} <= set(citation)
    assert answer["abstained"] or answer["citations"]

    monkeypatch.setenv("LUMEN_LLM__BACKEND", "openai")
    monkeypatch.setenv("LUMEN_LLM__BASE_URL", "http://127.0.0.1:9/v1")
    code, _, err = run("ask", "What is glaucoma?")
    assert code == 1
    assert "cannot reach the language model server at http://127.0.0.1:9/v1" in err
    assert "Traceback" not in err
    shutil.rmtree(corpus)


def test_cli_logs_are_redacted(settings_env: Path) -> None:
    import logging

    from lumen.cli.common import configure_logging

    configure_logging(1)
    handler = logging.getLogger().handlers[0]
    record = logging.LogRecord(
        "lumen", logging.INFO, __file__, 1, "patient %s", ("jane.doe@example.org",), None
    )
    assert all(f.filter(record) for f in handler.filters)
    assert "jane.doe@example.org" not in record.getMessage()


@pytest.mark.slow
def test_eval_safety_reports_the_targets(settings_env: Path, tmp_path: Path) -> None:
    out = tmp_path / "safety.json"
    code, stdout, err = run("eval", "safety", "--answers", "0", "--out", str(out))
    assert code == 0, err
    assert "crisis responses carrying 988" in stdout
    results = json.loads(out.read_text())
    assert results["responses"]["crisis_988_share"] == 1.0
    assert results["triage"]["per_class"]["crisis"]["recall"] >= 0.98
