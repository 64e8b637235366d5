"""Registries of tasks (declared in YAML), task kinds (Python hooks) and metrics.

A task is data: ``lumen_lab/eval/tasks/*.yaml`` declares its name, kind, dataset, metrics and
defaults. A kind is the code that loads a dataset format and scores one item
(``register_kind``); a metric turns the item records of one condition into a number
(``register_metric``). Other packages add tasks with ``register_task`` or
``load_task_files``.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import logging
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from lumen.errors import InputError

if TYPE_CHECKING:
    from lumen_lab.eval.schema import ItemRecord
    from lumen_lab.eval.tasks.base import TaskKind

logger = logging.getLogger(__name__)

TASKS_DIR = Path(__file__).resolve().parent / "tasks"
_BUILTIN_METRICS_MODULE = "lumen_lab.eval.metrics"
_BUILTIN_KIND_MODULES = (
    "lumen_lab.eval.tasks.multiple_choice",
    "lumen_lab.eval.tasks.pubmedqa",
    "lumen_lab.eval.tasks.retrieval",
    "lumen_lab.eval.tasks.grounding",
    "lumen_lab.eval.tasks.safety",
)


# --- metrics ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Metric:
    """A named aggregate over the records of one condition (``None`` when undefined)."""

    name: str
    description: str
    aggregate: Callable[[Sequence[ItemRecord]], float | None]
    higher_is_better: bool = True


def mean_metric(name: str, description: str, higher_is_better: bool = True) -> Metric:
    """The mean of the per-item value ``name`` over the records that have it."""

    def aggregate(records: Sequence[ItemRecord]) -> float | None:
        values = [r.values[name] for r in records if name in r.values]
        return sum(values) / len(values) if values else None

    return Metric(name, description, aggregate, higher_is_better)


def corpus_metric(
    name: str,
    description: str,
    function: Callable[[Sequence[ItemRecord]], float | None],
    higher_is_better: bool = True,
) -> Metric:
    """A metric computed over all the records at once (macro-F1, for example)."""
    return Metric(name, description, function, higher_is_better)


_METRICS: dict[str, Metric] = {}
_CUTOFF_METRIC = re.compile(r"^(recall|ndcg|precision|hit)@(\d+)$")
_CUTOFF_DESCRIPTIONS = {
    "recall": "Share of relevant documents in the top {k}.",
    "ndcg": "nDCG@{k} (linear gain) of the document ranking.",
    "precision": "Share of the top {k} documents that are relevant.",
    "hit": "Share of queries with a relevant document in the top {k}.",
}

M = TypeVar("M", bound=Metric)


def register_metric(metric: M, *, replace: bool = False) -> M:
    """Add a metric; a second metric of the same name needs ``replace=True``."""
    if metric.name in _METRICS and not replace:
        raise ValueError(f"metric {metric.name!r} is already registered")
    _METRICS[metric.name] = metric
    return metric


def get_metric(name: str) -> Metric:
    """The metric called ``name`` (``recall@K``, ``ndcg@K``, ... for any cutoff K)."""
    _ensure_builtins()
    if name in _METRICS:
        return _METRICS[name]
    match = _CUTOFF_METRIC.match(name)
    if match:
        return mean_metric(name, _CUTOFF_DESCRIPTIONS[match[1]].format(k=match[2]))
    raise InputError(f"unknown metric {name!r}{suggestion(name, metric_names())}")


def metric_names() -> list[str]:
    """Names of the registered metrics (cutoff metrics as ``recall@K`` and so on)."""
    _ensure_builtins()
    return sorted(_METRICS) + [f"{family}@K" for family in _CUTOFF_DESCRIPTIONS]


# --- task specs ------------------------------------------------------------------------------


class CorpusSpec(BaseModel):
    """Documents a task indexes for itself (its RAG or retrieval conditions search them)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    loader: str = Field(description="Name for lumen.ingest.loaders.get_loader.")
    path: str | None = Field(
        None, description="Relative to paths.sources_dir (or absolute); None: the task's data."
    )
    collection: str = "knowledge"
    options: dict[str, Any] = Field(default_factory=dict, description="Loader options.")
    retitle: bool = Field(
        False,
        description="Title each document with its first sentence (PQA-L titles are the "
        "questions themselves).",
    )
    drop_sections: list[str] = Field(
        default_factory=list, description="Section titles left out of the index."
    )


