"""Checks before training, and the model registry behind 'lumen ask --model'."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lumen.cli.main import app
from lumen.components.llm.registry import (
    load_registry,
    register_model,
    resolve_model,
    update_model,
    with_registered_model,
)
from lumen.errors import InputError
from lumen.factory import pipeline_identity
from lumen.settings import load_settings
from lumen_lab.finetune.config import Recipe, recipe_from_mapping
from lumen_lab.finetune.train import preflight

from .conftest import tiny_mapping

runner = CliRunner()


def _write_split(folder: Path, name: str, **fields: object) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    record = {"id": "a", "source": "pubmedqa", "split": name, "prompt": "p", "completion": "c"}
    record.update(fields)
    (folder / f"{name}.jsonl").write_text(json.dumps(record) + "\n", encoding="utf-8")


def test_preflight_passes_with_room(tiny_recipe: Recipe, tmp_path: Path) -> None:
    out = tmp_path / "run"
    _write_split(out / "data", "train")
    _write_split(out / "data", "validation")
    checks = preflight(tiny_recipe, out, free_space=lambda _: 10**12)
    assert checks.train_examples == 1
    assert checks.base.gguf_file


def test_preflight_refuses_a_full_disk(tiny_recipe: Recipe, tmp_path: Path) -> None:
    out = tmp_path / "run"
    _write_split(out / "data", "train")
    _write_split(out / "data", "validation")
    with pytest.raises(InputError, match=r"not enough free disk .*0\.00 GB free"):
        preflight(tiny_recipe, out, free_space=lambda _: 4096)


def test_preflight_refuses_data_without_fields(tiny_recipe: Recipe, tmp_path: Path) -> None:
    out = tmp_path / "run"
    (out / "data").mkdir(parents=True)
    (out / "data" / "train.jsonl").write_text('{"id": "a", "prompt": "p"}\n', encoding="utf-8")
    _write_split(out / "data", "validation")
    with pytest.raises(InputError, match="lacks field"):
        preflight(tiny_recipe, out, free_space=lambda _: 10**12)


def test_preflight_refuses_a_missing_base(ft_sources: Path, tmp_path: Path) -> None:
    mapping = tiny_mapping(ft_sources, tmp_path / "run")
    mapping["model"] = {"base": str(tmp_path / "absent.gguf")}
    with pytest.raises(InputError, match=r"model.base: GGUF file not found"):
        preflight(recipe_from_mapping(mapping), tmp_path / "run")
    mapping["model"] = {"base": str(tmp_path)}
    with pytest.raises(InputError, match=r"no config.json"):
        preflight(recipe_from_mapping(mapping), tmp_path / "run")


def test_registry_round_trip(tmp_path: Path) -> None:
    registry = tmp_path / "models.json"
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF")
    register_model(registry, "tuned", gguf, recipe="r")
    assert resolve_model(registry, "tuned")["gguf"] == str(gguf.resolve())
    assert load_registry(registry)["tuned"]["recipe"] == "r"
    update_model(registry, "tuned", verdict_offsets={"yes": 0.0, "maybe": 1.5})
    entry = load_registry(registry)["tuned"]
    assert entry["recipe"] == "r"
    assert entry["verdict_offsets"] == {"yes": 0.0, "maybe": 1.5}
    with pytest.raises(InputError, match="cannot update 'other': it is not registered"):
        update_model(registry, "other", verdict_offsets={})
    with pytest.raises(InputError, match="unknown model 'other': registered models are tuned"):
        resolve_model(registry, "other")
    gguf.unlink()
    with pytest.raises(InputError, match="its file is missing"):
        resolve_model(registry, "tuned")


@pytest.fixture
def gguf_in_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stand-in GGUF file in a data directory that the settings point at."""
    monkeypatch.setenv("LUMEN_PATHS__DATA_DIR", str(tmp_path))
    monkeypatch.delenv("LUMEN_SETTINGS_FILE", raising=False)
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF")
    return gguf


