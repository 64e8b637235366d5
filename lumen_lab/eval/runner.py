"""Runs tasks: items in a thread pool, each record appended to ``items.jsonl`` (resumable)."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

import lumen
from lumen.errors import InputError, LumenError
from lumen.settings import Settings
from lumen_lab.eval.context import EvalContext, RunOptions
from lumen_lab.eval.datasets import data_hash
from lumen_lab.eval.metrics import latency_summary
from lumen_lab.eval.registry import (
    Metric,
    TaskSpec,
    expand_tasks,
    get_kind,
    get_metric,
    mean_metric,
)
from lumen_lab.eval.schema import (
    ConditionResult,
    DataInfo,
    ItemRecord,
    LatencyStats,
    ModelInfo,
    RunResults,
    TaskResult,
)
from lumen_lab.eval.tasks.base import Condition, EvalItem, TaskKind

if TYPE_CHECKING:
    from lumen.components.embedding.base import Embedder
    from lumen.components.llm.base import LLM

logger = logging.getLogger(__name__)

ITEMS_FILE = "items.jsonl"
RUN_FILE = "run.json"
RESULTS_FILE = "results.json"


class Journal:
    """``items.jsonl`` (one record per line, appended as items finish) and ``run.json``.

    ``run.json`` holds the run's fingerprint (model, settings, scoring, seed, task options)
    and each task's data hash: --resume refuses to mix records made under other ones.
    """

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self.items_path = out_dir / ITEMS_FILE
        self.run_path = out_dir / RUN_FILE
        self.done: dict[tuple[str, str, str], ItemRecord] = {}
        self._meta: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._handle: Any = None

    def open(self, fingerprint: dict[str, Any], *, resume: bool, overwrite: bool) -> None:
        """Start a run, or continue the one in the folder (``resume``)."""
        self.out_dir.mkdir(parents=True, exist_ok=True)
        existing = self.items_path.exists() or self.run_path.exists()
        if existing and resume:
            self._meta = self._read_meta()
            recorded = self._meta.get("fingerprint", {})
            for key in sorted(set(recorded) | set(fingerprint)):
                if recorded.get(key) != fingerprint.get(key):
                    raise InputError(
                        f"cannot resume the run in {self.out_dir}: its {key} was "
                        f"{recorded.get(key)!r}, now {fingerprint.get(key)!r} (use another --out)"
                    )
            self._read_items()
        elif existing and not overwrite:
            raise InputError(
                f"{self.out_dir} already holds a run: pass --resume to continue it or "
                "--overwrite to start over"
            )
        else:
            for path in (self.items_path, self.run_path, self.out_dir / RESULTS_FILE):
                path.unlink(missing_ok=True)
            self._meta = {"fingerprint": fingerprint, "data": {}}
            self._write_meta()
        self._handle = self.items_path.open("a", encoding="utf-8")

    def _read_meta(self) -> dict[str, Any]:
        try:
            data = json.loads(self.run_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise InputError(f"cannot resume: {self.run_path} is missing or unreadable") from exc
        if not isinstance(data, dict):
            raise InputError(f"cannot resume: {self.run_path} is not a run description")
        data.setdefault("data", {})
        return data

    def _read_items(self) -> None:
        if not self.items_path.exists():
            return
        bad = 0
        for line in self.items_path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            try:
                record = ItemRecord.model_validate_json(line)
            except ValueError:
                bad += 1  # a line cut short by an interruption
                continue
            if record.error is None:
                self.done[record.key] = record
            else:
                self.done.pop(record.key, None)
        if bad:
            logger.warning("ignored %s unreadable line(s) of %s", bad, self.items_path)
        logger.info("resuming: %s item(s) already done", len(self.done))

    def _write_meta(self) -> None:
        temporary = self.run_path.with_suffix(".tmp")
        temporary.write_text(json.dumps(self._meta, indent=2), encoding="utf-8")
        os.replace(temporary, self.run_path)

    def check_data(self, task: str, sha256: str) -> None:
        """Record a task's data hash; on resume, refuse a changed dataset."""
        with self._lock:
            known = self._meta["data"].get(task)
            if known is not None and known != sha256:
                raise InputError(
                    f"cannot resume task {task!r}: its dataset changed since the run started "
                    "(use another --out)"
                )
            self._meta["data"][task] = sha256
            self._write_meta()

    def append(self, record: ItemRecord) -> None:
        """Write one record and flush it, so that an interruption loses nothing finished."""
        line = record.model_dump_json()
        with self._lock:
            self._handle.write(line + "\n")
            self._handle.flush()

    def close(self) -> None:
        """Close the items file."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None


ProgressHook = Callable[[TaskKind, Condition, ItemRecord], None]


@dataclass(frozen=True)
class _Plan:
    """A task ready to run: its conditions and selected items."""

    kind: TaskKind
    conditions: list[Condition]
    path: Path
    n_total: int
    items: list[EvalItem]
    sha256: str
    seconds: float


class EvalRunner:
    """Runs evaluation tasks against one settings object (models shared across tasks)."""

    def __init__(
        self,
        settings: Settings,
        *,
        embedder: Embedder | None = None,
        llm: LLM | None = None,
        console: Console | None = None,
        command: Sequence[str] | None = None,
        on_record: ProgressHook | None = None,
    ) -> None:
        self.settings = settings
        self._embedder = embedder
        self._llm = llm
        self._console = console
        self._command = list(command) if command is not None else list(sys.argv)
        self._on_record = on_record

    def run(self, tasks: Sequence[str], options: RunOptions) -> RunResults:
        """Run the named tasks (groups expanded) and write the reports into ``options.out_dir``."""
        from lumen_lab.eval.report import write_reports

        specs = expand_tasks(tasks)
        started_at = datetime.now(UTC).isoformat(timespec="seconds")
        started = time.perf_counter()
        ctx = EvalContext(
            self.settings, options, embedder=self._embedder, llm=self._llm, console=self._console
        )
        # Check every task's options and dataset before running anything.
        planned = [self._plan(get_kind(spec.kind)(spec, ctx)) for spec in specs]
        journal = Journal(options.out_dir)
        journal.open(self._fingerprint(ctx), resume=options.resume, overwrite=options.overwrite)
        task_results: list[TaskResult] = []
        try:
            with self._progress() as progress:
                ctx.progress = progress
                for plan in planned:
                    task_results.append(self._run_task(plan, journal, progress))
        finally:
            journal.close()
            ctx.close()
        total = time.perf_counter() - started
        results = RunResults(
            lumen_version=lumen.__version__,
            run_id=options.out_dir.resolve().name
            + "-"
            + hashlib.sha256(started_at.encode()).hexdigest()[:8],
            started_at=started_at,
            finished_at=datetime.now(UTC).isoformat(timespec="seconds"),
            command=self._command,
            model=ModelInfo(llm=ctx.llm_identity, embedder=ctx.embedder_identity),
            settings=self.settings.model_dump(mode="json"),
            seed=options.seed,
            config={"tasks": [s.name for s in specs], **options.as_dict()},
            machine={
                "python": platform.python_version(),
                "platform": platform.platform(),
                "cpus": os.cpu_count(),
            },
            timings_s={
                "total": round(total, 2),
                **{t.name: t.seconds for t in task_results},
            },
            tasks=task_results,
        )
        write_reports(results, options.out_dir, plots=options.plots)
        return results

    def _fingerprint(self, ctx: EvalContext) -> dict[str, Any]:
        settings = self.settings.model_dump(mode="json", exclude={"paths"})
        options = ctx.options
        return {
            "llm": ctx.llm_identity,
            "settings_sha256": hashlib.sha256(
                json.dumps(settings, sort_keys=True).encode()
            ).hexdigest(),
            "scoring": options.scoring,
            "seed": options.seed,
            "k": options.k,
            "collections": list(options.collections),
            "task_options": options.extra,
        }

    @contextmanager
    def _progress(self) -> Iterator[Progress | None]:
        if self._console is None:
            yield None
            return
        columns = (
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=self._console) as progress:
            yield progress

    @staticmethod
    def _plan(kind: TaskKind) -> _Plan:
        started = time.perf_counter()
        conditions = kind.conditions()
        path = kind.data_path()
        every = kind.load(path)
        items = kind.select(every)
        if not items:
            raise InputError(f"task {kind.spec.name!r}: no items in {path}")
        kind.check(conditions, path)
        seconds = time.perf_counter() - started
        return _Plan(kind, conditions, path, len(every), items, data_hash(path), seconds)

    def _run_task(self, plan: _Plan, journal: Journal, progress: Progress | None) -> TaskResult:
        started = time.perf_counter() - plan.seconds
        kind, conditions, path, items, sha256 = (
            plan.kind,
            plan.conditions,
            plan.path,
            plan.items,
            plan.sha256,
        )
        spec = kind.spec
        journal.check_data(spec.name, sha256)
        kind.prepare(conditions, path)
        results = [
            self._run_condition(kind, condition, items, journal, progress)
            for condition in conditions
        ]
        return TaskResult(
            name=spec.name,
            kind=spec.kind,
            version=spec.version,
            description=spec.description,
            primary_metric=spec.primary_metric or (spec.metrics[0] if spec.metrics else None),
            data=DataInfo(
                path=str(path),
                format=kind.data_format,
                sha256=sha256,
                n_total=plan.n_total,
                n_selected=len(items),
                shuffled=spec.shuffle,
            ),
            index=kind.index_info(),
            options=kind.effective_options(),
            conditions=results,
            warnings=list(kind.warnings),
            seconds=round(time.perf_counter() - started, 2),
        )

    def _run_condition(
        self,
        kind: TaskKind,
        condition: Condition,
        items: Sequence[EvalItem],
        journal: Journal,
        progress: Progress | None,
    ) -> ConditionResult:
        name = kind.spec.name
        records: dict[str, ItemRecord] = {}
        for item in items:
            done = journal.done.get((name, condition.name, item.id))
            if done is not None:
                records[item.id] = done
        resumed = len(records)
        pending = [item for item in items if item.id not in records]
        bar: TaskID | None = None
        if progress is not None:
            bar = progress.add_task(f"{name} {condition.name}", total=len(items), completed=resumed)

        def finish(record: ItemRecord) -> None:
            journal.append(record)
            records[record.item_id] = record
            if progress is not None and bar is not None:
                progress.advance(bar)
            if self._on_record is not None:
                self._on_record(kind, condition, record)

        self._evaluate_all(kind, condition, pending, kind.ctx.options.concurrency, finish)
        ordered = [records[item.id] for item in items if item.id in records]
        failed = [r for r in ordered if r.error is not None]
        if failed and len(failed) == len(ordered):
            kind.warn(f"every item failed under {condition.name}: {failed[0].error}")
        return ConditionResult(
            condition=condition.name,
            mode=condition.mode,
            retriever=condition.retriever,
            scoring=kind.scoring(condition),
            n=len(ordered),
            n_errors=len(failed),
            n_computed=len(ordered) - resumed,
            n_resumed=resumed,
            metrics=aggregate(kind.spec, ordered),
            subtasks=_by_subtask(kind.spec, ordered),
            latency_ms=LatencyStats(**latency_summary([r.latency_ms for r in ordered])),
            items=ordered,
        )

    @staticmethod
    def _evaluate_all(
        kind: TaskKind,
        condition: Condition,
        items: Sequence[EvalItem],
        concurrency: int,
        finish: Callable[[ItemRecord], None],
    ) -> None:
        def one(item: EvalItem) -> ItemRecord:
            started = time.perf_counter()
            try:
                record = kind.evaluate(item, condition)
            except LumenError as exc:
                logger.warning("%s %s %s: %s", kind.spec.name, condition.name, item.id, exc)
                record = kind.record(item, condition, error=str(exc))
            elapsed = round((time.perf_counter() - started) * 1000, 2)
            return record.model_copy(update={"latency_ms": elapsed})

        if concurrency <= 1:
            for item in items:
                finish(one(item))
            return
        pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="lumen-eval")
        try:
            queue = iter(items)
            running: set[Future[ItemRecord]] = set()
            for item in queue:
                running.add(pool.submit(one, item))
                if len(running) >= concurrency * 2:
                    break
            while running:
                finished, running = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    finish(future.result())
                    following = next(queue, None)
                    if following is not None:
                        running.add(pool.submit(one, following))
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def aggregate(spec: TaskSpec, records: Sequence[ItemRecord]) -> dict[str, float | None]:
    """The task's metrics, then any other per-item values, over records without errors."""
    valid = [r for r in records if r.error is None]
    extra = sorted({k for r in valid for k in r.values} - set(spec.metrics))
    names = [*spec.metrics, *extra]
    result: dict[str, float | None] = {}
    for name in names:
        metric = get_metric(name) if name in spec.metrics else _metric_or_mean(name)
        value = metric.aggregate(valid)
        result[name] = round(value, 4) if value is not None else None
    return result


def _metric_or_mean(name: str) -> Metric:
    try:
        return get_metric(name)
    except InputError:
        return mean_metric(name, "Mean of the per-item value.")


def _by_subtask(
    spec: TaskSpec, records: Sequence[ItemRecord]
) -> dict[str, dict[str, float | None]]:
    names = sorted({r.subtask for r in records if r.subtask is not None})
    if len(names) < 2:
        return {}
    return {name: aggregate(spec, [r for r in records if r.subtask == name]) for name in names}


def run_eval(
    tasks: Sequence[str],
    options: RunOptions,
    *,
    settings: Settings | None = None,
    embedder: Embedder | None = None,
    llm: LLM | None = None,
    console: Console | None = None,
) -> RunResults:
    """Run tasks with the given (or loaded) settings: the one-call API."""
    from lumen.settings import load_settings

    runner = EvalRunner(settings or load_settings(), embedder=embedder, llm=llm, console=console)
    return runner.run(tasks, options)
