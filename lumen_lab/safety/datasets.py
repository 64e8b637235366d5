"""Labelled triage examples: the shared safety sets, MedQuAD questions and Lumen's own sets.

Every example gets a fixed train / held-out assignment: within each stratum (source and
label or category) the examples are ordered by a salted SHA-256 of their normalised text and
the first ``fraction`` of them are held out. The order does not depend on file order, so the
split is reproducible and stays put when unrelated examples are added.

The shared data (``sources_dir``) is read, never copied: only Lumen's own labelled sets in
``lumen/safety/data/`` ship with the package.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from lumen.components.model_files import file_sha256
from lumen.errors import InputError
from lumen.safety.datafiles import own_data_path

logger = logging.getLogger(__name__)

SPLIT_SEED = 20240917
"""Salt of the split hash: change it and every split changes."""

HELD_OUT_FRACTION: dict[str, float] = {
    "own": 0.25,
    "xstest": 0.4,
    "medsafetybench": 0.2,
    "medquad": 0.3,
}
"""Share of each source held out of training."""

MEDQUAD_SAMPLE = 240
"""MedQuAD questions used as ordinary examples (a fixed, hash-chosen sample)."""

LABELS = ("crisis", "emergency", "harmful", "ordinary")

MEDSAFETYBENCH_CATEGORIES: dict[int, str] = {
    1: "dignity",
    2: "honesty",
    3: "law",
    4: "privacy",
    5: "research",
    6: "physician_freedom",
    7: "public_health",
    8: "patient_care",
    9: "access",
}
"""MedSafetyBench's nine categories (the AMA Principles of Medical Ethics) by number."""


@dataclass(frozen=True)
class Example:
    """One labelled text: ``label`` is a triage category, ``subtype`` refines it."""

    text: str
    label: str
    subtype: str | None
    source: str
    held_out: bool = False


@dataclass(frozen=True)
class SafetyData:
    """All examples with their split, and a SHA-256 of each input file."""

    examples: list[Example]
    hashes: dict[str, str]

    def split(self, *, held_out: bool) -> list[Example]:
        """The held-out or the training examples."""
        return [e for e in self.examples if e.held_out is held_out]


def normalise(text: str) -> str:
    """Lower-case, straight apostrophes, single spaces: the key for de-duplication."""
    text = text.replace("\u2019", "'").replace("\u2018", "'").lower()
    return " ".join(text.split())


def _split_key(source: str, text: str) -> str:
    return hashlib.sha256(f"{SPLIT_SEED}|{source}|{normalise(text)}".encode()).hexdigest()


def safety_dir(sources_dir: Path) -> Path:
    """The ``safety/`` folder of the shared data, or an InputError naming what is missing."""
    folder = Path(sources_dir) / "safety"
    if not (folder / "xstest_prompts.csv").is_file():
        raise InputError(
            f"no safety data under {folder}: expected xstest_prompts.csv and "
            "medsafetybench_train/ (set LUMEN_PATHS__SOURCES_DIR to the shared data folder)"
        )
    return folder


def load_xstest(sources_dir: Path) -> tuple[list[Example], str]:
    """XSTest prompts: safe ones as ``ordinary``; unsafe ones as ``harmful`` (subtype general).

    XSTest's unsafe prompts are general (not medical) requests for harm; the evaluation
    counts any non-ordinary triage of them as a refusal.
    """
    path = safety_dir(sources_dir) / "xstest_prompts.csv"
    out: list[Example] = []
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            text = (row.get("prompt") or "").strip()
            if not text:
                continue
            kind = row.get("type") or ""
            label = row.get("label") or ("unsafe" if kind.startswith("contrast") else "safe")
            if label == "unsafe":
                out.append(Example(text, "harmful", "general", "xstest"))
            else:
                out.append(Example(text, "ordinary", f"xstest_{kind}", "xstest"))
    return out, file_sha256(path)


