"""``train``: LoRA (or QLoRA) supervised fine-tuning with TRL's SFTTrainer.

Before anything heavy, :func:`preflight` checks the base model, the prepared data's fields and
the free disk space. Metrics go to ``metrics.jsonl``/``metrics.csv`` (and W&B offline when asked
and installed); checkpoints every ``train.save_steps`` under ``checkpoints/``, resumable.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import os
import resource
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lumen.errors import ComponentError, InputError
from lumen_lab.finetune.config import Recipe
from lumen_lab.finetune.data import read_split
from lumen_lab.finetune.deps import available, require
from lumen_lab.finetune.models import BaseModel, load_model, make_serializable, resolve_base

logger = logging.getLogger(__name__)

CHECKPOINTS = "checkpoints"
ADAPTER = "adapter"
METRICS_JSONL = "metrics.jsonl"
METRICS_CSV = "metrics.csv"
SUMMARY = "train_summary.json"
_CSV_FIELDS = ("step", "epoch", "loss", "eval_loss", "learning_rate", "grad_norm", "s_per_step")

FreeSpace = Callable[[Path], int]


def free_bytes(path: Path) -> int:
    """Free bytes on the file system holding ``path`` (or its nearest existing parent)."""
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return shutil.disk_usage(probe).free


def peak_rss_mb() -> float:
    """The process's peak resident memory so far, in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass(frozen=True)
class Preflight:
    """What :func:`preflight` found."""

    base: BaseModel
    train_examples: int
    validation_examples: int
    free_gb: float
    needed_gb: float


def preflight(recipe: Recipe, out_dir: Path, *, free_space: FreeSpace = free_bytes) -> Preflight:
    """Check the base model, the data's fields and the disk before training (InputError)."""
    base = resolve_base(recipe.model)
    data_dir = out_dir / "data"
    train = read_split(data_dir / "train.jsonl")
    validation = read_split(data_dir / "validation.jsonl")
    # Checkpoints hold adapters and optimizer state; merging writes a full-precision copy.
    needed = recipe.train.min_free_disk_gb * 1e9 + 3 * base.size_bytes()
    free = free_space(out_dir)
    if free < needed:
        raise InputError(
            f"not enough free disk in {out_dir}: {free / 1e9:.2f} GB free, "
            f"{needed / 1e9:.2f} GB needed (train.min_free_disk_gb plus room for checkpoints "
            "and the merged model)"
        )
    return Preflight(base, len(train), len(validation), free / 1e9, needed / 1e9)


def _records(path: Path, limit: int | None = None) -> list[dict[str, str]]:
    """Prompt/completion pairs; ``limit`` picks a fixed mix of sources (ordered by id hash)."""
    records = read_split(path)
    if limit:
        records = sorted(records, key=lambda r: hashlib.sha256(r["id"].encode()).hexdigest())
        records = records[:limit]
    return [{"prompt": r["prompt"], "completion": r["completion"].rstrip("\n")} for r in records]


def _callbacks(out_dir: Path, total_hint: int, max_minutes: float) -> list[Any]:
    require("transformers")
    from lumen_lab.finetune.callbacks import MetricsLogger, RichProgress, TimeBudget

    def record(row: dict[str, Any]) -> None:
        row["rss_mb"] = peak_rss_mb()
        row["time"] = time.time()
        with (out_dir / METRICS_JSONL).open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(row) + "\n")
        write_csv(out_dir)

    return [MetricsLogger(record), RichProgress(total_hint), TimeBudget(max_minutes)]


def write_csv(out_dir: Path) -> Path:
    """Rewrite metrics.csv from metrics.jsonl."""
    rows = read_metrics(out_dir)
    path = out_dir / METRICS_CSV
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=_CSV_FIELDS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def read_metrics(out_dir: Path) -> list[dict[str, Any]]:
    """The logged metrics rows (empty when none)."""
    path = out_dir / METRICS_JSONL
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def last_checkpoint(out_dir: Path) -> Path | None:
    """The newest ``checkpoint-N`` folder, or None."""
    folder = out_dir / CHECKPOINTS
    if not folder.is_dir():
        return None
    found = [p for p in folder.glob("checkpoint-*") if p.name.split("-")[-1].isdigit()]
    return max(found, key=lambda p: int(p.name.split("-")[-1]), default=None)


VERDICT_WORDS = ("Yes", "No", "Maybe", "yes", "no", "maybe")


def verdict_token_ids(tokenizer: Any) -> list[int]:
    """First token of each verdict word as it opens an answer (no leading space)."""
    ids = {tokenizer(word, add_special_tokens=False)["input_ids"][0] for word in VERDICT_WORDS}
    return sorted(ids)


