"""The interface of a task kind: load a dataset, list conditions, score one item."""

from __future__ import annotations

import logging
import random
import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from lumen.errors import InputError
from lumen.rag.prompt import source_text
from lumen_lab.eval.context import EvalContext, IndexHandle
from lumen_lab.eval.registry import TaskSpec
from lumen_lab.eval.schema import IndexInfo, ItemRecord

if TYPE_CHECKING:
    from lumen.components.llm.base import LLM
    from lumen.rag.retrieve import RetrievedChunk

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Condition:
    """One way of running a task: a mode and, where it retrieves, a retriever."""

    name: str
    mode: str
    retriever: str | None = None


@dataclass(frozen=True)
class EvalItem:
    """One dataset item as a kind loaded it."""

    id: str
    question: str
    target: Any
    payload: Any = None
    subtask: str | None = None


class TaskKind(ABC):
    """A family of tasks that share a dataset format and a way of scoring.

    Subclasses register with ``@register_kind("name")`` and implement ``load`` and
    ``evaluate``; ``evaluate`` is called from worker threads (``--concurrency``).
    """

    kind: ClassVar[str] = ""
    #: Modes the kind supports; the first is the default when the task declares none.
    modes: ClassVar[tuple[str, ...]] = ("closed-book",)
    #: Dataset format when the task declares none.
    default_format: ClassVar[str] = ""

    def __init__(self, spec: TaskSpec, ctx: EvalContext) -> None:
        self.spec = spec
        self.ctx = ctx
        self.warnings: list[str] = []
        self._index: IndexHandle | None = None
        self._warn_lock = threading.Lock()

    # --- data ----------------------------------------------------------------------------------

    def data_path(self) -> Path:
        """The dataset: --data, else the task's path under ``paths.sources_dir``."""
        if self.ctx.options.data is not None:
            path = self.ctx.options.data.expanduser()
        elif self.spec.data is not None:
            path = self.ctx.resolve(self.spec.data)
        else:
            raise InputError(f"task {self.spec.name!r} has no default dataset: pass --data PATH")
        if not path.exists():
            raise InputError(f"dataset not found: {path}")
        return path

    @property
    def data_format(self) -> str:
        """The dataset format."""
        return self.spec.format or self.default_format

    @abstractmethod
    def load(self, path: Path) -> list[EvalItem]:
        """Every valid item of the dataset (an InputError names the first bad record)."""

    def select(self, items: Sequence[EvalItem]) -> list[EvalItem]:
        """Items to evaluate: shuffled with the seed if the task says so, then --limit."""
        chosen = list(items)
        if self.spec.shuffle:
            random.Random(self.ctx.options.seed).shuffle(chosen)
        limit = self.ctx.options.limit or self.spec.default_limit
        return chosen[:limit] if limit else chosen

    # --- conditions ----------------------------------------------------------------------------

    def conditions(self) -> list[Condition]:
        """Modes (x retrievers for retrieving modes) chosen by options, the task, the kind."""
        modes = tuple(m for m in self.ctx.options.modes if m in self.modes)
        if self.ctx.options.modes and not modes:
            asked = ", ".join(self.ctx.options.modes)
            raise InputError(
                f"task {self.spec.name!r} has no mode {asked} (it has: {', '.join(self.modes)})"
            )
        modes = modes or tuple(self.spec.modes) or self.modes[:1]
        result = []
        for mode in modes:
            if mode == "rag":
                for retriever in self.retrievers():
                    result.append(Condition(f"rag:{retriever}", mode, retriever))
            else:
                result.append(Condition(mode, mode))
        return result

    def retrievers(self) -> tuple[str, ...]:
        """Retrievers chosen by options, else the task, else settings.retrieval.mode."""
        return (
            self.ctx.options.retrievers
            or tuple(self.spec.retrievers)
            or (self.ctx.settings.retrieval.mode,)
        )

    def check(self, conditions: Sequence[Condition], data_path: Path) -> None:
        """Fail early, before the run starts: opens an existing index the conditions search."""
        if self.spec.corpus is None and any(c.retriever is not None for c in conditions):
            self._index = self.ctx.index(self.spec, data_path)

    def prepare(self, conditions: Sequence[Condition], data_path: Path) -> None:
        """Get ready to evaluate: open (or build) the index if a condition retrieves."""
        if self._index is None and any(c.retriever is not None for c in conditions):
            self._index = self.ctx.index(self.spec, data_path)

    def scoring(self, condition: Condition) -> str | None:
        """How answers are scored under ``condition`` (recorded in the results)."""
        return None

    @property
    def index(self) -> IndexHandle:
        """The index opened by ``prepare``."""
        if self._index is None:
            raise RuntimeError("prepare() did not open an index")
        return self._index

    def index_info(self) -> IndexInfo | None:
        """The index used, if any."""
        return self._index.info if self._index is not None else None

    def effective_options(self) -> dict[str, Any]:
        """The task's options after defaults (recorded in the results)."""
        return dict(self.spec.options)

    def option(self, name: str, default: Any) -> Any:
        """A task option: ``--set NAME=VALUE`` (options.extra), else the YAML, else ``default``."""
        if name in self.ctx.options.extra:
            return self.ctx.options.extra[name]
        return self.spec.options.get(name, default)

    # --- evaluation ----------------------------------------------------------------------------

    @abstractmethod
    def evaluate(self, item: EvalItem, condition: Condition) -> ItemRecord:
        """Score one item under one condition (called from worker threads)."""

    def record(self, item: EvalItem, condition: Condition, **fields: Any) -> ItemRecord:
        """An ItemRecord for ``item`` with the task's and condition's names filled in."""
        fields.setdefault("target", item.target)
        return ItemRecord(
            task=self.spec.name,
            condition=condition.name,
            item_id=item.id,
            subtask=item.subtask,
            question=item.question,
            **fields,
        )

    def warn(self, message: str) -> None:
        """Log a warning once and keep it for the results."""
        with self._warn_lock:
            if message in self.warnings:
                return
            self.warnings.append(message)
        logger.warning("%s: %s", self.spec.name, message)

    # --- helpers for prompts -------------------------------------------------------------------

    def retrieve(self, question: str, condition: Condition, k: int) -> list[RetrievedChunk]:
        """The top ``k`` chunks for ``question`` under the condition's retriever."""
        mode: Any = condition.retriever or self.ctx.settings.retrieval.mode
        result = self.index.retrieve(
            question, collections=self.ctx.collections(self.spec), k=k, mode=mode
        )
        return list(result.chunks)


def format_passages(
    llm: LLM, chunks: Sequence[RetrievedChunk], budget: int
) -> tuple[str, list[str]]:
    """Numbered passages within ``budget`` tokens, and the chunk ids used."""
    blocks: list[str] = []
    used: list[str] = []
    spent = 0
    for item in chunks:
        chunk = item.chunk
        heading = chunk.title if not chunk.section else f"{chunk.title} - {chunk.section}"
        prefix = f"[{len(used) + 1}] {heading}: "
        remaining = budget - spent - llm.count_tokens(prefix) - 2
        if remaining < 24:
            break
        text = " ".join(source_text(llm, item, remaining).split())
        if not text:
            break
        block = prefix + text
        blocks.append(block)
        used.append(chunk.id)
        spent += llm.count_tokens(block) + 2
    return "\n".join(blocks), used
