"""The evaluation harness: declared tasks, registries of kinds and metrics, resumable runs.

Typical use::

    from lumen_lab.eval import RunOptions, run_eval
    results = run_eval(["mirage"], RunOptions(out_dir=Path("runs/m"), limit=20))

See README.md for the tasks and SCHEMA.md for the results file.
"""

from lumen_lab.eval.context import RunOptions
from lumen_lab.eval.registry import (
    CorpusSpec,
    Metric,
    TaskSpec,
    all_tasks,
    expand_tasks,
    get_kind,
    get_metric,
    get_task,
    load_task_files,
    mean_metric,
    register_kind,
    register_metric,
    register_task,
)
from lumen_lab.eval.runner import EvalRunner, run_eval
from lumen_lab.eval.schema import (
    SCHEMA_VERSION,
    ItemRecord,
    RunResults,
    load_results,
    validate_results,
)
from lumen_lab.eval.tasks.base import Condition, EvalItem, TaskKind

__all__ = [
    "SCHEMA_VERSION",
    "Condition",
    "CorpusSpec",
    "EvalItem",
    "EvalRunner",
    "ItemRecord",
    "Metric",
    "RunOptions",
    "RunResults",
    "TaskKind",
    "TaskSpec",
    "all_tasks",
    "expand_tasks",
    "get_kind",
    "get_metric",
    "get_task",
    "load_results",
    "load_task_files",
    "mean_metric",
    "register_kind",
    "register_metric",
    "register_task",
    "run_eval",
    "validate_results",
]