class TaskSpec(BaseModel):
    """A task as declared in YAML."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    kind: str
    description: str = ""
    version: int = 1
    data: str | None = Field(
        None, description="Dataset path relative to paths.sources_dir (or absolute)."
    )
    format: str | None = Field(None, description="Dataset format; guessed from the path if unset.")
    subset: str | None = Field(None, description="Part of the dataset (a MIRAGE task, say).")
    split: str = "dev"
    metrics: list[str] = Field(default_factory=list)
    primary_metric: str | None = None
    modes: list[str] = Field(default_factory=list, description="Default modes.")
    retrievers: list[str] = Field(default_factory=list, description="Default retrievers.")
    default_limit: int | None = Field(None, ge=1)
    shuffle: bool = Field(False, description="Shuffle (with the run's seed) before --limit.")
    corpus: list[CorpusSpec] | None = Field(
        None, description="Index built by the task; None: the configured Lumen index."
    )
    collections: list[str] = Field(default_factory=lambda: ["knowledge"])
    options: dict[str, Any] = Field(default_factory=dict)
    tasks: list[str] = Field(default_factory=list, description="Members of a group.")
    requires: str | None = Field(
        None, description="``module`` or ``module:attribute`` that must be importable."
    )
    source: str = Field("", description="The file the task was declared in.")

    @property
    def is_group(self) -> bool:
        """A group names other tasks and runs them all."""
        return self.kind == "group"


_TASKS: dict[str, TaskSpec] = {}
_KINDS: dict[str, type[TaskKind]] = {}
_lock = threading.RLock()
_loaded = False

K = TypeVar("K", bound="type[TaskKind]")


def register_kind(name: str) -> Callable[[K], K]:
    """Class decorator: the implementation of a task kind."""

    def decorate(cls: K) -> K:
        _KINDS[name] = cls
        cls.kind = name
        return cls

    return decorate


def get_kind(name: str) -> type[TaskKind]:
    """The implementation of kind ``name``."""
    _ensure_builtins()
    try:
        return _KINDS[name]
    except KeyError:
        raise InputError(f"unknown task kind {name!r}{suggestion(name, _KINDS)}") from None


def register_task(spec: TaskSpec | dict[str, Any], *, replace: bool = False) -> TaskSpec:
    """Add a task (a spec or its YAML mapping)."""
    if not isinstance(spec, TaskSpec):
        spec = _parse_spec(spec, "<code>")
    with _lock:
        if spec.name in _TASKS and not replace:
            raise ValueError(
                f"task {spec.name!r} is already registered ({_TASKS[spec.name].source})"
            )
        _TASKS[spec.name] = spec
    return spec


def _parse_spec(data: Any, source: str) -> TaskSpec:
    if not isinstance(data, dict):
        raise ValueError(f"{source}: a task must be a mapping, got {type(data).__name__}")
    try:
        return TaskSpec.model_validate({**data, "source": source})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        name = data.get("name", "?")
        raise ValueError(f"{source}: task {name!r}: field {where}: {first['msg']}") from None


def load_task_files(paths: Iterable[Path], *, replace: bool = False) -> list[TaskSpec]:
    """Register the tasks of YAML files: a mapping (one task), a list, or ``{tasks: [...]}``.

    A mapping under ``defaults`` beside ``tasks`` is merged into every task of the file.
    """
    specs = []
    for path in paths:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        defaults: dict[str, Any] = {}
        if isinstance(data, dict) and isinstance(data.get("tasks"), list) and "kind" not in data:
            defaults = dict(data.get("defaults") or {})
            entries = data["tasks"]
        elif isinstance(data, list):
            entries = data
        else:
            entries = [data]
        for entry in entries:
            merged = {**defaults, **entry} if isinstance(entry, dict) else entry
            if isinstance(merged, dict) and isinstance(defaults.get("options"), dict):
                merged["options"] = {**defaults["options"], **(entry.get("options") or {})}
            specs.append(register_task(_parse_spec(merged, path.name), replace=replace))
    return specs


def _ensure_builtins() -> None:
    global _loaded
    with _lock:
        if _loaded:
            return
        _loaded = True
        # Built-ins register themselves on import: the registry stays a leaf that imports them
        # by name only.
        importlib.import_module(_BUILTIN_METRICS_MODULE).register_builtin_metrics()
        for module in _BUILTIN_KIND_MODULES:
            importlib.import_module(module)
        load_task_files(sorted(TASKS_DIR.glob("*.yaml")), replace=True)


def _available(spec: TaskSpec) -> bool:
    """Whether the task's ``requires`` (``module`` or ``module:attribute``) can be imported."""
    if spec.requires is None:
        return True
    module, _, attribute = spec.requires.partition(":")
    try:
        if importlib.util.find_spec(module) is None:
            return False
        return not attribute or hasattr(importlib.import_module(module), attribute)
    except ImportError:
        return False


def all_tasks(*, include_unavailable: bool = False) -> dict[str, TaskSpec]:
    """Registered tasks by name (those whose ``requires`` module is missing left out)."""
    _ensure_builtins()
    with _lock:
        return {
            name: spec
            for name, spec in sorted(_TASKS.items())
            if include_unavailable or _available(spec)
        }


def suggestion(name: str, candidates: Iterable[str]) -> str:
    """``"; did you mean x or y?"`` for the nearest candidates, or ``""``."""
    close = difflib.get_close_matches(name, list(candidates), n=3, cutoff=0.5)
    if not close:
        return ""
    return "; did you mean " + " or ".join(repr(c) for c in close) + "?"


def get_task(name: str) -> TaskSpec:
    """The task called ``name``; an InputError suggests the nearest names."""
    tasks = all_tasks()
    if name in tasks:
        return tasks[name]
    hidden = all_tasks(include_unavailable=True).get(name)
    if hidden is not None:
        raise InputError(f"task {name!r} needs {hidden.requires}, which is not available yet")
    hint = suggestion(name, tasks) or " (run 'lumen eval ls' for the list)"
    raise InputError(f"unknown task {name!r}{hint}")


def expand_tasks(names: Sequence[str]) -> list[TaskSpec]:
    """The tasks named, groups replaced by their members, each task once, in order."""
    seen: dict[str, TaskSpec] = {}

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in path:
            raise InputError(f"task group cycle: {' -> '.join((*path, name))}")
        spec = get_task(name)
        if spec.is_group:
            for member in spec.tasks:
                visit(member, (*path, name))
        else:
            seen.setdefault(spec.name, spec)

    for name in names:
        for part in name.split(","):
            if part.strip():
                visit(part.strip(), ())
    if not seen:
        raise InputError("no task given (run 'lumen eval ls' for the list)")
    return list(seen.values())
