"""The reranker recipe on a handful of groups: seeded, checkpointed, resumable, loadable."""

from __future__ import annotations

from pathlib import Path

import pytest

from lumen.errors import InputError
from lumen_lab.rerank.config import RerankConfig, load_config
from lumen_lab.rerank.data import Group, read_groups, write_groups
from lumen_lab.rerank.train import CHECKPOINT, GROUPS, SUMMARY, WEIGHTS, load_trained, train

torch = pytest.importorskip("torch")

GROUPS_DATA = [
    Group(
        "What are the symptoms of glaucoma?",
        "Glaucoma - symptoms\nAt first, open-angle glaucoma has no symptoms. Without treatment, "
        "people with glaucoma slowly lose their side vision.",
        ("Metformin - dosage\nThe usual starting dose is 500 mg twice a day with meals.",),
        "medquad:a",
    ),
    Group(
        "How is metformin taken?",
        "Metformin - dosage\nThe usual starting dose is 500 mg twice a day with meals.",
        ("Glaucoma - treatment\nEye drops lower the pressure in the eye.",),
        "medquad:b",
    ),
    Group(
        "What causes high blood pressure?",
        "High blood pressure - causes\nBeing overweight and eating too much salt raise it.",
        ("Asthma - symptoms\nWheezing, coughing and chest tightness are common.",),
        "medquad:c",
    ),
    Group(
        "What are the signs of asthma?",
        "Asthma - symptoms\nWheezing, coughing and chest tightness are common.",
        ("High blood pressure - causes\nBeing overweight and eating too much salt raise it.",),
        "medquad:d",
    ),
]


def _config() -> RerankConfig:
    options = ["layers=1", "max_tokens=48", "negatives=1", "batch_questions=2"]
    return load_config([*options, "checkpoint_every=1", "threads=1", "seed=5"])


def _folder(tmp_path: Path, name: str) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    write_groups(GROUPS_DATA, folder / GROUPS)
    return folder


class Interrupted(Exception):
    pass


def test_an_interrupted_run_resumes_to_the_same_weights(tmp_path: Path) -> None:
    config = _config()
    whole = _folder(tmp_path, "whole")
    train(config, whole)
    assert (whole / WEIGHTS).is_file()
    assert (whole / SUMMARY).is_file()
    assert read_groups(whole / GROUPS) == GROUPS_DATA

    broken = _folder(tmp_path, "broken")

    def stop_after_first(step: int, total: int, loss: float) -> None:
        assert total == 2
        if step == 1:
            raise Interrupted

    with pytest.raises(Interrupted):
        train(config, broken, progress=stop_after_first)
    assert (broken / CHECKPOINT).is_file()
    assert not (broken / WEIGHTS).exists()
    train(config, broken, resume=True)

    expected = load_trained(whole, config).state_dict()
    got = load_trained(broken, config).state_dict()
    assert expected.keys() == got.keys()
    assert all(torch.equal(expected[name], got[name]) for name in expected)


def test_resuming_with_other_options_is_refused(tmp_path: Path) -> None:
    folder = _folder(tmp_path, "run")
    train(_config(), folder)
    other = load_config(["layers=1", "max_tokens=48", "negatives=1", "seed=6"])
    with pytest.raises(InputError, match="other options"):
        train(other, folder, resume=True)


@pytest.mark.parametrize("option", ["layers=9", "nope=1", "layers=two", "learning_rate"])
def test_bad_options_are_named(option: str) -> None:
    with pytest.raises(InputError):
        load_config([option])
