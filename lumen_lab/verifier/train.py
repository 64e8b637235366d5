"""Train the entailment cross-encoder: all-MiniLM-L6-v2's encoder plus a one-logit head.

Input ``[CLS] sentence [SEP] evidence [SEP]`` (evidence truncated to fit ``max_tokens``),
output P(entailed) = sigmoid(logit). Plain PyTorch on the CPU, seeded, with checkpoints
(``--resume`` continues from the last one) and progress lines.
"""

from __future__ import annotations

import json
import os
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lumen_lab.verifier.data import Pair, read_pairs, say


@dataclass(frozen=True)
class TrainConfig:
    """How the verifier is trained (every field is recorded in the checkpoint)."""

    data_dir: Path = field(metadata={"help": "Folder with train.jsonl from build-data."})
    out_dir: Path = field(metadata={"help": "Checkpoints and the final model go here."})
    epochs: float = field(default=1.0, metadata={"help": "Passes over the training pairs."})
    batch_size: int = field(default=16, metadata={"help": "Pairs per optimiser step."})
    learning_rate: float = field(default=8e-5, metadata={"help": "Peak AdamW learning rate."})
    head_learning_rate: float = field(
        default=0.0,
        metadata={
            "help": "Peak learning rate of the new head (pooler + classifier); 0: the same as "
            "the encoder. A fresh head learns faster than the encoder should move."
        },
    )
    warmup: float = field(default=0.1, metadata={"help": "Share of steps warming up."})
    weight_decay: float = field(default=0.01, metadata={"help": "AdamW weight decay."})
    max_tokens: int = field(default=192, metadata={"help": "Tokens of sentence + evidence."})
    seed: int = field(default=13, metadata={"help": "Seed of shuffling and initialisation."})
    threads: int = field(default=2, metadata={"help": "torch CPU threads."})
    checkpoint_every: int = field(default=50, metadata={"help": "Steps between checkpoints."})
    max_pairs: int = field(default=0, metadata={"help": "Use only this many pairs (0: all)."})
    freeze_layers: int = field(
        default=3, metadata={"help": "Lower encoder layers (and embeddings) kept frozen."}
    )
    init_from: Path | None = field(
        default=None,
        metadata={"help": "Start from an earlier run's final/ instead of a fresh head."},
    )
    reset_pooler: bool = field(
        default=True,
        metadata={
            "help": "Start the [CLS] pooler as identity: MiniLM's own pooler (never trained for "
            "its mean-pooled objective) has weights of std 0.009, so its output barely varies "
            "and gradients reach the encoder ~100x attenuated."
        },
    )
    capped: bool = field(
        default=True, metadata={"help": "Sample each kind down to KIND_CAPS (CPU budget)."}
    )
    rank_weight: float = field(
        default=0.0,
        metadata={
            "help": "Weight of a ranking loss between the entailed and the not-entailed pairs "
            "of one abstract (0: off). Batches then hold whole abstracts, so each step also "
            "learns that the true conclusion outranks the hallucinations written for it."
        },
    )

    def to_json(self) -> dict[str, Any]:
        """JSON-friendly view."""
        return {k: str(v) if isinstance(v, Path) else v for k, v in asdict(self).items()}


#: Pairs kept per kind when ``capped``: the realistic negatives and true sentences first.
KIND_CAPS = {
    "true_sentence": 520,
    "true_answer": 80,
    "copied_result": 100,
    "medquad_sentence": 100,
    "verdict_flip": 330,
    "other_abstract": 160,
    "added_clause": 160,
    "entity_swap": 120,
    "overstatement": 110,
    "direction_swap": 80,
    "number_swap": 40,
    "llm_opposite": 60,
    "result_negated": 40,
    "result_direction": 30,
    "result_number": 30,
    "medquad_negated": 40,
    "medquad_added_clause": 40,
    "medquad_other_answer": 40,
}


def sample_pairs(pairs: list[Pair], *, seed: int) -> list[Pair]:
    """At most ``KIND_CAPS[kind]`` pairs of each kind, sampled with ``seed``."""
    rng = random.Random(seed)
    by_kind: dict[str, list[Pair]] = {}
    for pair in pairs:
        by_kind.setdefault(pair.kind, []).append(pair)
    out: list[Pair] = []
    for kind, members in sorted(by_kind.items()):
        cap = KIND_CAPS.get(kind, 0)
        out.extend(members if len(members) <= cap else rng.sample(members, cap))
    return out


