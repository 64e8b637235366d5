from lumen.rag.retrieve import reciprocal_rank_fusion


def test_rrf_sums_reciprocal_ranks() -> None:
    scores = reciprocal_rank_fusion([["a", "b", "c"], ["b", "c", "d"]], k=60)
    assert scores["a"] == 1 / 61
    assert scores["b"] == 1 / 62 + 1 / 61
    assert scores["d"] == 1 / 63
    assert max(scores, key=lambda item: scores[item]) == "b"


def test_rrf_weights_scale_each_ranking() -> None:
    scores = reciprocal_rank_fusion([["a"], ["b"]], k=1, weights=[2.0, 1.0])
    assert scores == {"a": 1.0, "b": 0.5}


def test_rrf_of_nothing_is_empty() -> None:
    assert reciprocal_rank_fusion([[], []]) == {}