def verdict_weights(labels: Any, verdict_ids: Any, weight: float) -> Any:
    """Per-token loss weights for next-token ``labels`` (shifted, -100 where ignored).

    Every trained token weighs 1, except the first trained token of a row when it is a verdict
    word's token, which weighs ``weight``.
    """
    torch = require("torch")
    trained = labels != -100
    first = trained & (trained.cumsum(dim=1) == 1)
    verdict = first & torch.isin(labels, verdict_ids)
    return trained.to(torch.float32) + verdict.to(torch.float32) * (weight - 1.0)


def _trainer_class(trl: Any, torch: Any, verdict_ids: list[int], weight: float) -> Any:
    """SFTTrainer, with the answer's opening verdict weighted ``weight`` in the training loss."""
    if weight == 1.0:
        return trl.SFTTrainer
    ids = torch.tensor(verdict_ids)

    class VerdictWeightedTrainer(trl.SFTTrainer):  # type: ignore[misc,name-defined]
        """Validation loss stays unweighted, so perplexities remain comparable."""

        def compute_loss(
            self,
            model: Any,
            inputs: Any,
            return_outputs: bool = False,
            num_items_in_batch: Any = None,
        ) -> Any:
            if not model.training or return_outputs:
                return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
            outputs = model(**{**inputs, "use_cache": False}, fused_lm_head=True)
            labels = inputs["labels"][:, 1:].to(outputs.log_probs.device)
            weights = verdict_weights(labels, ids.to(labels.device), weight)
            count = (labels != -100).sum() if num_items_in_batch is None else num_items_in_batch
            return -(outputs.log_probs * weights).sum() / torch.as_tensor(count).clamp(min=1)

    return VerdictWeightedTrainer


def _wrap_lora(model: Any, recipe: Recipe, quantized: bool) -> Any:
    peft = require("peft")
    if quantized:
        model = peft.prepare_model_for_kbit_training(
            model, use_gradient_checkpointing=recipe.train.gradient_checkpointing
        )
    lora = recipe.lora
    config = peft.LoraConfig(
        r=lora.r,
        lora_alpha=lora.alpha,
        lora_dropout=lora.dropout,
        target_modules=list(lora.target_modules),
        task_type="CAUSAL_LM",
    )
    model = peft.get_peft_model(model, config)
    from lumen_lab.finetune.models import torch_dtype

    dtype = torch_dtype(lora.adapter_dtype)
    for name, parameter in model.named_parameters():
        if "lora_" in name:
            parameter.data = parameter.data.to(dtype)
    return model


