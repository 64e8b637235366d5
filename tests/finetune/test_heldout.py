"""The second held-out set: MIRAGE's PubMedQA questions over their PQA-L abstracts."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from lumen.errors import InputError
from lumen_lab.finetune.config import Recipe
from lumen_lab.finetune.evaluate import _scored, result_groups
from lumen_lab.finetune.heldout import HELDOUT_SET, heldout_items

from .conftest import HELDOUT_ITEMS


@pytest.fixture
def recipe(tiny_recipe: Recipe) -> Recipe:
    """The tiny recipe with room in its prompts for a six-section abstract."""
    return dataclasses.replace(
        tiny_recipe,
        data=dataclasses.replace(tiny_recipe.data, max_context_tokens=200),
        train=dataclasses.replace(tiny_recipe.train, max_length=384),
    )


@pytest.fixture(scope="module")
def tokenizer() -> Any:
    from lumen_lab.finetune.models import load_tokenizer, resolve_base

    return load_tokenizer(resolve_base(Recipe().model))


def test_heldout_items_are_gold_prompts_with_mirage_labels(
    recipe: Recipe, ft_sources: Path, shared_data: Path, tokenizer: Any
) -> None:
    items = heldout_items(recipe, tokenizer)
    mirage = json.loads((shared_data / "mirage" / "benchmark_dev.json").read_text())["pubmedqa"]
    abstracts = json.loads((ft_sources / "pubmedqa" / "pqal_test_abstracts.json").read_text())
    assert len(items) == HELDOUT_ITEMS
    for item in items:
        raw = mirage[item["pmid"]]
        assert item["set"] == HELDOUT_SET
        assert item["label"] == raw["options"][raw["answer"]]
        assert item["question"] == raw["question"]
        assert f"Question: {raw['question']}" in item["prompt"]
        assert f'<source n="1" title="PubMed {item["pmid"]}"' in item["prompt"]
        abstract = abstracts[item["pmid"]]
        opening = f"{abstract['LABELS'][0].upper()}: {abstract['CONTEXTS'][0].split()[0]}"
        assert opening in item["prompt"]  # the labelled gold abstract is source [1]
        assert item["prompt"].endswith("<|im_start|>assistant\n")


def test_heldout_items_leave_out_questions_of_the_training_file(
    recipe: Recipe, ft_sources: Path, tmp_path: Path, tokenizer: Any
) -> None:
    sources = tmp_path / "sources"
    (sources / "pubmedqa").mkdir(parents=True)
    abstracts = json.loads((ft_sources / "pubmedqa" / "pqal_test_abstracts.json").read_text())
    trained = dict(json.loads((ft_sources / "pubmedqa" / "pqal_dev.json").read_text()))
    leaked = next(iter(abstracts))
    trained[leaked] = {**next(iter(trained.values())), "QUESTION": "A question of its own?"}
    (sources / "pubmedqa" / "pqal_dev.json").write_text(json.dumps(trained))
    (sources / "pubmedqa" / "pqal_test_abstracts.json").write_text(json.dumps(abstracts))
    (sources / "mirage").symlink_to(ft_sources / "mirage")
    moved = dataclasses.replace(
        recipe, data=dataclasses.replace(recipe.data, sources_dir=str(sources))
    )
    pmids = {item["pmid"] for item in heldout_items(moved, tokenizer)}
    assert leaked not in pmids
    assert len(pmids) == HELDOUT_ITEMS - 1


def test_heldout_files_are_checked(tiny_recipe: Recipe, tokenizer: Any) -> None:
    def with_evaluate(**options: str) -> Recipe:
        return dataclasses.replace(
            tiny_recipe, evaluate=dataclasses.replace(tiny_recipe.evaluate, **options)
        )

    assert heldout_items(with_evaluate(heldout_mirage=""), tokenizer) == []
    with pytest.raises(InputError, match=r"evaluate.heldout_abstracts: file not found"):
        heldout_items(with_evaluate(heldout_abstracts="pubmedqa/absent.json"), tokenizer)
    with pytest.raises(InputError, match=r"no PubMedQA question .* has its abstract"):
        heldout_items(with_evaluate(heldout_abstracts="pubmedqa/pqal_dev.json"), tokenizer)


def _model(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {"model": "m.gguf", "seconds": 1.0, "rows": rows, "validation_rows": []}


def test_each_item_set_is_scored_apart_and_together() -> None:
    rows = [
        {"gold": "yes", "loglikelihood": "yes", "generated": "yes", "answer": "Yes [1]"},
        {"gold": "no", "loglikelihood": "yes", "generated": "yes", "answer": "Yes"},
        {"gold": "no", "loglikelihood": "no", "generated": "no", "answer": "No", "set": "h"},
    ]
    models = {"after": _model(rows)}
    test, heldout, both = (_scored(models, sets)["after"] for sets in ([None], ["h"], [None, "h"]))
    assert (test["n"], heldout["n"], both["n"]) == (2, 1, 3)
    assert test["loglikelihood"]["accuracy"] == 0.5
    assert heldout["loglikelihood"]["accuracy"] == 1.0
    assert both["loglikelihood"]["accuracy"] == pytest.approx(2 / 3)
    assert "rows" not in test
    assert test["model"] == "m.gguf"
    report = {
        "test_items": 2,
        "models": {"after": test},
        "retrieved": {"k": 3, "models": {"after": test}},
        "heldout": {
            "items": 1,
            "gold": {"after": heldout},
            "retrieved": {"after": heldout},
            "both_sets": {"items": 3, "gold": {"after": both}, "retrieved": {"after": both}},
        },
    }
    groups = [(name, context) for name, context, _ in result_groups(report)]
    assert groups == [
        ("PubMedQA test split (n=2)", "gold abstract"),
        ("PubMedQA test split (n=2)", "retrieved (k=3)"),
        ("MIRAGE PubMedQA (n=1)", "gold abstract"),
        ("MIRAGE PubMedQA (n=1)", "retrieved (k=3)"),
        ("both sets (n=3)", "gold abstract"),
        ("both sets (n=3)", "retrieved (k=3)"),
    ]