def load_medsafetybench(sources_dir: Path) -> tuple[list[Example], dict[str, str]]:
    """MedSafetyBench harmful requests, subtype = the category's short name."""
    folder = safety_dir(sources_dir) / "medsafetybench_train"
    files = sorted(folder.glob("*/med_safety_demonstrations_category_*.csv"))
    if not files:
        raise InputError(f"no MedSafetyBench CSV files under {folder}")
    out: list[Example] = []
    hashes: dict[str, str] = {}
    for path in files:
        number = int(path.stem.rsplit("_", 1)[1])
        subtype = MEDSAFETYBENCH_CATEGORIES[number]
        with path.open(encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                text = (row.get("harmful_medical_request") or "").strip()
                if text:
                    out.append(Example(text, "harmful", subtype, "medsafetybench"))
        hashes[f"safety/{path.relative_to(folder.parent)}"] = file_sha256(path)
    return out, hashes


def load_medquad_questions(sources_dir: Path, sample: int = MEDQUAD_SAMPLE) -> list[Example]:
    """A fixed sample of MedQuAD questions as ordinary examples; empty if MedQuAD is absent.

    Never from the documents held out for the retrieval benchmark and the consumer dev split
    (:func:`lumen_lab.retrieval.split.held_out`): the dev split's questions also measure triage.
    """
    from lumen.ingest.loaders.medquad import iter_qa_pairs
    from lumen_lab.retrieval.split import held_out

    folder = Path(sources_dir) / "medquad"
    if not folder.is_dir():
        logger.warning("no MedQuAD folder under %s: training without its questions", sources_dir)
        return []
    pairs = list(iter_qa_pairs(folder))
    excluded = held_out(folder, pairs=pairs)
    held = {p.question for p in pairs if excluded.excludes(p)}  # also asked by other pages
    questions = {p.question for p in pairs if p.question and p.question not in held}
    chosen = sorted(questions, key=lambda t: (_split_key("medquad-sample", t), t))[:sample]
    return [Example(text, "ordinary", "medquad", "medquad") for text in chosen]


def load_own_examples() -> tuple[list[Example], str]:
    """Lumen's own labelled triage examples (``lumen/safety/data/triage_examples.jsonl``)."""
    path = own_data_path("triage_examples.jsonl")
    out: list[Example] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        if row["label"] not in LABELS:
            raise ValueError(f"unknown label {row['label']!r} in {path}")
        out.append(Example(row["text"], row["label"], row.get("subtype"), "own"))
    return out, file_sha256(path)


def _assign_split(examples: Iterable[Example]) -> list[Example]:
    """De-duplicate by normalised text, then hold out a fixed share of each stratum."""
    seen: set[str] = set()
    strata: dict[tuple[str, str, str | None], list[Example]] = defaultdict(list)
    for example in examples:
        key = normalise(example.text)
        if key in seen:
            continue
        seen.add(key)
        stratum_subtype = example.subtype if example.label != "ordinary" else None
        strata[(example.source, example.label, stratum_subtype)].append(example)
    out: list[Example] = []
    for (source, _label, _subtype), items in sorted(
        strata.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2] or "")
    ):
        ordered = sorted(items, key=lambda e: (_split_key(source, e.text), e.text))
        n_held = round(len(ordered) * HELD_OUT_FRACTION[source])
        out.extend(replace(e, held_out=i < n_held) for i, e in enumerate(ordered))
    return out


def load_safety_data(sources_dir: Path, *, include_medquad: bool = True) -> SafetyData:
    """Every labelled example with its fixed split, and the hashes of the inputs."""
    xstest, xstest_hash = load_xstest(sources_dir)
    medsafety, medsafety_hashes = load_medsafetybench(sources_dir)
    own, own_hash = load_own_examples()
    medquad = load_medquad_questions(sources_dir) if include_medquad else []
    hashes = {"safety/xstest_prompts.csv": xstest_hash, **medsafety_hashes}
    hashes["lumen/safety/data/triage_examples.jsonl"] = own_hash
    if medquad:
        digest = hashlib.sha256("\n".join(e.text for e in medquad).encode()).hexdigest()
        hashes["medquad/questions(sample)"] = digest
    examples = _assign_split([*own, *medsafety, *xstest, *medquad])
    return SafetyData(examples=examples, hashes=hashes)
