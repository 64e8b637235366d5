from __future__ import annotations

import binascii
import itertools
import json
import math
import os
import subprocess
import sys

import pytest

from lumen.components.embedding.bm25 import ENGLISH_STOPWORDS, Bm25Encoder, stem, term_id

TEXT = "Metformin lowers HbA1c in type-2 diabetes; COVID-19 patients' glucose must be checked."


def test_term_id_is_crc32_of_utf8() -> None:
    for term in ("diabet", "hba1c", "covid19", "sjogren", "\u03b2"):
        assert term_id(term) == binascii.crc32(term.encode("utf-8"))
        assert 0 <= term_id(term) < 2**32


def test_ids_stable_across_processes() -> None:
    code = (
        "import json, sys;"
        "from lumen.components.embedding.bm25 import Bm25Encoder;"
        "v = Bm25Encoder().encode_document(sys.argv[1]);"
        "print(json.dumps([v.indices, v.values]))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run(
        [sys.executable, "-c", code, TEXT], capture_output=True, text=True, env=env, check=True
    ).stdout
    indices, values = json.loads(out)
    here = Bm25Encoder().encode_document(TEXT)
    assert indices == here.indices
    assert values == pytest.approx(here.values)


def test_tokens_drop_stopwords_and_stem() -> None:
    enc = Bm25Encoder()
    assert enc.tokens("The patient is in the hospital") == ["patient", "hospit"]
    assert enc.tokens("What are the symptoms of diabetes?") == ["symptom", "diabet"]
    assert not set(enc.tokens("and the of to with which")) & ENGLISH_STOPWORDS
    assert enc.tokens("") == []
    # Negations carry meaning in clinical questions and are kept.
    assert "not" in enc.tokens("do not take with alcohol")


def test_tokens_medical_forms() -> None:
    enc = Bm25Encoder()
    assert enc.tokens("HbA1c") == ["hba1c"]
    assert enc.tokens("COVID-19") == ["covid", "19", "covid19"]
    assert enc.tokens("Sjögren's syndrome") == ["sjogren", "syndrom"]
    assert enc.tokens("vitamin B12 and vitamin D") == ["vitamin", "b12", "vitamin", "d"]
    assert enc.tokens("500 mg twice_daily") == ["500", "mg", "twice", "daili"]
    # Inflections meet at one stem.
    assert len({stem(w) for w in ("infection", "infections", "infected")}) == 1
    assert len({stem(w) for w in ("vaccines", "vaccinated", "vaccine")}) == 1


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("caresses", "caress"),
        ("ponies", "poni"),
        ("ties", "tie"),
        ("running", "run"),
        ("hoped", "hope"),
        ("generalization", "general"),
        ("relational", "relat"),
        ("hopeful", "hope"),
        ("adjustment", "adjust"),
        ("viruses", "virus"),
        ("kidneys", "kidney"),
        ("news", "news"),
        ("gas", "gas"),
        ("x", "x"),
        ("hba1c", "hba1c"),
    ],
)
def test_stem(word: str, expected: str) -> None:
    assert stem(word) == expected


def test_document_weight_formula() -> None:
    enc = Bm25Encoder(k1=1.2, b=0.75, avg_doc_len=4)
    vec = enc.encode_document("insulin insulin glucose pump pump pump")
    weights = dict(zip(vec.indices, vec.values, strict=True))
    norm = 1.2 * (1 - 0.75 + 0.75 * 6 / 4)
    for term, tf in (("insulin", 2), ("glucos", 1), ("pump", 3)):
        assert weights[term_id(term)] == pytest.approx(tf * 2.2 / (tf + norm))
    assert vec.indices == sorted(vec.indices)


def test_tf_saturates() -> None:
    enc = Bm25Encoder(b=0.0)  # no length normalisation: only tf varies
    weights = [enc.encode_document(" ".join(["insulin"] * tf)).values[0] for tf in (1, 2, 4, 8, 64)]
    assert weights == sorted(weights)
    gains = [b - a for a, b in itertools.pairwise(weights)]
    assert gains[0] > gains[1] > gains[2]
    assert weights[-1] < enc.k1 + 1


def test_longer_documents_weigh_less() -> None:
    enc = Bm25Encoder()
    short = enc.encode_document("insulin pump")
    long = enc.encode_document("insulin " + " ".join(f"word{i}" for i in range(300)))
    idx = term_id("insulin")
    w_short = dict(zip(short.indices, short.values, strict=True))[idx]
    w_long = dict(zip(long.indices, long.values, strict=True))[idx]
    assert w_long < w_short


def test_query_weights_are_one_per_unique_term() -> None:
    vec = Bm25Encoder().encode_query("insulin INSULIN pump for the insulin")
    assert vec.values == [1.0, 1.0]
    assert vec.indices == sorted([term_id("insulin"), term_id("pump")])
    assert Bm25Encoder().encode_query("the of and").indices == []


def test_deterministic_and_finite() -> None:
    enc = Bm25Encoder()
    a, b = enc.encode_document(TEXT), enc.encode_document(TEXT)
    assert a == b
    assert all(math.isfinite(v) and v > 0 for v in a.values)
    assert enc.encode_documents([TEXT, ""]) == [a, enc.encode_document("")]


@pytest.mark.parametrize("kwargs", [{"k1": -1.0}, {"b": 1.5}, {"avg_doc_len": 0.0}])
def test_invalid_parameters(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must be"):
        Bm25Encoder(**kwargs)
