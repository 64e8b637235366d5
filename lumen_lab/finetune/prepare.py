"""``prepare``: the prepared splits on disk, with retrieved passages where the recipe asks.

Builds on :mod:`lumen_lab.finetune.data` (examples, rendering, splits) and
:mod:`lumen_lab.finetune.passages` / :mod:`lumen_lab.finetune.heldout` (retrieval and the
held-out sets it must never show).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

from lumen.components.model_files import file_sha256
from lumen_lab.finetune.config import Recipe
from lumen_lab.finetune.data import (
    MANIFEST,
    SPLITS,
    Example,
    collect,
    render,
    sources_dir,
)

logger = logging.getLogger(__name__)


def retrieve_passages(splits: dict[str, list[Example]], recipe: Recipe, index_dir: Path) -> None:
    """Show ``data.retrieved_share`` of training and validation items retrieved passages.

    Neither the test split's abstracts nor those of the second held-out set
    (``evaluate.heldout_mirage``) are ever among the passages.
    """
    from lumen_lab.finetune.heldout import heldout_pmids
    from lumen_lab.finetune.passages import doc_id, pqal_search, with_retrieved_passages

    options = recipe.data
    if not options.retrieved_share:
        return
    held_out = {str(e.meta["pmid"]) for e in splits["test"] if e.meta.get("pmid")}
    excluded = {doc_id(pmid) for pmid in held_out | heldout_pmids(recipe)}
    with pqal_search(recipe, index_dir) as search:
        for name in ("train", "validation"):
            splits[name] = with_retrieved_passages(
                splits[name],
                search,
                share=options.retrieved_share,
                k=options.retrieved_k,
                excluded=excluded,
            )


def prepare(
    recipe: Recipe, out_dir: Path, tokenizer: Any, *, index_dir: Path | None = None
) -> dict[str, Any]:
    """Write ``train/validation/test.jsonl`` and ``manifest.json`` under ``out_dir``.

    ``index_dir`` holds the PQA-L index that ``data.retrieved_share`` searches (default:
    ``index`` beside ``out_dir``, where ``evaluate`` looks for it too).
    """
    from lumen_lab.eval.datasets import data_hash
    from lumen_lab.finetune.passages import INDEX_DIR

    splits = collect(recipe)
    retrieve_passages(splits, recipe, index_dir or out_dir.parent / INDEX_DIR)
    out_dir.mkdir(parents=True, exist_ok=True)
    files: dict[str, Any] = {}
    for name in SPLITS:
        path = out_dir / f"{name}.jsonl"
        temporary = path.with_suffix(".tmp")
        counts: dict[str, int] = {}
        retrieved = 0
        with temporary.open("w", encoding="utf-8") as handle:
            for example in sorted(splits[name], key=lambda e: e.id):
                record = render(example, tokenizer, recipe)
                if not record["n_sources"]:
                    logger.info("skipped %s: no source fits the budget", example.id)
                    continue
                record["split"] = name
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
                counts[example.source] = counts.get(example.source, 0) + 1
                retrieved += "retrieved" in record
        os.replace(temporary, path)
        labels: dict[str, int] = {}
        for example in splits[name]:
            if example.label:
                labels[example.label] = labels.get(example.label, 0) + 1
        files[name] = {
            "file": path.name,
            "count": sum(counts.values()),
            "by_source": counts,
            "labels": labels,
            "retrieved_passages": retrieved,
            "sha256": file_sha256(path),
        }
    root = sources_dir(recipe.data)
    inputs = {"pubmedqa": data_hash(root / recipe.data.pubmedqa)}
    if recipe.data.medquad and recipe.data.medquad_max:
        inputs["medquad"] = data_hash(root / recipe.data.medquad)
    manifest = {
        "recipe": recipe.name,
        "data_options": recipe.to_dict()["data"],
        "max_length": recipe.train.max_length,
        "tokenizer": getattr(tokenizer, "name_or_path", ""),
        "inputs_sha256": inputs,
        "splits": files,
        "test_ids_sha256": hashlib.sha256(
            "\n".join(sorted(e.id for e in splits["test"])).encode()
        ).hexdigest(),
    }
    (out_dir / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    return manifest
