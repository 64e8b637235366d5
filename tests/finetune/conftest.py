"""Fine-tuning fixtures: a small copy of the shared datasets and tiny recipes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from lumen_lab.finetune.config import Recipe, recipe_from_mapping

PUBMEDQA_ITEMS = 60
HELDOUT_ITEMS = 6  # MIRAGE PubMedQA questions whose abstracts the sources hold
MEDQUAD_FILES = 6


@pytest.fixture(scope="session")
def ft_sources(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A sources folder from the shared data: 60 PubMedQA items, the abstracts of six MIRAGE
    PubMedQA questions, six MedQuAD files and MIRAGE."""
    root = tmp_path_factory.mktemp("ft-sources")
    data = json.loads((shared_data / "pubmedqa" / "pqal_dev.json").read_text(encoding="utf-8"))
    subset = dict(list(data.items())[:PUBMEDQA_ITEMS])
    (root / "pubmedqa").mkdir()
    (root / "pubmedqa" / "pqal_dev.json").write_text(json.dumps(subset), encoding="utf-8")
    mirage = json.loads((shared_data / "mirage" / "benchmark_dev.json").read_text())
    abstracts = json.loads(
        (shared_data / "pubmedqa" / "pqal_test_abstracts.json").read_text(encoding="utf-8")
    )
    heldout = {pmid: abstracts[pmid] for pmid in list(mirage["pubmedqa"])[:HELDOUT_ITEMS]}
    (root / "pubmedqa" / "pqal_test_abstracts.json").write_text(json.dumps(heldout))
    target = root / "medquad" / "9_CDC_QA"
    target.mkdir(parents=True)
    for path in sorted((shared_data / "medquad" / "9_CDC_QA").glob("*.xml"))[:MEDQUAD_FILES]:
        shutil.copy(path, target / path.name)
    shutil.copytree(shared_data / "mirage", root / "mirage")
    return root


def tiny_mapping(sources: Path, out_dir: Path, **train: Any) -> dict[str, Any]:
    """A recipe small enough for a few CPU steps in seconds."""
    return {
        "name": "tiny-test",
        "output_dir": str(out_dir),
        "data": {
            "sources_dir": str(sources),
            "medquad_max": 10,
            "max_context_tokens": 96,
            "max_answer_tokens": 24,
            "system_prompt": "Answer from the sources and cite them like [1].",
        },
        "lora": {"r": 4, "alpha": 8, "target_modules": ["q_proj", "v_proj"]},
        "train": {
            "max_steps": 4,
            "batch_size": 1,
            "gradient_accumulation": 1,
            "max_length": 192,
            "eval_steps": 2,
            "save_steps": 2,
            "eval_max_items": 2,
            "eval_before": False,
            "early_stopping_patience": 0,
            "logging_steps": 1,
            "min_free_disk_gb": 0.1,
            **train,
        },
        "evaluate": {
            "max_items": 3,
            "context_window": 1024,
            "generate_tokens": 8,
            "neighbours": 2,  # an abstract's chunks around each hit, as the recipes retrieve
        },
    }


@pytest.fixture
def tiny_recipe(ft_sources: Path, tmp_path: Path) -> Recipe:
    """A validated tiny recipe writing under ``tmp_path/run``."""
    return recipe_from_mapping(tiny_mapping(ft_sources, tmp_path / "run"))
