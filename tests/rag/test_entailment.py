"""The entailment verifier: its ONNX export, failing closed, and the Verifier's use of it.

Planted hallucinations (negation, number, direction, added clause, unrelated sentence) are
checked against a *trained* verifier: the one shipped in ``lumen/models/verifier`` (``lumen lab
verifier install``) or the folder named by ``LUMEN_TEST_VERIFIER_DIR``.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from lumen.components.embedding.bm25 import Bm25Encoder
from lumen.rag.entailment import (
    MANIFEST_FILE,
    MODEL_FILE,
    TOKENIZER_FILE,
    EntailmentModel,
    VerifierModelError,
    default_model_dir,
    manifest_checksum,
    select_evidence,
)
from lumen.rag.verify import Verifier, content_terms

from .helpers import GLAUCOMA, METFORMIN, retrieved

# A made-up trial report, written for this test (no benchmark text).
TRIAL = retrieved(
    "trial",
    "We randomised 240 adults with type 2 diabetes to metformin or placebo for 12 months. "
    "HbA1c decreased by 1.1% in the metformin group and by 0.1% in the placebo group "
    "(p<0.001). Body weight did not differ between the groups. Gastrointestinal side effects "
    "were more common with metformin (18% vs 6%).",
    title="Metformin trial",
)
TRUE = "HbA1c decreased more with metformin than with placebo."
STATED = "HbA1c decreased by 1.1% in the metformin group and by 0.1% in the placebo group."
PLANTED = [
    ("negation", "HbA1c did not decrease with metformin compared with placebo."),
    ("number", "HbA1c decreased by 3.5% in the metformin group."),
    ("direction", "HbA1c increased more with metformin than with placebo."),
    (
        "added clause",
        "HbA1c decreased more with metformin than with placebo, because metformin reduces "
        "inflammation in the liver.",
    ),
    ("unrelated", "Glaucoma is treated with eye drops that lower the pressure in the eye."),
]


def _with_threshold(folder: Path, target: Path, threshold: float) -> Path:
    shutil.copytree(folder, target)
    manifest = json.loads((target / MANIFEST_FILE).read_text(encoding="utf-8"))
    manifest["threshold"] = threshold
    manifest["checksum"] = manifest_checksum(manifest)
    (target / MANIFEST_FILE).write_text(json.dumps(manifest), encoding="utf-8")
    return target


def test_onnx_export_matches_pytorch(verifier_export: tuple[Path, Path]) -> None:
    from lumen_lab.verifier.export import torch_logits

    final, out = verifier_export
    pairs = [
        ("HbA1c decreased with metformin.", TRIAL.chunk.text),
        ("Glaucoma is treated with eye drops.", GLAUCOMA.chunk.text),
        ("The starting dose is 500 mg.", METFORMIN.chunk.text),
        ("HbA1c increased with metformin.", TRIAL.chunk.text),
        ("Aspirin cures glaucoma.", GLAUCOMA.chunk.text),
    ]
    onnx = EntailmentModel(out).logits(pairs)
    reference = torch_logits(final, pairs, 256)
    assert float(np.std(reference)) > 0.05  # the pairs get different logits
    # int8 (MatMul but the feed-forward outputs, and the embedding table) against float32:
    # close, and in the same order
    spread = float(np.ptp(reference))
    assert float(np.max(np.abs(onnx - reference))) < 0.05 + 0.15 * spread
    assert np.corrcoef(onnx, reference)[0, 1] > 0.97
    assert (out / MODEL_FILE).stat().st_size < 40_000_000  # mostly int8, embeddings included


def test_scores_are_the_models_probabilities_over_selected_evidence(  # type: ignore[no-untyped-def]
    verifier_export, embedder
) -> None:
    model = EntailmentModel(verifier_export[1])
    verifier = Verifier(embedder, Bm25Encoder(), entailment=model)
    assert verifier.scorer == "entailment"
    assert verifier.threshold == 0.5
    evidence = verifier.gather(embedder.embed(["Does metformin lower HbA1c?"])[0], [TRIAL])
    checked = verifier.check(f"{TRUE} {PLANTED[4][1]}", evidence)
    bm25 = Bm25Encoder()
    for sentence, result in zip([TRUE, PLANTED[4][1]], checked, strict=True):
        passage = select_evidence(
            content_terms(bm25, sentence),
            evidence.sentences,
            [content_terms(bm25, s) for s in evidence.sentences],
        )
        expected = float(model.probabilities([(sentence, passage)])[0])
        assert result.score == pytest.approx(expected, abs=1e-5)
        assert result.supported == (expected >= 0.5)


def test_citations_only_to_chunks_at_the_threshold(  # type: ignore[no-untyped-def]
    verifier_export, embedder, tmp_path: Path
) -> None:
    chunks = [TRIAL, METFORMIN, GLAUCOMA]
    query = embedder.embed(["Does metformin lower HbA1c?"])[0]
    everything = Verifier(
        embedder,
        Bm25Encoder(),
        entailment=EntailmentModel(_with_threshold(verifier_export[1], tmp_path / "a", 0.0)),
    )
    checked = everything.check(TRUE, everything.gather(query, chunks))
    assert checked[0].supported
    assert len(checked[0].supports) == 2  # the two closest chunks were read, both pass 0.0
    assert checked[0].supports[0].chunk_index == 0  # the trial is the closest
    nothing = Verifier(
        embedder,
        Bm25Encoder(),
        entailment=EntailmentModel(_with_threshold(verifier_export[1], tmp_path / "b", 1.0)),
    )
    checked = nothing.check(TRUE, nothing.gather(query, chunks))
    assert not checked[0].supported
    assert checked[0].supports == ()
    assert checked[0].reason == "not entailed by the sources"
    assert checked[0].score > 0.0


def test_non_claims_are_never_supported(verifier_export, embedder, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    model = EntailmentModel(_with_threshold(verifier_export[1], tmp_path / "a", 0.0))
    verifier = Verifier(embedder, Bm25Encoder(), entailment=model)
    evidence = verifier.gather(embedder.embed(["Does metformin lower HbA1c?"])[0], [TRIAL])
    checked = verifier.check(
        f"The effect of metformin on HbA1c is not mentioned in the source. Yes. {TRUE} {TRUE}",
        evidence,
    )
    assert [c.supported for c in checked] == [False, False, True, False]
    assert checked[3].reason == "repeats an earlier sentence"


def test_select_evidence_keeps_the_claims_sentences_in_order() -> None:
    sentences = ["a b.", "c d.", "a c e.", "f g."]
    terms = [frozenset(s.strip(".").split()) for s in sentences]
    assert select_evidence(frozenset({"a", "c"}), sentences, terms, k=2) == "a b. a c e."


def _copy(folder: Path, tmp_path: Path) -> Path:
    target = tmp_path / "verifier"
    shutil.copytree(folder, target)
    return target


def test_fails_closed_on_a_missing_or_altered_model(verifier_export, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = _copy(verifier_export[1], tmp_path / "missing")
    (folder / MODEL_FILE).unlink()
    with pytest.raises(VerifierModelError, match="missing"):
        EntailmentModel(folder)
    folder = _copy(verifier_export[1], tmp_path / "altered")
    data = bytearray((folder / MODEL_FILE).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (folder / MODEL_FILE).write_bytes(bytes(data))
    with pytest.raises(VerifierModelError, match="checksum"):
        EntailmentModel(folder)
    with pytest.raises(VerifierModelError, match="no entailment verifier"):
        EntailmentModel(tmp_path / "nowhere")


def test_fails_closed_on_an_altered_tokenizer_or_manifest(verifier_export, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = _copy(verifier_export[1], tmp_path / "tokenizer")
    (folder / TOKENIZER_FILE).write_text("{}", encoding="utf-8")
    with pytest.raises(VerifierModelError, match="checksum"):
        EntailmentModel(folder)
    folder = _copy(verifier_export[1], tmp_path / "manifest")
    manifest = json.loads((folder / MANIFEST_FILE).read_text(encoding="utf-8"))
    manifest["threshold"] = 0.01  # edited without its checksum
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(VerifierModelError, match="manifest"):
        EntailmentModel(folder)
    (folder / MANIFEST_FILE).unlink()
    with pytest.raises(VerifierModelError, match="cannot be read"):
        EntailmentModel(folder)


def test_lumen_refuses_to_answer_without_a_valid_model(  # type: ignore[no-untyped-def]
    settings_env, embedder, llm, verifier_export, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lumen.factory import build_lumen
    from lumen.settings import load_settings

    with build_lumen(load_settings(), embedder=embedder, llm=llm) as lumen:
        assert lumen.verifier.scorer == "entailment"  # the default: the shipped model
        assert lumen.verifier.threshold == EntailmentModel(default_model_dir()).threshold
    monkeypatch.setenv("LUMEN_VERIFY__MODEL", "lexical")
    with build_lumen(load_settings(), embedder=embedder, llm=llm) as lumen:
        assert lumen.verifier.scorer == "lexical"
    folder = _copy(verifier_export[1], tmp_path)
    monkeypatch.setenv("LUMEN_VERIFY__MODEL", "entailment")
    monkeypatch.setenv("LUMEN_VERIFY__MODEL_DIR", str(folder))
    with build_lumen(load_settings(), embedder=embedder, llm=llm) as lumen:
        assert lumen.verifier.scorer == "entailment"
    (folder / MODEL_FILE).write_bytes(b"not a model")
    with (
        build_lumen(load_settings(), embedder=embedder, llm=llm) as lumen,
        pytest.raises(VerifierModelError),
    ):
        _ = lumen.pipeline


def _trained_folder() -> Path:
    configured = os.environ.get("LUMEN_TEST_VERIFIER_DIR")
    folder = Path(configured) if configured else default_model_dir()
    if not (folder / MANIFEST_FILE).exists():
        pytest.skip(f"no trained entailment verifier at {folder} (docs/verifier.md)")
    return folder


@pytest.fixture(scope="module")
def trained(embedder):  # type: ignore[no-untyped-def]
    verifier = Verifier(embedder, Bm25Encoder(), entailment=EntailmentModel(_trained_folder()))
    query = embedder.embed(["Does metformin lower HbA1c in type 2 diabetes?"])[0]
    return verifier, verifier.gather(query, [TRIAL])


def test_trained_verifier_supports_what_the_source_states(trained) -> None:  # type: ignore[no-untyped-def]
    verifier, evidence = trained
    checked = verifier.check(STATED, evidence)
    assert checked[0].supported, checked[0]
    assert checked[0].supports[0].chunk_index == 0


@pytest.mark.xfail(
    strict=True,
    reason="precision first: the shipped model's threshold (10% of hallucinated validation "
    "sentences kept) misses about half of the true conclusion sentences on the dev split, this "
    "one included (P below the threshold of 0.86; docs/verifier.md)",
)
def test_trained_verifier_supports_a_paraphrased_conclusion(trained) -> None:  # type: ignore[no-untyped-def]
    verifier, evidence = trained
    checked = verifier.check(TRUE, evidence)
    assert checked[0].supported, checked[0]


@pytest.mark.parametrize(("kind", "sentence"), PLANTED)
def test_trained_verifier_rejects_planted_hallucinations(trained, kind, sentence) -> None:  # type: ignore[no-untyped-def]
    verifier, evidence = trained
    checked = verifier.check(sentence, evidence)
    assert not checked[0].supported, (kind, checked[0].score)
    assert checked[0].score < verifier.check(TRUE, evidence)[0].score


def test_a_sentence_longer_than_the_window_is_scored(verifier_export, embedder) -> None:  # type: ignore[no-untyped-def]
    verifier = Verifier(embedder, Bm25Encoder(), entailment=EntailmentModel(verifier_export[1]))
    evidence = verifier.gather(embedder.embed(["Does metformin lower HbA1c?"])[0], [TRIAL])
    long_sentence = "HbA1c decreased with metformin " + "and placebo " * 300 + "in adults."
    checked = verifier.check(long_sentence, evidence)
    assert len(checked) == 1
    assert 0.0 < checked[0].score < 1.0
