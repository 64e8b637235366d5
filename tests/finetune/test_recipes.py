"""Recipes: the built-ins load, overrides apply, and bad options are named."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from lumen.cli.main import app
from lumen_lab.finetune.config import (
    RecipeError,
    describe_options,
    load_recipe,
    parse_overrides,
    recipe_from_mapping,
)

runner = CliRunner()


def test_builtin_recipes_load() -> None:
    cpu = load_recipe("smollm2-cpu-lora")
    assert cpu.model.base == "smollm2"
    assert cpu.model.quantization == "none"
    gpu = load_recipe("biomistral-7b-qlora")
    assert gpu.model.quantization == "nf4"
    assert 16 <= gpu.lora.r <= 64
    assert gpu.lora.adapter_dtype == "bfloat16"


def test_overrides_apply_with_types() -> None:
    recipe = load_recipe(
        "smollm2-cpu-lora",
        ["train.learning_rate=1e-4", "lora.r=4", "lora.target_modules=q_proj,v_proj"],
    )
    assert recipe.train.learning_rate == pytest.approx(1e-4)
    assert recipe.lora.r == 4
    assert recipe.lora.target_modules == ["q_proj", "v_proj"]


def test_integer_accepted_for_a_float_option() -> None:
    assert load_recipe("smollm2-cpu-lora", ["train.learning_rate=1"]).train.learning_rate == 1.0


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("train.lr=1e-4", "unknown recipe option 'train.lr'"),
        ("training.epochs=1", "unknown recipe option 'training'"),
        ("train.learning_rate=fast", "train.learning_rate: expected a number"),
        ("train.batch_size=0", "train.batch_size: must be at least 1"),
        ("lora.dropout=1.5", "lora.dropout: must be less than 1"),
        ("model.quantization=int3", "model.quantization: 'int3' is not one of none, nf4"),
        ("train.eval_before=maybe", "train.eval_before: expected true or false"),
        ("train.save_steps=7", "train.save_steps must be a multiple of train.eval_steps"),
        ("novalue", "--set expects SECTION.OPTION=VALUE"),
    ],
)
def test_bad_options_are_named(override: str, message: str) -> None:
    with pytest.raises(RecipeError) as caught:
        load_recipe("smollm2-cpu-lora", [override])
    assert message in str(caught.value)


def test_section_must_be_a_mapping() -> None:
    with pytest.raises(RecipeError, match="section 'train' must be a mapping"):
        recipe_from_mapping({"train": 3})


def test_bad_yaml_and_missing_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("train: [unclosed\n", encoding="utf-8")
    with pytest.raises(RecipeError, match="not valid YAML"):
        load_recipe(broken)
    with pytest.raises(RecipeError, match=r"recipe not found: nope .*smollm2-cpu-lora"):
        load_recipe("nope")


def test_override_into_an_option_is_refused() -> None:
    with pytest.raises(RecipeError, match="is an option, not a section"):
        parse_overrides(["train=1", "train.x=2"])


def test_every_option_has_help() -> None:
    rows = describe_options()
    assert {"train.learning_rate", "lora.r", "model.quantization"} <= {r[0] for r in rows}
    assert all(help_text for _, _, help_text in rows)


def test_cli_reports_a_bad_option_without_traceback(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        ["finetune", "train", "smollm2-cpu-lora", "--out", str(tmp_path), "--set", "lora.r=0"],
    )
    assert result.exit_code == 2
    assert "recipe option lora.r: must be at least 1" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_unknown_recipe(tmp_path: Path) -> None:
    result = runner.invoke(app, ["finetune", "prepare", "missing-recipe", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "recipe not found" in result.stderr


def test_cli_lists_options() -> None:
    result = runner.invoke(app, ["finetune", "options"])
    assert result.exit_code == 0
    assert "train.learning_rate" in result.stdout
