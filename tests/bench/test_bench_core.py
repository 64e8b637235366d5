from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from lumen.ingest.loaders.medquad import iter_qa_pairs

BENCH = Path(__file__).resolve().parents[2] / "bench" / "bench_core.py"


@pytest.fixture(scope="module")
def bench_core() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_core", BENCH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_recall_pairs_keep_every_pair_keyed_by_path(
    bench_core: ModuleType, shared_data: Path
) -> None:
    medquad = shared_data / "medquad"
    loaded = list(iter_qa_pairs(medquad))
    pairs = bench_core.recall_pairs(medquad)
    # Bare file names recur across collections: keying by them lost a quarter of the pairs.
    assert len(pairs) == len(loaded)
    assert len({p.file_name for p in loaded}) < len({p.relative_path for p in loaded})
    keys = list(pairs)
    assert keys == sorted(keys)
    assert all("/" in path and (medquad / path).is_file() for path, _ in keys)


def test_recall_sample_is_fixed_and_spans_collections(
    bench_core: ModuleType, shared_data: Path
) -> None:
    medquad = shared_data / "medquad"
    first = bench_core.sample_recall_pairs(medquad, 200)
    again = bench_core.sample_recall_pairs(medquad, 200)
    assert [(p.relative_path, p.qid) for p in first] == [(p.relative_path, p.qid) for p in again]
    assert len({(p.relative_path, p.qid) for p in first}) == 200
    collections = {p.relative_path.split("/")[0] for p in first}
    assert len(collections) >= 5