def with_selected_evidence(pairs: list[Pair]) -> list[Pair]:
    """Each pair's evidence cut to the sentences the verifier would read with the claim."""
    from dataclasses import replace

    from lumen.components.embedding.bm25 import Bm25Encoder
    from lumen.rag.entailment import select_evidence
    from lumen.rag.verify import content_terms
    from lumen.textutil import split_sentences

    bm25 = Bm25Encoder()
    cache: dict[str, tuple[list[str], list[frozenset[str]]]] = {}
    out = []
    for pair in pairs:
        if pair.evidence not in cache:
            sentences = split_sentences(pair.evidence)
            cache[pair.evidence] = (sentences, [content_terms(bm25, s) for s in sentences])
        sentences, terms = cache[pair.evidence]
        passage = select_evidence(content_terms(bm25, pair.sentence), sentences, terms)
        out.append(replace(pair, evidence=passage))
    return out


def load_tokenizer(model_dir: Path, max_tokens: int) -> Any:
    """The base model's fast tokenizer, cutting the evidence (second text) to fit."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tokenizer.enable_truncation(max_length=max_tokens, strategy="longest_first", direction="left")
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # noqa: S106
    return tokenizer


def encode(tokenizer: Any, pairs: list[tuple[str, str]]) -> dict[str, np.ndarray]:
    """input_ids / attention_mask / token_type_ids for (sentence, evidence) pairs."""
    from lumen.components.onnx_runtime import pair_feeds

    return pair_feeds(tokenizer.encode_batch(pairs))


def build_model(model_dir: Path) -> Any:
    """MiniLM's encoder with a fresh one-logit classification head."""
    from transformers import AutoModelForSequenceClassification

    return AutoModelForSequenceClassification.from_pretrained(str(model_dir), num_labels=1)


def _batches(pairs: list[Pair], config: TrainConfig, epoch: int) -> list[list[int]]:
    """Shuffled batches of similar length (less padding), reproducible per epoch."""
    rng = random.Random(f"{config.seed}:{epoch}")
    order = list(range(len(pairs)))
    rng.shuffle(order)
    # sort within windows of 20 batches by length, then shuffle the batches
    window = config.batch_size * 20
    batches: list[list[int]] = []
    for start in range(0, len(order), window):
        part = sorted(order[start : start + window], key=lambda i: len(pairs[i].evidence))
        batches.extend(
            part[j : j + config.batch_size] for j in range(0, len(part), config.batch_size)
        )
    rng.shuffle(batches)
    return batches


def _group_batches(pairs: list[Pair], config: TrainConfig, epoch: int) -> list[list[int]]:
    """Batches of whole groups (one abstract's pairs together), reproducible per epoch.

    Groups are shuffled and packed in order; a group larger than a batch is split.
    """
    rng = random.Random(f"{config.seed}:{epoch}:groups")
    by_group: dict[str, list[int]] = {}
    for index, pair in enumerate(pairs):
        by_group.setdefault(pair.group, []).append(index)
    groups = sorted(by_group)
    rng.shuffle(groups)
    batches: list[list[int]] = []
    current: list[int] = []
    for group in groups:
        members = by_group[group]
        rng.shuffle(members)
        for start in range(0, len(members), config.batch_size):
            part = members[start : start + config.batch_size]
            if len(current) + len(part) > config.batch_size:
                batches.append(current)
                current = []
            current.extend(part)
    if current:
        batches.append(current)
    return batches


def _epoch_batches(pairs: list[Pair], config: TrainConfig, epoch: int) -> list[list[int]]:
    """Whole abstracts per batch with the ranking loss, similar lengths without."""
    if config.rank_weight:
        return _group_batches(pairs, config, epoch)
    return _batches(pairs, config, epoch)


def ranking_loss(logits: Any, labels: Any, groups: list[str]) -> Any:
    """Mean softplus(1 - (positive - negative)) over (entailed, not) pairs of one group."""
    import torch

    same = torch.tensor([[a == b for b in groups] for a in groups])
    wanted = same & (labels[:, None] > 0.5) & (labels[None, :] < 0.5)
    if not bool(wanted.any()):
        return logits.sum() * 0.0
    margins = logits[:, None] - logits[None, :]
    return torch.nn.functional.softplus(1.0 - margins[wanted]).mean()


