"""The verifier lab: training batches, the ranking loss, and install refusing a bad export."""

from __future__ import annotations

from pathlib import Path

import pytest

from lumen_lab.verifier.data import Pair
from lumen_lab.verifier.train import TrainConfig, _group_batches, ranking_loss

torch = pytest.importorskip("torch")


def _pairs() -> list[Pair]:
    return [
        Pair(f"s{g}{i}", f"e{g}", int(i == 0), "k", f"g{g}")
        for g in range(6)
        for i in range(3 + g % 3)
    ]


def test_group_batches_keep_an_abstracts_pairs_together() -> None:
    pairs = _pairs()
    config = TrainConfig(data_dir=Path("."), out_dir=Path("."), batch_size=8, rank_weight=1.0)
    batches = _group_batches(pairs, config, 0)
    assert sorted(i for b in batches for i in b) == list(range(len(pairs)))
    assert all(len(b) <= 8 for b in batches)
    for group in {p.group for p in pairs}:
        holding = [b for b in batches if any(pairs[i].group == group for i in b)]
        assert len(holding) == 1
    assert batches == _group_batches(pairs, config, 0)
    assert batches != _group_batches(pairs, config, 1)


def test_ranking_loss_compares_pairs_of_one_abstract_only() -> None:
    labels = torch.tensor([1.0, 0.0, 1.0, 0.0])
    groups = ["a", "a", "b", "b"]
    ordered = torch.tensor([5.0, -5.0, 5.0, -5.0])
    reversed_ = torch.tensor([-5.0, 5.0, -5.0, 5.0])
    assert float(ranking_loss(ordered, labels, groups)) < 0.01
    assert float(ranking_loss(reversed_, labels, groups)) > 10
    # a positive of one abstract is never compared with a negative of another
    across = torch.tensor([5.0, -5.0, -6.0, -7.0])
    assert float(ranking_loss(across, labels, groups)) < 0.7
    alone = ["a", "b", "c", "d"]
    assert float(ranking_loss(ordered, torch.tensor([1.0, 1.0, 0.0, 0.0]), alone)) == 0


def test_install_refuses_an_export_that_is_not_a_verifier(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from lumen_lab.verifier.cli import verifier_app

    (tmp_path / "export").mkdir()
    (tmp_path / "export" / "manifest.json").write_text("{}", encoding="utf-8")
    result = CliRunner().invoke(verifier_app, ["install", "--model", str(tmp_path / "export")])
    assert result.exit_code == 2
    assert "not a Lumen entailment verifier manifest" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