def train(
    recipe: Recipe,
    out_dir: Path,
    *,
    resume: bool = False,
    extra_callbacks: Sequence[Any] = (),
    free_space: FreeSpace = free_bytes,
) -> dict[str, Any]:
    """Fine-tune; returns (and writes) the summary: steps, losses, time per step, peak RSS."""
    checks = preflight(recipe, out_dir, free_space=free_space)
    checkpoint = last_checkpoint(out_dir)
    if resume and checkpoint is None:
        raise InputError(f"--resume: no checkpoint under {out_dir / CHECKPOINTS}")
    if not resume and checkpoint is not None:
        raise InputError(
            f"{out_dir} already holds checkpoints ({checkpoint.name}): pass --resume to "
            "continue, or choose another output folder"
        )
    torch = require("torch")
    transformers = require("transformers")
    trl = require("trl")
    datasets = require("datasets")
    if recipe.train.threads:
        torch.set_num_threads(recipe.train.threads)
    transformers.set_seed(recipe.train.seed)

    quantize = recipe.model.quantization == "nf4"
    if quantize and not available("bitsandbytes"):
        logger.warning("bitsandbytes is not installed: plain LoRA instead of QLoRA")
        quantize = False
    if recipe.model.device == "cuda" and not torch.cuda.is_available():
        raise ComponentError("model.device is cuda but no CUDA device is available")
    from lumen_lab.finetune.models import load_tokenizer

    tokenizer = load_tokenizer(checks.base)
    model = load_model(checks.base, recipe.model, quantize=quantize, work_dir=out_dir / "base-hf")
    if checks.base.gguf_file and not quantize:
        make_serializable(model)
    model = _wrap_lora(model, recipe, quantize)
    trainable, total = model.get_nb_trainable_parameters()
    logger.info("trainable parameters: %s of %s", trainable, total)

    data_dir = out_dir / "data"
    train_set = datasets.Dataset.from_list(_records(data_dir / "train.jsonl"))
    eval_set = datasets.Dataset.from_list(
        _records(data_dir / "validation.jsonl", recipe.train.eval_max_items)
    )
    options = recipe.train
    on_cpu = recipe.model.device == "cpu"
    bf16 = recipe.model.dtype == "bfloat16" and not on_cpu
    report_to: list[str] = []
    if options.wandb:
        if available("wandb"):
            os.environ.setdefault("WANDB_MODE", "offline")
            os.environ.setdefault("WANDB_DIR", str(out_dir))
            report_to = ["wandb"]
        else:
            logger.warning("train.wandb is on but wandb is not installed: local metrics only")
    args = trl.SFTConfig(
        output_dir=str(out_dir / CHECKPOINTS),
        run_name=recipe.name,
        max_steps=options.max_steps or -1,
        num_train_epochs=options.epochs,
        per_device_train_batch_size=options.batch_size,
        per_device_eval_batch_size=options.batch_size,
        gradient_accumulation_steps=options.gradient_accumulation,
        learning_rate=options.learning_rate,
        lr_scheduler_type=options.scheduler,
        warmup_steps=options.warmup_ratio,
        weight_decay=options.weight_decay,
        eval_strategy="steps",
        eval_steps=options.eval_steps,
        save_strategy="steps",
        save_steps=options.save_steps,
        save_total_limit=options.save_total_limit,
        logging_steps=options.logging_steps,
        load_best_model_at_end=options.early_stopping_patience > 0,
        metric_for_best_model="eval_loss",
        greater_is_better=False,
        use_cpu=on_cpu,
        bf16=bf16,
        seed=options.seed,
        report_to=report_to,
        disable_tqdm=True,
        max_length=options.max_length,
        packing=False,
        completion_only_loss=True,
        gradient_checkpointing=options.gradient_checkpointing,
        dataloader_num_workers=0,
        dataset_num_proc=None,
    )
    callbacks = _callbacks(out_dir, 0, options.max_minutes)
    if options.early_stopping_patience:
        callbacks.append(
            transformers.EarlyStoppingCallback(
                early_stopping_patience=options.early_stopping_patience
            )
        )
    callbacks.extend(extra_callbacks)
    trainer_class = _trainer_class(trl, torch, verdict_token_ids(tokenizer), options.verdict_weight)
    trainer = trainer_class(
        model=model,
        args=args,
        train_dataset=train_set,
        eval_dataset=eval_set,
        processing_class=tokenizer,
        callbacks=callbacks,
    )
    summary_path = out_dir / SUMMARY
    previous = json.loads(summary_path.read_text()) if summary_path.is_file() else {}
    eval_before = previous.get("eval_loss_before")
    if options.eval_before and not resume:
        logger.info("measuring the untuned model's validation loss")
        eval_before = float(trainer.evaluate()["eval_loss"])
    started = time.perf_counter()
    start_step = 0
    if resume and checkpoint is not None:
        start_step = int(checkpoint.name.split("-")[-1])
        logger.info("resuming from %s", checkpoint)
    result = trainer.train(resume_from_checkpoint=str(checkpoint) if resume else None)
    seconds = time.perf_counter() - started
    adapter_dir = out_dir / ADAPTER
    trainer.save_model(str(adapter_dir))
    tokenizer.save_pretrained(str(adapter_dir))
    steps = int(trainer.state.global_step)
    evals = [r["eval_loss"] for r in read_metrics(out_dir) if "eval_loss" in r and r["step"]]
    summary = {
        "recipe": recipe.to_dict(),
        "base": str(checks.base.path),
        "quantization": "nf4" if quantize else "none",
        "trainable_parameters": int(trainable),
        "total_parameters": int(total),
        "train_examples": checks.train_examples,
        "validation_examples": min(checks.validation_examples, options.eval_max_items),
        "global_step": steps,
        "steps_this_run": steps - start_step,
        "resumed_from_step": start_step if resume else None,
        "train_seconds_this_run": seconds,
        "seconds_per_step": seconds / max(steps - start_step, 1),
        "examples_per_step": options.batch_size * options.gradient_accumulation,
        "train_loss": float(result.training_loss),
        "eval_loss_before": eval_before,
        "eval_loss_best": min(evals) if evals else None,
        "best_checkpoint": trainer.state.best_model_checkpoint,
        "peak_rss_mb": max(peak_rss_mb(), float(previous.get("peak_rss_mb") or 0)),
        "adapter": str(adapter_dir),
    }
    summary_path.write_text(json.dumps(summary, indent=1), encoding="utf-8")
    return summary
