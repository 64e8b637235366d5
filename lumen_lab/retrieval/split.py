"""Which MedQuAD documents no model may train on: the dev split and the benchmark's recall pairs.

The dev split is a fixed share of MedQuAD documents chosen by a salted hash of the document id
(stable across machines and file locations). The benchmark's 200 recall pairs are drawn by
``bench/bench_core.py`` with ``random.Random(0)`` from the sorted pair keys; the keys were
``(file name, qid)`` and are now ``(path relative to medquad/, qid)`` (a fix), so both
draws are held out.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from lumen.ingest.loaders.medquad import QAPair, iter_qa_pairs, parse_file

DEV_SALT = "lumen-consumer-dev-v1"
DEV_SHARE = 0.05
BENCH_SAMPLE = 200
BENCH_SEED = 0


def in_dev_split(doc_id: str, *, share: float = DEV_SHARE, salt: str = DEV_SALT) -> bool:
    """Whether the document ``doc_id`` belongs to the held-out dev split."""
    digest = hashlib.sha256(f"{salt}:{doc_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share


def folders_by_publisher(medquad_dir: Path) -> dict[str, str]:
    """Publisher name to its collection folder (path relative to ``medquad_dir``)."""
    folders: dict[str, str] = {}
    for folder in sorted(p for p in medquad_dir.iterdir() if p.is_dir()):
        for path in sorted(folder.rglob("*.xml")):
            try:
                parsed = parse_file(path)
            except ValueError:
                continue
            folders.setdefault(parsed.publisher, path.parent.relative_to(medquad_dir).as_posix())
            break
    return folders


def benchmark_pairs(
    pairs: Iterable[QAPair],
    medquad_dir: Path,
    *,
    sample: int = BENCH_SAMPLE,
    keyings: tuple[str, ...] = ("file", "path"),
) -> list[QAPair]:
    """The benchmark's recall pairs drawn under the given keyings, without duplicates.

    ``file`` keys pairs by (file name, qid), as the benchmark did; ``path`` by (path relative
    to the MedQuAD folder, qid), as the fixed benchmark does.
    """
    every = list(pairs)
    folders = folders_by_publisher(medquad_dir)

    def relative(pair: QAPair) -> str:
        if pair.relative_path:
            return pair.relative_path
        publisher = pair.doc_id.removeprefix("medquad:").rsplit("/", 1)[0]
        return f"{folders.get(publisher, publisher)}/{pair.file_name}"

    chosen: dict[tuple[str, str], QAPair] = {}
    old = {(p.file_name, p.qid): p for p in every}
    new = {(relative(p), p.qid): p for p in every}
    for keyed in [k for name, k in (("file", old), ("path", new)) if name in keyings]:
        keys = sorted(keyed)
        for key in random.Random(BENCH_SEED).sample(keys, min(sample, len(keys))):
            pair = keyed[key]
            chosen[(pair.doc_id, pair.qid)] = pair
    return list(chosen.values())


@dataclass(frozen=True)
class HeldOut:
    """Documents (by id) and pages (by URL) that training must not see."""

    doc_ids: frozenset[str]
    urls: frozenset[str]

    def excludes(self, pair: QAPair) -> bool:
        """Whether ``pair`` comes from a held-out document or page."""
        return pair.doc_id in self.doc_ids or pair.url in self.urls


def held_out(
    medquad_dir: Path, *, share: float = DEV_SHARE, pairs: Iterable[QAPair] | None = None
) -> HeldOut:
    """The dev split's documents plus the benchmark pairs' documents.

    ``pairs``: every QA pair of ``medquad_dir`` when the caller has read them already.
    """
    pairs = list(iter_qa_pairs(medquad_dir) if pairs is None else pairs)
    kept = [p for p in pairs if in_dev_split(p.doc_id, share=share)]
    kept.extend(benchmark_pairs(pairs, medquad_dir))
    return HeldOut(frozenset(p.doc_id for p in kept), frozenset(p.url for p in kept if p.url))
