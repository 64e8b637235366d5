"""The model-file format and its numerics match scikit-learn."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lumen.safety.classifier import LinearModel, Tfidf, TriageModel, default_model_path

TEXTS = [
    "How can I kill a Python process?",
    "I want to kill myself",
    "what are the side effects of metformin metformin",
    "My chest hurts and I can't breathe",
    "side effects of statins",
    "kill the process",
]


def test_tfidf_matches_scikit_learn() -> None:
    sklearn_text = pytest.importorskip("sklearn.feature_extraction.text")
    ours = Tfidf.fit(TEXTS, min_df=1)
    theirs = sklearn_text.TfidfVectorizer(sublinear_tf=True, min_df=1).fit(TEXTS)
    assert list(ours.vocabulary) == list(theirs.get_feature_names_out())
    np.testing.assert_allclose(ours.transform(TEXTS), theirs.transform(TEXTS).toarray(), atol=1e-9)


def test_linear_model_matches_scikit_learn() -> None:
    linear_model = pytest.importorskip("sklearn.linear_model")
    rng = np.random.default_rng(0)
    features = rng.normal(size=(60, 5))
    labels = np.array(["a", "b", "c"])[rng.integers(0, 3, size=60)]
    fitted = linear_model.LogisticRegression(max_iter=1000).fit(features, labels)
    ours = LinearModel(tuple(fitted.classes_), fitted.coef_, fitted.intercept_)
    np.testing.assert_allclose(ours.predict_proba(features), fitted.predict_proba(features))


def test_shipped_model_round_trips(tmp_path: Path) -> None:
    model = TriageModel.load(default_model_path())
    assert model.embedding_dim == 384
    assert model.training["data_hashes"]
    assert set(model.subtypes) == {"crisis", "emergency", "harmful"}
    copy = tmp_path / "copy.json"
    model.save(copy)
    again = TriageModel.load(copy)
    np.testing.assert_allclose(again.main.coef, model.main.coef)
    assert again.thresholds == model.thresholds
    assert default_model_path().stat().st_size < 400_000
