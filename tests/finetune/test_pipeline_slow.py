"""The whole pipeline on the real SmolLM2-135M, a few CPU steps: prepare, train (interrupted,
then resumed), merge, export to GGUF, answer in llama.cpp, register, evaluate."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from lumen.cli.main import app
from lumen.components.llm.registry import with_registered_model
from lumen.settings import load_settings
from lumen_lab.finetune.config import recipe_from_mapping
from lumen_lab.finetune.merge import merge
from lumen_lab.finetune.models import load_tokenizer, resolve_base
from lumen_lab.finetune.prepare import prepare
from lumen_lab.finetune.train import last_checkpoint, read_metrics, train

from .conftest import tiny_mapping

pytestmark = pytest.mark.slow
runner = CliRunner()


def _interrupt_at(step: int) -> Any:
    import transformers

    class Interrupt(transformers.TrainerCallback):  # type: ignore[misc]
        def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            if state.global_step == step:
                raise KeyboardInterrupt

    return Interrupt()


def test_prepare_train_resume_merge_export_answer(
    ft_sources: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LUMEN_PATHS__DATA_DIR", str(tmp_path / "lumen-data"))
    monkeypatch.delenv("LUMEN_SETTINGS_FILE", raising=False)
    out = tmp_path / "run"
    recipe = recipe_from_mapping(tiny_mapping(ft_sources, out, verdict_weight=5.0))

    # prepare: deterministic files with a manifest, PubMedQA test items kept out of training
    tokenizer = load_tokenizer(resolve_base(recipe.model))
    manifest = prepare(recipe, out / "data", tokenizer)
    first = (out / "data" / "train.jsonl").read_bytes()
    assert prepare(recipe, out / "data", tokenizer) == manifest
    assert (out / "data" / "train.jsonl").read_bytes() == first
    train_ids = {json.loads(line)["id"] for line in first.decode().splitlines()}
    test_rows = [json.loads(line) for line in (out / "data" / "test.jsonl").open()]
    assert not train_ids & {r["id"] for r in test_rows}
    record = json.loads(first.decode().splitlines()[0])
    assert record["prompt"].endswith("<|im_start|>assistant\n")
    assert '<source n="1"' in record["prompt"]
    assert record["completion"].rstrip().endswith("<|im_end|>")

    # train, interrupted after step 3: the checkpoint of step 2 is left
    with pytest.raises(KeyboardInterrupt):
        train(recipe, out, extra_callbacks=[_interrupt_at(3)])
    checkpoint = last_checkpoint(out)
    assert checkpoint is not None
    assert checkpoint.name == "checkpoint-2"

    # resume: continues from step 2 to max_steps
    summary = train(recipe, out, resume=True)
    assert summary["resumed_from_step"] == 2
    assert summary["global_step"] == 4
    assert summary["steps_this_run"] == 2
    steps = [row["step"] for row in read_metrics(out) if "loss" in row]
    assert 4 in steps
    assert (out / "metrics.csv").read_text().startswith("step,epoch,loss,eval_loss")
    assert (out / "adapter" / "adapter_config.json").is_file()

    # merge (a GGUF base: the "not serializable" flag is cleared), then export to Q4_K_M and
    # register through the CLI
    merged = merge(recipe, out)
    assert (merged / "model.safetensors").is_file()
    exported = runner.invoke(app, ["finetune", "export", _recipe_file(tmp_path, ft_sources, out)])
    assert exported.exit_code == 0, exported.stderr
    gguf = out / "gguf" / "tiny-test.Q4_K_M.gguf"
    assert gguf.is_file()

    # llama.cpp loads the result and answers
    from llama_cpp import Llama

    llama = Llama(model_path=str(gguf), n_ctx=1024, verbose=False)
    reply = llama.create_chat_completion(
        messages=[{"role": "user", "content": "What is glaucoma?"}], max_tokens=24
    )
    assert str(reply["choices"][0]["message"]["content"]).strip()

    # the registry makes it Lumen's model, opening yes-no answers with its verdict
    settings = load_settings()
    registered = with_registered_model(settings, "tiny-test")
    assert registered.llm.model_path == gguf.resolve()
    assert registered.llm.verdict_first is True
    assert registered.retrieval.neighbours == 2  # it retrieves as it is evaluated

    # evaluate (3 test items, gold abstract and retrieved passages; 2 MIRAGE questions a task)
    result = runner.invoke(
        app,
        [
            "finetune",
            "evaluate",
            _recipe_file(tmp_path, ft_sources, out),
            "--tuned",
            str(gguf),
            "--set",
            "evaluate.mirage_limit=2",
            "--set",
            "evaluate.register_offsets=true",
        ],
    )
    assert result.exit_code == 0, result.stderr
    report = json.loads((out / "eval" / "report.json").read_text())
    assert set(report["models"]) == {"before", "after"}
    assert 0.0 <= report["models"]["after"]["loglikelihood"]["accuracy"] <= 1.0
    retrieved = report["retrieved"]
    assert set(retrieved["models"]) == {"before", "after"}
    assert retrieved["models"]["after"]["n"] == report["test_items"]
    assert retrieved["own_abstract_retrieved"] > 0  # the index holds every item's abstract
    assert retrieved["neighbours"] == 2
    rows = [json.loads(line) for line in (out / "eval" / "items.jsonl").open()]
    assert {(r["model"], r["context"]) for r in rows} == {
        (m, c) for m in ("before", "after") for c in ("gold", "retrieved")
    }
    assert all(r["retrieved"] for r in rows if r["context"] == "retrieved")
    # the second held-out set (MIRAGE's PubMedQA questions) is read alike and scored apart
    heldout = report["heldout"]
    assert heldout["items"] == 3
    assert heldout["own_abstract_retrieved"] > 0
    assert heldout["retrieved"]["after"]["n"] == 3
    assert heldout["both_sets"]["gold"]["after"]["n"] == report["test_items"] + 3
    assert {r.get("set") for r in rows} == {None, "mirage_pubmedqa"}
    # calibration: offsets fitted on the validation split, two more readings, registered
    assert report["validation_items_calibrated_on"] > 0
    for model in (*report["models"].values(), *retrieved["models"].values()):
        assert model["calibration"]["offsets"]["yes"] == 0.0
        assert {"loglikelihood_calibrated", "generate_calibrated"} <= set(model)
    assert all("calibrated" in r and "generated_calibrated" in r for r in rows)
    # verdict-first answers open with the log-likelihood verdict (SmolLM2's verdict words are
    # single tokens), offsets included
    assert all(r["verdict_first"] == r["loglikelihood"] for r in rows)
    assert all(r["generated_calibrated"] == r["calibrated"] for r in rows)
    assert all("generate_verdict_first" in m for m in retrieved["models"].values())
    fitted = [json.loads(line) for line in (out / "eval" / "calibration.jsonl").open()]
    assert len(fitted) == 4 * report["validation_items_calibrated_on"]
    assert all(set(r["logprobs"]) == {"yes", "no", "maybe"} for r in fitted)
    offsets = retrieved["models"]["after"]["calibration"]["offsets"]
    assert with_registered_model(settings, "tiny-test").llm.verdict_offsets == offsets
    assert "verdict offsets registered with 'tiny-test'" in result.stdout
    mirage = report["mirage"]["models"]["after"]
    assert {"mirage_medqa", "mirage_pubmedqa", "mean"} <= set(mirage)
    assert all(0.0 <= v <= 1.0 for v in mirage.values() if v is not None)
    assert (out / "eval" / "training.png").stat().st_size > 1000


def _recipe_file(tmp_path: Path, sources: Path, out: Path) -> str:
    import yaml

    path = tmp_path / "tiny.yaml"
    mapping = tiny_mapping(sources, out, verdict_weight=5.0)
    path.write_text(yaml.safe_dump(mapping), encoding="utf-8")
    return str(path)
