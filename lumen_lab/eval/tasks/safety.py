"""The hook for the safety evaluation (``lumen_lab.safety.evaluate.run_safety_eval``).

The safety evaluation scores its own sets as a whole, so the task has a single item; every
number in the dict it returns becomes a metric (nested keys joined with dots). The task in
``safety.yaml`` declares ``requires: lumen_lab.safety.evaluate:run_safety_eval``: it is listed only
once that function exists. ``options.triage`` names the factory of the triage model as
``module:attribute`` (default ``lumen.safety.triage:Triage.load``, called with the run's
embedder); ``answer_fn`` is left to the safety evaluation's default (None).
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar

from lumen.errors import ComponentError
from lumen_lab.eval.registry import register_kind
from lumen_lab.eval.schema import ItemRecord
from lumen_lab.eval.tasks.base import Condition, EvalItem, TaskKind

DEFAULT_EVALUATE = "lumen_lab.safety.evaluate:run_safety_eval"
DEFAULT_TRIAGE_FACTORY = "lumen.safety.triage:Triage.load"


def flatten_numbers(data: Mapping[str, Any], prefix: str = "") -> dict[str, float]:
    """Every int/float leaf of nested mappings, keyed by its dotted path."""
    values: dict[str, float] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            values.update(flatten_numbers(value, f"{name}."))
        elif isinstance(value, int | float) and not isinstance(value, bool):
            values[name] = float(value)
    return values


def _import(target: str) -> Callable[..., Any]:
    """The callable named ``module:attribute[.attribute]``."""
    module, _, name = target.partition(":")
    try:
        function: Any = importlib.import_module(module)
        for part in name.split("."):
            function = getattr(function, part)
    except (ImportError, AttributeError) as exc:
        raise ComponentError(f"cannot import the safety hook {target}: {exc}") from exc
    if not callable(function):
        raise ComponentError(f"the safety hook {target} is not callable")
    return function  # type: ignore[no-any-return]


@register_kind("safety")
class SafetyTask(TaskKind):
    """The safety evaluation as one item; its numbers become the task's metrics."""

    modes: ClassVar[tuple[str, ...]] = ("closed-book",)
    default_format = "safety-sources"

    def data_path(self) -> Path:
        """The folder of the shared datasets (the safety evaluation picks its own files)."""
        if self.ctx.options.data is not None:
            return super().data_path()
        return self.ctx.settings.paths.sources_dir

    def load(self, path: Path) -> list[EvalItem]:
        """A single item: the whole safety evaluation."""
        return [EvalItem("safety", "run_safety_eval", None, path)]

    def scoring(self, condition: Condition) -> str | None:
        """The safety evaluation's own scoring."""
        return "run_safety_eval"

    def evaluate(self, item: EvalItem, condition: Condition) -> ItemRecord:
        """Call the safety evaluation and keep its numbers."""
        run = _import(str(self.option("evaluate", DEFAULT_EVALUATE)))
        factory = _import(str(self.option("triage", DEFAULT_TRIAGE_FACTORY)))
        triage = factory(self.ctx.embedder)
        report = run(item.payload, triage, answer_fn=None)
        if not isinstance(report, Mapping):
            raise ComponentError("run_safety_eval did not return a dict")
        details = json.loads(json.dumps(report, default=str))
        return self.record(item, condition, values=flatten_numbers(report), details=details)