def test_registered_model_sets_the_llama_cpp_path(tmp_path: Path, gguf_in_data_dir: Path) -> None:
    settings, gguf = load_settings(), gguf_in_data_dir
    register_model(tmp_path / "models.json", "mine", gguf)
    changed = with_registered_model(settings, "mine")
    assert changed.llm.backend == "llama_cpp"
    assert changed.llm.model_path == gguf.resolve()
    assert changed.llm.verdict_offsets == {}
    update_model(tmp_path / "models.json", "mine", verdict_offsets={"maybe": 2, "no": -0.5})
    calibrated = with_registered_model(settings, "mine")
    assert calibrated.llm.verdict_offsets == {"maybe": 2.0, "no": -0.5}
    # the calibration changes answers, so cached answers of the uncalibrated model do not apply
    assert pipeline_identity(calibrated) != pipeline_identity(changed)
    update_model(tmp_path / "models.json", "mine", verdict_offsets={"maybe": "a lot"})
    with pytest.raises(InputError, match="'verdict_offsets' must map words to numbers"):
        with_registered_model(settings, "mine")


def test_a_registered_model_opens_with_its_verdict_only_when_registered_so(
    tmp_path: Path, gguf_in_data_dir: Path
) -> None:
    settings, gguf = load_settings(), gguf_in_data_dir
    register_model(tmp_path / "models.json", "older", gguf)
    register_model(tmp_path / "models.json", "tuned", gguf, verdict_first=True)
    older = with_registered_model(settings, "older")
    tuned = with_registered_model(settings, "tuned")
    assert older.llm.verdict_first is False
    assert tuned.llm.verdict_first is True
    assert pipeline_identity(tuned) != pipeline_identity(older)
    update_model(tmp_path / "models.json", "tuned", verdict_first="yes")
    with pytest.raises(InputError, match="'verdict_first' must be true or false"):
        with_registered_model(settings, "tuned")


def test_a_registered_model_retrieves_as_it_was_evaluated(
    tmp_path: Path, gguf_in_data_dir: Path
) -> None:
    settings, gguf = load_settings(), gguf_in_data_dir
    register_model(tmp_path / "models.json", "older", gguf)
    register_model(tmp_path / "models.json", "tuned", gguf, neighbours=2)
    assert with_registered_model(settings, "older").retrieval.neighbours == 0
    tuned = with_registered_model(settings, "tuned")
    assert tuned.retrieval.neighbours == 2
    assert pipeline_identity(tuned) != pipeline_identity(with_registered_model(settings, "older"))
    update_model(tmp_path / "models.json", "tuned", neighbours=-1)
    with pytest.raises(InputError, match="'neighbours' must be a whole number"):
        with_registered_model(settings, "tuned")


def test_ask_with_an_unknown_model_lists_the_known(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LUMEN_PATHS__DATA_DIR", str(tmp_path))
    monkeypatch.delenv("LUMEN_SETTINGS_FILE", raising=False)
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF")
    register_model(tmp_path / "models.json", "mine", gguf)
    result = runner.invoke(app, ["ask", "What is glaucoma?", "--model", "nope"])
    assert result.exit_code == 2
    assert "unknown model 'nope': registered models are mine" in result.stderr
    result = runner.invoke(app, ["serve", "--model", "nope"])
    assert result.exit_code == 2
    assert "unknown model 'nope': registered models are mine" in result.stderr


def test_evaluate_registers_verdict_offsets_only_when_asked(
    settings_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from lumen.components.llm.registry import registry_path
    from lumen_lab.cli.finetune_cmd import _register_offsets

    registry = registry_path(load_settings())
    gguf = tmp_path / "tuned.gguf"
    gguf.write_bytes(b"GGUF")
    register_model(registry, "tiny", gguf)
    offsets = {"yes": 0.0, "no": 0.0, "maybe": 1.0}
    mapping = tiny_mapping(tmp_path / "sources", tmp_path / "run")
    mapping["name"] = "tiny"
    _register_offsets(recipe_from_mapping(mapping), tmp_path, gguf, offsets)
    assert "reported, not registered" in capsys.readouterr().out
    assert "verdict_offsets" not in load_registry(registry)["tiny"]

    mapping["evaluate"] = {**mapping.get("evaluate", {}), "register_offsets": True}
    _register_offsets(recipe_from_mapping(mapping), tmp_path, gguf, offsets)
    assert "registered with 'tiny'" in capsys.readouterr().out
    assert load_registry(registry)["tiny"]["verdict_offsets"] == offsets
