"""A second held-out PubMedQA set: MIRAGE's PubMedQA questions with their PQA-L abstracts.

MIRAGE's PubMedQA part comes from PQA-L's official test set, which ``prepare`` never reads
(it splits ``data.pubmedqa``, the other 500 labelled items). Its abstracts ship without
questions or labels (``evaluate.heldout_abstracts``); the questions and answers come from the
MIRAGE file (``evaluate.heldout_mirage``). Each becomes an item like a prepared test record:
the labelled abstract, without its conclusions, as source [1] (the gold context), plus the
question and the PMID, so ``evaluate`` reads it with gold and with retrieved passages.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from lumen.errors import InputError
from lumen_lab.finetune.config import Recipe

logger = logging.getLogger(__name__)

HELDOUT_SET = "mirage_pubmedqa"


def _abstracts(path: Path) -> dict[str, dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"evaluate.heldout_abstracts: cannot read {path}: {exc}") from None
    if not isinstance(data, dict):
        raise InputError(f"evaluate.heldout_abstracts: {path}: expected {{pmid: {{CONTEXTS}}}}")
    return {str(pmid): raw for pmid, raw in data.items() if isinstance(raw, dict)}


def heldout_pmids(recipe: Recipe) -> set[str]:
    """PMIDs of the second held-out set's questions (empty when there is none)."""
    from lumen_lab.eval.datasets import load_mirage
    from lumen_lab.finetune.data import sources_dir

    if not recipe.evaluate.heldout_mirage:
        return set()
    path = sources_dir(recipe.data) / recipe.evaluate.heldout_mirage
    if not path.is_file():
        return set()
    return {_pmid(question) for question in load_mirage(path, "pubmedqa")}


def _pmid(question: Any) -> str:
    return str(question.pmids[0]) if question.pmids else str(question.id).removeprefix("pubmed:")


def heldout_items(recipe: Recipe, tokenizer: Any) -> list[dict[str, Any]]:
    """The MIRAGE PubMedQA items whose abstract is at hand, rendered with the gold abstract.

    Empty when ``evaluate.heldout_mirage`` is empty. Items whose PMID is among the training
    file's (``data.pubmedqa``) are left out, so the set stays held out whatever the files.
    """
    from lumen_lab.eval.datasets import load_mirage, load_pqal
    from lumen_lab.finetune.data import LABELS, Example, labelled_abstract, render, sources_dir

    options = recipe.evaluate
    if not options.heldout_mirage:
        return []
    root = sources_dir(recipe.data)
    mirage_path = root / options.heldout_mirage
    abstracts_path = root / options.heldout_abstracts
    for option, path in (
        ("evaluate.heldout_mirage", mirage_path),
        ("evaluate.heldout_abstracts", abstracts_path),
    ):
        if not path.is_file():
            raise InputError(f"{option}: file not found: {path} (empty: no second held-out set)")
    abstracts = _abstracts(abstracts_path)
    trained = {item.pmid for item in load_pqal(root / recipe.data.pubmedqa)}
    items: list[dict[str, Any]] = []
    missing = 0
    for question in load_mirage(mirage_path, "pubmedqa"):
        label = question.options.get(question.answer, "").strip().lower()
        pmid = _pmid(question)
        if pmid in trained:
            continue
        raw = abstracts.get(pmid, {})
        contexts, labels = raw.get("CONTEXTS"), raw.get("LABELS")
        if not isinstance(contexts, list) or label not in LABELS:
            missing += 1
            continue
        labels = labels if isinstance(labels, list) else []
        abstract = labelled_abstract([str(c) for c in contexts], [str(x) for x in labels])
        example = Example(
            id=f"{HELDOUT_SET}:{pmid}",
            source="pubmedqa",
            question=question.question,
            sources=[(f"PubMed {pmid}", abstract)],
            answer=f"{label.capitalize()}.",
            label=label,
            meta={"pmid": pmid},
        )
        record = render(example, tokenizer, recipe)
        if not record["n_sources"]:
            missing += 1  # the abstract does not fit the prompt's budget
            continue
        items.append({**record, "question": question.question, "set": HELDOUT_SET})
    if missing:
        logger.info("%d MIRAGE PubMedQA questions left out: no abstract, label or room", missing)
    if not items:
        raise InputError(
            f"evaluate.heldout_mirage: no PubMedQA question of {mirage_path} has its abstract "
            f"in {abstracts_path}"
        )
    return items
