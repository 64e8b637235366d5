"""Task, kind and metric registries."""

from __future__ import annotations

from pathlib import Path

import pytest

from lumen.errors import InputError
from lumen_lab.eval import registry


def test_builtin_tasks_are_declared() -> None:
    tasks = registry.all_tasks()
    for name in ("mirage_medqa", "mirage", "pubmedqa", "retrieval_pubmedqa", "retrieval_medquad"):
        assert name in tasks
    assert tasks["mirage_medqa"].subset == "medqa"
    assert tasks["mirage_medqa"].options["scoring"] == "loglikelihood"
    assert tasks["retrieval_medquad"].corpus is not None
    assert tasks["retrieval_medquad"].corpus[0].options == {"include_questions": False}


def test_unknown_task_suggests_the_nearest_names() -> None:
    with pytest.raises(InputError) as error:
        registry.get_task("mirage_medqaa")
    assert "did you mean 'mirage_medqa'" in str(error.value)
    with pytest.raises(InputError, match="lumen eval ls"):
        registry.get_task("zzzzzz")


def test_groups_expand_once_in_order() -> None:
    names = [s.name for s in registry.expand_tasks(["mirage_bioasq", "mirage"])]
    assert names[0] == "mirage_bioasq"
    assert len(names) == 5
    assert len(set(names)) == 5
    assert [s.name for s in registry.expand_tasks(["pubmedqa,mirage_mmlu"])] == [
        "pubmedqa",
        "mirage_mmlu",
    ]


def test_safety_hook_registered_only_with_its_module() -> None:
    spec = registry.all_tasks(include_unavailable=True)["safety"]
    assert spec.requires == "lumen_lab.safety.evaluate:run_safety_eval"
    try:
        from lumen_lab.safety.evaluate import run_safety_eval  # noqa: F401
    except ImportError:
        assert "safety" not in registry.all_tasks()
        with pytest.raises(InputError, match="not available yet"):
            registry.get_task("safety")
    else:
        assert "safety" in registry.all_tasks()
    assert registry.get_kind("safety").kind == "safety"


def test_task_files_with_defaults(tmp_path: Path) -> None:
    path = tmp_path / "custom.yaml"
    path.write_text(
        "defaults:\n  kind: multiple_choice\n  metrics: [accuracy]\n  options: {k: 2}\n"
        "tasks:\n  - name: test_custom_a\n    options: {choices: letter}\n"
        "  - name: test_custom_b\n",
        encoding="utf-8",
    )
    specs = registry.load_task_files([path], replace=True)
    assert specs[0].options == {"k": 2, "choices": "letter"}
    assert registry.get_task("test_custom_b").metrics == ["accuracy"]
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: Bad Name\nkind: retrieval\n", encoding="utf-8")
    with pytest.raises(ValueError, match="field name"):
        registry.load_task_files([bad])


def test_unknown_metric_suggests() -> None:
    with pytest.raises(InputError, match="did you mean 'accuracy'"):
        registry.get_metric("acuracy")
