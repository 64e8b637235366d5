"""Trainer callbacks of the fine-tuning runs: metrics rows, a progress bar, a time budget.

Imported only once transformers is known to be installed (``train`` checks the extra).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from transformers import TrainerCallback

logger = logging.getLogger(__name__)


class MetricsLogger(TrainerCallback):  # type: ignore[misc]
    """Hands each log to ``record`` as a row, with the time per optimizer step."""

    def __init__(self, record: Callable[[dict[str, Any]], None]) -> None:
        self.record = record
        self.last_time = time.perf_counter()
        self.last_step = 0

    def on_train_begin(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
        self.last_time = time.perf_counter()
        self.last_step = state.global_step

    def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kw: Any) -> None:
        if not logs:
            return
        now = time.perf_counter()
        row: dict[str, Any] = {"step": state.global_step, "epoch": state.epoch}
        row.update({k: v for k, v in logs.items() if isinstance(v, int | float)})
        if "loss" in logs and state.global_step > self.last_step:
            row["s_per_step"] = (now - self.last_time) / (state.global_step - self.last_step)
            self.last_time, self.last_step = now, state.global_step
        self.record(row)


class RichProgress(TrainerCallback):  # type: ignore[misc]
    """A rich progress bar over optimizer steps, with the latest losses."""

    def __init__(self, total_hint: int) -> None:
        self.total_hint = total_hint
        self.progress: Progress | None = None
        self.task: Any = None

    def on_train_begin(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
        self.progress = Progress(
            TextColumn("[bold]training"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[info]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
        )
        self.progress.start()
        self.task = self.progress.add_task(
            "train", total=state.max_steps or self.total_hint, completed=state.global_step, info=""
        )

    def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
        if self.progress is not None:
            self.progress.update(self.task, completed=state.global_step)

    def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kw: Any) -> None:
        if self.progress is not None and logs:
            parts = [f"{k} {logs[k]:.4f}" for k in ("loss", "eval_loss") if k in logs]
            if parts:
                self.progress.update(self.task, info=", ".join(parts))

    def on_train_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None


class TimeBudget(TrainerCallback):  # type: ignore[misc]
    """Stops training, with a checkpoint, once ``minutes`` have passed (0: never)."""

    def __init__(self, minutes: float) -> None:
        self.minutes = minutes
        self.deadline: float | None = None

    def on_train_begin(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
        self.deadline = time.monotonic() + self.minutes * 60 if self.minutes else None

    def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
        if self.deadline is not None and time.monotonic() > self.deadline:
            logger.warning("train.max_minutes reached at step %s: stopping", state.global_step)
            control.should_training_stop = True
            control.should_save = True
            control.should_evaluate = True