def train(config: TrainConfig, model_dir: Path, *, resume: bool = False) -> Path:
    """Train and save ``final/`` (weights + tokenizer) under ``config.out_dir``; returns it."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    random.seed(config.seed)
    np.random.seed(config.seed)

    pairs = read_pairs(config.data_dir / "train.jsonl")
    if config.capped:
        pairs = sample_pairs(pairs, seed=config.seed)
    if config.max_pairs:
        pairs = random.Random(config.seed).sample(pairs, min(config.max_pairs, len(pairs)))
    pairs = with_selected_evidence(pairs)
    tokenizer = load_tokenizer(model_dir, config.max_tokens)
    model = build_model(config.init_from or model_dir)
    if config.reset_pooler and config.init_from is None:
        with torch.no_grad():
            model.bert.pooler.dense.weight.copy_(torch.eye(model.config.hidden_size))
            model.bert.pooler.dense.bias.zero_()
    frozen = [model.bert.embeddings, *model.bert.encoder.layer[: config.freeze_layers]]
    for module in frozen if config.freeze_layers else []:
        for parameter in module.parameters():
            parameter.requires_grad_(False)
    positives = sum(p.label for p in pairs)
    pos_weight = torch.tensor((len(pairs) - positives) / max(positives, 1))
    loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=pos_weight)
    optimizer = torch.optim.AdamW(_parameter_groups(model, config), lr=config.learning_rate)
    first_epoch = _epoch_batches(pairs, config, 0)
    total = max(1, int(len(first_epoch) * config.epochs))
    warmup = int(total * config.warmup)

    def schedule(step: int) -> float:
        if step < warmup:
            return (step + 1) / max(warmup, 1)
        return max(0.0, (total - step) / max(total - warmup, 1))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    step = 0
    checkpoint = config.out_dir / "checkpoint.pt"
    if resume and checkpoint.exists():
        state = torch.load(checkpoint, weights_only=False)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        step = int(state["step"])
        torch.set_rng_state(state["torch_rng"])
        say(f"resumed at step {step}/{total}")

    config.out_dir.mkdir(parents=True, exist_ok=True)
    say(
        f"training on {len(pairs)} pairs ({positives} entailed), {total} steps of "
        f"{config.batch_size}, max {config.max_tokens} tokens"
    )
    model.train()
    started = time.monotonic()
    first_step = step
    running = 0.0
    done = 0
    epoch = 0
    while done < total:
        for batch in first_epoch if epoch == 0 else _epoch_batches(pairs, config, epoch):
            if done >= total:
                break
            if done < step:  # already trained before the checkpoint
                done += 1
                continue
            loss = _batch_loss(model, tokenizer, [pairs[i] for i in batch], loss_fn, config)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            step += 1
            done += 1
            running = 0.9 * running + 0.1 * loss.item() if step > first_step + 1 else loss.item()
            if step % 5 == 0 or step == total or step == first_step + 1:
                rate = (time.monotonic() - started) / (step - first_step)
                say(
                    f"step {step}/{total} loss {running:.4f} lr {scheduler.get_last_lr()[0]:.2e} "
                    f"{rate:.2f} s/step, eta {rate * (total - step) / 60:.1f} min"
                )
            if step % config.checkpoint_every == 0 and step < total:
                _save_checkpoint(checkpoint, model, optimizer, scheduler, step, config)
        epoch += 1
    final = config.out_dir / "final"
    final.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(final))
    (final / "tokenizer.json").write_bytes((model_dir / "tokenizer.json").read_bytes())
    (final / "training.json").write_text(
        json.dumps(
            {
                "config": config.to_json(),
                "pairs": len(pairs),
                "steps": total,
                "minutes": round((time.monotonic() - started) / 60, 1),
            },
            indent=1,
        ),
        encoding="utf-8",
    )
    say(f"saved {final}")
    return final


def _batch_loss(
    model: Any, tokenizer: Any, chosen: list[Pair], loss_fn: Any, config: TrainConfig
) -> Any:
    """Weighted cross-entropy of one batch, plus the ranking loss when it is on."""
    import torch

    inputs = {
        k: torch.from_numpy(v)
        for k, v in encode(tokenizer, [(p.sentence, p.evidence) for p in chosen]).items()
    }
    labels = torch.tensor([float(p.label) for p in chosen])
    logits = model(**inputs).logits[:, 0]
    loss = loss_fn(logits, labels)
    if config.rank_weight:
        loss = loss + config.rank_weight * ranking_loss(logits, labels, [p.group for p in chosen])
    return loss


def _parameter_groups(model: Any, config: TrainConfig) -> list[dict[str, Any]]:
    """AdamW groups: no decay on biases and LayerNorm; the head at its own learning rate."""
    no_decay = ("bias", "LayerNorm.weight")
    head_lr = config.head_learning_rate or config.learning_rate
    groups: dict[tuple[bool, bool], list[Any]] = {}
    for name, parameter in model.named_parameters():
        if not parameter.requires_grad:
            continue
        is_head = name.startswith(("classifier.", "bert.pooler."))
        groups.setdefault((is_head, name.endswith(no_decay)), []).append(parameter)
    return [
        {
            "params": params,
            "lr": head_lr if is_head else config.learning_rate,
            "weight_decay": 0.0 if decay_free else config.weight_decay,
        }
        for (is_head, decay_free), params in sorted(groups.items())
    ]


def _save_checkpoint(
    path: Path, model: Any, optimizer: Any, scheduler: Any, step: int, config: TrainConfig
) -> None:
    import torch

    partial = path.with_suffix(".partial")
    torch.save(
        {
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "step": step,
            "torch_rng": torch.get_rng_state(),
            "config": config.to_json(),
        },
        partial,
    )
    partial.replace(path)
