"""The verifier's training data: held-out splits stay held out, test abstracts stay unread."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

from lumen_lab.verifier.data import (
    _CLAUSE_TEMPLATES,
    _CLAUSES,
    TEST_FILE_NAME,
    add_clause,
    build_dataset,
    check_not_test,
    invent_clause,
    medquad_pairs,
    negate,
    overstate,
    readable_mesh,
    swap_direction,
    swap_entity,
    swap_number,
)

_OPENED: list[str] = []
_RECORDING: list[bool] = [False]


def _audit(event: str, args: tuple[object, ...]) -> None:
    if event == "open" and _RECORDING[0] and args and isinstance(args[0], (str, Path)):
        _OPENED.append(str(args[0]))


sys.addaudithook(_audit)  # audit hooks cannot be removed: it records only while asked to


@pytest.fixture(scope="module")
def dataset(shared_data: Path, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    _OPENED.clear()
    _RECORDING[0] = True
    try:
        return build_dataset(
            shared_data,
            tmp_path_factory.mktemp("cache"),
            seed=13,
            dev=100,
            validation=50,
            medquad_docs=0,
            llm_items=0,
        )
    finally:
        _RECORDING[0] = False


def test_the_test_abstracts_are_never_opened(dataset, shared_data: Path) -> None:  # type: ignore[no-untyped-def]
    assert any(p.endswith("pqal_dev.json") for p in _OPENED)
    assert not any(Path(p).name == TEST_FILE_NAME for p in _OPENED)
    with pytest.raises(ValueError, match="held-out test"):
        check_not_test(shared_data / "pubmedqa" / TEST_FILE_NAME)


def test_splits_are_disjoint_and_pairs_stay_in_their_split(dataset) -> None:  # type: ignore[no-untyped-def]
    train, validation, dev = (
        set(dataset.splits.train),
        set(dataset.splits.validation),
        set(dataset.splits.dev),
    )
    assert (len(dev), len(validation), len(train)) == (100, 50, 350)
    assert not (train & dev)
    assert not (train & validation)
    assert not (dev & validation)
    assert {p.group for p in dataset.train} <= train
    assert {p.group for p in dataset.validation} <= validation
    assert {p.group for p in dataset.dev} <= dev
    # a dev abstract's text never appears as training evidence
    dev_evidence = {p.evidence for p in dataset.dev}
    assert not dev_evidence & {p.evidence for p in dataset.train}


def test_every_split_has_positives_and_realistic_negatives(dataset) -> None:  # type: ignore[no-untyped-def]
    for pairs in (dataset.train, dataset.validation, dataset.dev):
        kinds = {p.kind for p in pairs}
        assert {"true_sentence", "verdict_flip", "other_abstract", "added_clause"} <= kinds
        assert {p.label for p in pairs} == {0, 1}


def test_rewrites_change_the_claim() -> None:
    rng = random.Random(0)
    assert negate("Statins reduce mortality.") != "Statins reduce mortality."
    assert negate("The drug was not effective.") == "The drug was effective."
    assert swap_direction("Mortality increased after surgery.") == (
        "Mortality decreased after surgery."
    )
    assert swap_number("Mortality was 12% after surgery.", rng) != (
        "Mortality was 12% after surgery."
    )
    assert overstate("Smoking may be associated with ulcers.") == "Smoking causes ulcers."
    assert add_clause("Statins reduce mortality.", rng).startswith("Statins reduce mortality, ")


def test_an_entity_swap_names_another_subject() -> None:
    rng = random.Random(0)
    own = frozenset({"laparoscopy", "cholecystectomy"})
    swapped = swap_entity(
        "Laparoscopy shortens the stay after cholecystectomy.", own, ["appendectomy"], rng
    )
    assert swapped == "Laparoscopy shortens the stay after appendectomy."
    # nothing of its own named, or nothing else to name: unchanged
    assert swap_entity("Surgery helps.", own, ["appendectomy"], rng) == "Surgery helps."
    assert swap_entity("Laparoscopy helps.", own, ["laparoscopy"], rng) == "Laparoscopy helps."


def test_training_clauses_never_use_the_held_out_phrasing() -> None:
    rng = random.Random(0)
    assert readable_mesh("diabetes mellitus, type 2") == "type 2 diabetes mellitus"
    invented = invent_clause("Statins reduce mortality.", ["oxidative stress"], rng)
    assert invented.startswith("Statins reduce mortality")
    assert "oxidative stress" in invented
    connectors = {t.split("{}")[0].strip(" ,") for t in _CLAUSE_TEMPLATES}
    assert not any(c and c in clause for c in connectors for clause in _CLAUSES)


def test_training_clauses_differ_from_dev_clauses(dataset) -> None:  # type: ignore[no-untyped-def]
    def fixed_share(pairs) -> float:  # type: ignore[no-untyped-def]
        added = [p.sentence for p in pairs if p.kind == "added_clause"]
        return sum(any(s.endswith(f"{c}.") for c in _CLAUSES) for s in added) / len(added)

    assert fixed_share(dataset.dev) == 1.0
    assert fixed_share(dataset.validation) == 1.0
    assert fixed_share(dataset.train) < 0.1
    assert any(p.kind == "entity_swap" for p in dataset.train)
    assert any(p.kind == "entity_swap" for p in dataset.dev)


def test_medquad_pairs_leave_out_the_benchmark_and_dev_documents(shared_data: Path) -> None:
    from lumen_lab.retrieval.split import held_out

    excluded = held_out(shared_data / "medquad")
    groups = {p.group for p in medquad_pairs(shared_data, seed=13, count=400)}
    assert len(groups) == 400
    assert not groups & excluded.doc_ids
