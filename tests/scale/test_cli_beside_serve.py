"""One embedded index, many processes: the CLI works beside a running ``lumen serve``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lumen.cli.main import app
from lumen.components.vector_store.qdrant_edge import EdgeVectorStore

from .conftest import free_port, stop, wait_http

runner = CliRunner()

GLAUCOMA = """# Glaucoma

Glaucoma is a group of eye diseases that damage the optic nerve. Without treatment it can
cause blindness. Eye drops that lower the pressure in the eye are the usual first treatment.
"""
ASTHMA = """# Asthma

Asthma is a long-term disease of the airways in the lungs. Inhalers that relax the airways
relieve an attack; inhaled steroids prevent attacks.
"""


def cli(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def _documents(stats_json: str) -> int:
    data = json.loads(stats_json)
    return next(c["documents"] for c in data["collections"] if c["name"] == "knowledge")


@pytest.mark.slow
def test_cli_goes_through_running_server(
    settings_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LUMEN_LLM__TIMEOUT_S", "300")  # two shared cores: a slow model is no bug
    first = tmp_path / "first"
    first.mkdir()
    (first / "glaucoma.md").write_text(GLAUCOMA)
    code, _, err = cli("ingest", "files", "--path", str(first), "--collection", "knowledge")
    assert code == 0, err

    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "lumen.cli.main", "serve", "--insecure-cookies"],
        env={**os.environ, "LUMEN_API__PORT": str(port)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    registry = settings_env / "run" / "serve.json"
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", process)
        assert registry.is_file()
        assert (registry.stat().st_mode & 0o777) == 0o600
        # The server holds the index: opening it here fails...
        with pytest.raises(Exception, match="in use"):
            EdgeVectorStore(settings_env / "qdrant", exact_search_below=10).stats("knowledge")
        # ...but the CLI goes through the server.
        code, out, err = cli("index", "stats", "--json")
        assert code == 0, err
        assert _documents(out) == 1
        assert "held by 'lumen serve'" in err

        second = tmp_path / "second"
        second.mkdir()
        (second / "asthma.md").write_text(ASTHMA)
        code, out, err = cli(
            "ingest",
            "files",
            "--path",
            str(second),
            "--collection",
            "knowledge",
            "--source-name",
            "more",
        )
        assert code == 0, err
        assert "1 added" in out
        code, out, _ = cli("index", "stats", "--json")
        assert _documents(out) == 2

        code, out, err = cli("ask", "What relieves an asthma attack?", "--json")
        assert code == 0, err
        answer = json.loads(out)
        # Retrieval went through the server's index and found the document added through it.
        assert answer["retrieved"][0]["source"] == "more", answer["retrieved"]
        assert not answer["abstained"]
        assert answer["citations"]
    finally:
        output = stop(process)
    assert "Traceback" not in output
    assert not registry.exists()


@pytest.mark.slow
def test_cli_names_the_fix_when_another_process_holds_the_index(
    settings_env: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "glaucoma.md").write_text(GLAUCOMA)
    code, _, err = cli("ingest", "files", "--path", str(folder), "--collection", "knowledge")
    assert code == 0, err
    holder = EdgeVectorStore(settings_env / "qdrant", exact_search_below=10)
    try:
        holder.stats("knowledge")
        code, _, err = cli("index", "stats")
    finally:
        holder.close()
    assert code == 1
    assert "in use" in err
    assert "lumen serve" in err
    assert "Traceback" not in err
