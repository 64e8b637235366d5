"""Small real corpora copied from the shared data, so that tests index in seconds."""

from __future__ import annotations

import shutil
from pathlib import Path

# NIHSeniorHealth documents, glaucoma (0000027) among them.
SENIOR_HEALTH_FILES = [f"00000{n}.xml" for n in (27, 28, 29, 32, 33, 34, 35, 36, 38, 39, 40, 42)]
DRUG_LABELS = ["abacavir.json", "warfarin.json", "metformin.json", "lisinopril.json"]


def medquad_subset(shared: Path, target: Path) -> Path:
    """A MedQuAD-shaped folder with a dozen NIHSeniorHealth documents."""
    folder = target / "medquad" / "7_SeniorHealth_QA"
    folder.mkdir(parents=True, exist_ok=True)
    for name in SENIOR_HEALTH_FILES:
        source = shared / "medquad" / "7_SeniorHealth_QA" / name
        if source.exists():
            shutil.copy(source, folder / name)
    return target / "medquad"


def drug_subset(shared: Path, target: Path) -> Path:
    """A few openFDA labels (whichever of DRUG_LABELS exist in either shape)."""
    folder = target / "drugs"
    folder.mkdir(parents=True, exist_ok=True)
    for name in DRUG_LABELS:
        for shape in ("openfda_labels", "openfda_raw"):
            source = shared / "drugs" / shape / name
            if source.exists():
                shutil.copy(source, folder / f"{shape}-{name}")
    return folder


def glaucoma_subset(shared: Path, target: Path) -> Path:
    """A MedQuAD-shaped folder with every document that mentions glaucoma (about 130).

    Many are rare-disease pages that list glaucoma among their signs, with their questions
    written into their answers: the distractors of the README's question.
    """
    root = target / "medquad"
    for source in sorted((shared / "medquad").glob("*/*.xml")):
        if "glaucoma" in source.read_text(encoding="utf-8", errors="ignore").lower():
            folder = root / source.parent.name
            folder.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, folder / source.name)
    return root
