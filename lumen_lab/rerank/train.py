"""Train the reranker: listwise softmax over each question's answer and hard negatives.

Reproducible (seeded sampling, initialisation and order), checkpointed every
``checkpoint_every`` steps to ``OUT/checkpoint.pt`` (model, optimiser, schedule, step), and
resumable (``resume=True`` carries on from the checkpoint with the same groups and order).
Writes ``OUT/model.pt`` (the weights) and ``OUT/train.json`` (config, losses, time).
"""

from __future__ import annotations

import json
import logging
import math
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from lumen.errors import InputError
from lumen_lab.rerank.config import RerankConfig
from lumen_lab.rerank.data import Group, read_groups
from lumen_lab.rerank.model import CrossEncoder, build_model, encode, pair_tokenizer

logger = logging.getLogger(__name__)

GROUPS = "groups.jsonl"
CHECKPOINT = "checkpoint.pt"
WEIGHTS = "model.pt"
SUMMARY = "train.json"

Progress = Callable[[int, int, float], None]


def _order(count: int, config: RerankConfig) -> list[int]:
    order: list[int] = []
    for epoch in range(config.epochs):
        indices = list(range(count))
        random.Random(config.seed * 1000 + epoch).shuffle(indices)
        order.extend(indices)
    return order


def _schedule(config: RerankConfig, total: int) -> Callable[[int], float]:
    warm = max(1, int(total * config.warmup))

    def factor(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        return max(0.0, (total - step) / max(1, total - warm))

    return factor


def group_loss(model: CrossEncoder, tokenizer: Any, groups: list[Group]) -> torch.Tensor:
    """Mean cross-entropy of each group's positive against its negatives."""
    pairs = [(g.question, p) for g in groups for p in (g.positive, *g.negatives)]
    logits = model(**encode(tokenizer, pairs))
    size = 1 + len(groups[0].negatives)
    logits = logits.view(len(groups), size)
    target = torch.zeros(len(groups), dtype=torch.long)
    loss: torch.Tensor = torch.nn.functional.cross_entropy(logits, target)
    return loss


def train(
    config: RerankConfig, out_dir: Path, *, resume: bool = False, progress: Progress | None = None
) -> Path:
    """Train on ``OUT/groups.jsonl``; returns the weights file."""
    groups_path = out_dir / GROUPS
    if not groups_path.is_file():
        raise InputError(f"no training groups at {groups_path}: run 'lumen lab rerank data' first")
    groups = read_groups(groups_path)
    sizes = {len(g.negatives) for g in groups}
    if not groups or len(sizes) != 1:
        raise InputError(f"{groups_path}: no groups, or groups of unequal size")
    if config.threads:
        torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    model = build_model(config.layers, seed=config.seed)
    tokenizer = pair_tokenizer(config.max_tokens)
    order = _order(len(groups), config)
    total = math.ceil(len(order) / config.batch_questions)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=0.01)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _schedule(config, total))
    step = 0
    losses: list[float] = []
    seconds = 0.0
    checkpoint = out_dir / CHECKPOINT
    if resume and checkpoint.is_file():
        state = torch.load(checkpoint, weights_only=False)
        if state["config"] != config.to_json():
            raise InputError("the checkpoint was made with other options: train without --resume")
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        step, losses, seconds = state["step"], state["losses"], state["seconds"]
        torch.set_rng_state(state["rng"])  # dropout draws carry on as in an unbroken run
        logger.info("resuming at step %s of %s", step, total)
    model.train()
    started = time.perf_counter() - seconds
    while step < total:
        batch = [
            groups[i] for i in order[step * config.batch_questions :][: config.batch_questions]
        ]
        loss = group_loss(model, tokenizer, batch)
        optimizer.zero_grad()
        loss.backward()  # type: ignore[no-untyped-call]
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        step += 1
        losses.append(round(float(loss.detach()), 4))
        if step % config.checkpoint_every == 0 or step == total:
            _save_checkpoint(checkpoint, model, optimizer, scheduler, config, step, losses, started)
        if progress is not None:
            progress(step, total, losses[-1])
    weights = out_dir / WEIGHTS
    torch.save(model.state_dict(), weights)
    summary = {
        "config": config.to_json(),
        "groups": len(groups),
        "steps": total,
        "seconds": round(time.perf_counter() - started, 1),
        "loss_first_50": _mean(losses[:50]),
        "loss_last_50": _mean(losses[-50:]),
        "threads": torch.get_num_threads(),
    }
    (out_dir / SUMMARY).write_text(json.dumps(summary, indent=1), encoding="utf-8")
    return weights


def _mean(values: list[float]) -> float:
    return round(sum(values) / len(values), 4) if values else 0.0


def _save_checkpoint(
    path: Path,
    model: CrossEncoder,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    config: RerankConfig,
    step: int,
    losses: list[float],
    started: float,
) -> None:
    partial = path.with_suffix(".partial")
    torch.save(
        {
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "config": config.to_json(),
            "step": step,
            "losses": losses,
            "seconds": time.perf_counter() - started,
            "rng": torch.get_rng_state(),
        },
        partial,
    )
    partial.replace(path)


def load_trained(out_dir: Path, config: RerankConfig) -> CrossEncoder:
    """The trained model from ``OUT/model.pt``."""
    weights = out_dir / WEIGHTS
    if not weights.is_file():
        raise InputError(f"no trained weights at {weights}: run 'lumen lab rerank train' first")
    model = build_model(config.layers, seed=config.seed)
    model.load_state_dict(torch.load(weights, weights_only=True))
    return model.eval()
