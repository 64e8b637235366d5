"""The reranker recipe's options: one typed dataclass, each field with its help text and bounds."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lumen.errors import InputError


def opt(default: Any, help: str, *, ge: float | None = None, le: float | None = None) -> Any:
    """A recipe option with its help text and bounds (kept in the field's metadata)."""
    return field(default=default, metadata={"help": help, "ge": ge, "le": le})


@dataclass
class RerankConfig:
    """How the cross-encoder reranker is trained (``--set NAME=VALUE`` overrides any field)."""

    index_dir: str = opt(
        ".lumen-bench",
        "data dir of a MedQuAD index built without questions (bench/bench_core.py builds one); "
        "hard negatives are retrieved from it",
    )
    medquad_dir: str = opt("", "MedQuAD XML folder (default: paths.sources_dir/medquad)")
    layers: int = opt(3, "encoder layers kept from all-MiniLM-L6-v2 (fewer: faster)", ge=1, le=6)
    max_tokens: int = opt(128, "tokens per (question, passage) pair", ge=32, le=256)
    questions: int = opt(3000, "training questions, each with its answer and negatives", ge=8)
    negatives: int = opt(3, "hard negatives per question (hybrid hits from other pages)", ge=1)
    candidates: int = opt(20, "hybrid hits searched for hard negatives per question", ge=2)
    epochs: int = opt(1, "passes over the training questions", ge=1, le=20)
    batch_questions: int = opt(8, "questions per optimiser step", ge=1, le=256)
    learning_rate: float = opt(8e-5, "peak learning rate (linear warm-up and decay)", ge=0)
    warmup: float = opt(0.1, "share of steps spent warming up", ge=0, le=1)
    seed: int = opt(13, "seed of sampling, initialisation and shuffling")
    checkpoint_every: int = opt(50, "optimiser steps between checkpoints", ge=1)
    threads: int = opt(0, "torch CPU threads (0: all cores)", ge=0)
    dev_share: float = opt(0.05, "share of MedQuAD documents held out as the dev split", ge=0, le=1)

    def to_json(self) -> dict[str, Any]:
        """Plain data for manifests."""
        return dataclasses.asdict(self)


def describe() -> list[tuple[str, str, str]]:
    """(name, default, help) of every option."""
    return [
        (f.name, repr(f.default), str(f.metadata["help"])) for f in dataclasses.fields(RerankConfig)
    ]


def load_config(sets: Iterable[str] = (), base: dict[str, Any] | None = None) -> RerankConfig:
    """The defaults (or ``base``) with ``NAME=VALUE`` overrides; InputError naming a bad one."""
    fields = {f.name: f for f in dataclasses.fields(RerankConfig)}
    values: dict[str, Any] = dict(base or {})
    for item in sets:
        name, sep, raw = item.partition("=")
        name = name.strip()
        if not sep or name not in fields:
            raise InputError(f"unknown option {name!r}: use one of {', '.join(fields)}")
        values[name] = raw.strip()
    config = RerankConfig()
    for name, raw in values.items():
        if name not in fields:
            raise InputError(f"unknown option {name!r}")
        spec = fields[name]
        kind: type[Any] = type(spec.default)
        try:
            value = (
                kind(json.loads(raw))
                if kind in (int, float) and isinstance(raw, str)
                else kind(raw)
            )
        except (TypeError, ValueError):
            raise InputError(f"option {name} must be a {kind.__name__}, not {raw!r}") from None
        low, high = spec.metadata["ge"], spec.metadata["le"]
        if (low is not None and value < low) or (high is not None and value > high):
            raise InputError(f"option {name} must be within [{low}, {high}], not {value}")
        setattr(config, name, value)
    return config


def medquad_path(config: RerankConfig, sources_dir: Path) -> Path:
    """The MedQuAD folder the recipe reads."""
    return Path(config.medquad_dir) if config.medquad_dir else sources_dir / "medquad"
