"""A reduced MedQuAD folder for retrieval work on a busy machine: the judged pages plus others.

Indexing all of MedQuAD (36k chunks) takes 15 minutes on two idle cores. This copies the files
of the documents that queries are judged against (dev set and benchmark pairs) and a seeded
sample of other documents (the distractors, and the reranker's training documents) into a
MedQuAD-shaped folder that ``lumen ingest medquad --path`` reads. Figures on it are not those of
the full index: fewer distractors make retrieval easier.
"""

from __future__ import annotations

import random
import shutil
from collections.abc import Iterable
from pathlib import Path

from lumen_lab.retrieval.split import folders_by_publisher


def document_file(medquad_dir: Path, doc_id: str, folders: dict[str, str]) -> Path | None:
    """The XML file of ``medquad:<publisher>/<stem>``, if it is there."""
    publisher, _, stem = doc_id.removeprefix("medquad:").rpartition("/")
    folder = folders.get(publisher)
    path = medquad_dir / folder / f"{stem}.xml" if folder else None
    return path if path is not None and path.is_file() else None


def reduced_corpus(
    medquad_dir: Path, target: Path, keep: Iterable[str], *, others: int, seed: int = 7
) -> list[str]:
    """Copy the documents ``keep`` and ``others`` sampled others into ``target``; their ids."""
    folders = folders_by_publisher(medquad_dir)
    wanted = set(keep)
    files = sorted(medquad_dir.glob("*/*.xml"))
    by_folder = {v: k for k, v in folders.items()}
    every = [f"medquad:{by_folder.get(f.parent.name, f.parent.name)}/{f.stem}" for f in files]
    rest = sorted(set(every) - wanted)
    chosen = sorted(wanted | set(random.Random(seed).sample(rest, min(others, len(rest)))))
    copied = []
    for doc_id in chosen:
        source = document_file(medquad_dir, doc_id, folders)
        if source is None:
            continue
        folder = target / source.parent.name
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, folder / source.name)
        copied.append(doc_id)
    return copied
