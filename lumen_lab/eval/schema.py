"""The results schema (documented in SCHEMA.md): pydantic models that every run is validated by."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from lumen.errors import InputError

SCHEMA_VERSION = "1.0"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ItemRecord(_Model):
    """One item evaluated under one condition: also one line of ``items.jsonl``."""

    task: str
    condition: str
    item_id: str
    subtask: str | None = None
    question: str = ""
    target: Any = None
    prediction: Any = None
    values: dict[str, float] = Field(
        default_factory=dict, description="Per-item metric values (averaged into the metrics)."
    )
    details: dict[str, Any] = Field(
        default_factory=dict, description="Anything else: option scores, raw text, doc ids."
    )
    latency_ms: float = 0.0
    error: str | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        """What identifies the record for --resume."""
        return (self.task, self.condition, self.item_id)


class LatencyStats(_Model):
    """Per-item latency in milliseconds."""

    mean: float = 0.0
    p50: float = 0.0
    p90: float = 0.0
    p95: float = 0.0
    max: float = 0.0


class ConditionResult(_Model):
    """One task under one condition (a mode and/or a retriever)."""

    condition: str
    mode: str
    retriever: str | None = None
    scoring: str | None = None
    n: int = Field(description="Items with a record (errors included).")
    n_errors: int = 0
    n_computed: int = Field(0, description="Items computed in this invocation.")
    n_resumed: int = Field(0, description="Items read back from items.jsonl (--resume).")
    metrics: dict[str, float | None]
    subtasks: dict[str, dict[str, float | None]] = Field(default_factory=dict)
    latency_ms: LatencyStats = Field(default_factory=LatencyStats)
    items: list[ItemRecord] = Field(default_factory=list)


class DataInfo(_Model):
    """The dataset a task read."""

    path: str
    format: str
    sha256: str
    n_total: int = Field(description="Valid items in the dataset (after the subset filter).")
    n_selected: int = Field(description="Items evaluated (after --limit).")
    shuffled: bool = False


class IndexInfo(_Model):
    """The index that RAG or retrieval conditions searched."""

    path: str
    owned: bool = Field(description="Built by the harness for this task (else reused as found).")
    corpus: list[dict[str, Any]] = Field(default_factory=list)
    collections: list[str] = Field(default_factory=list)
    include_questions: bool | None = None
    documents: int | None = None
    chunks: int | None = None
    added: int = 0
    unchanged: int = 0
    build_seconds: float = 0.0
    note: str = ""


class TaskResult(_Model):
    """One task: its data, index and per-condition results."""

    name: str
    kind: str
    version: int
    description: str = ""
    primary_metric: str | None = None
    data: DataInfo
    index: IndexInfo | None = None
    options: dict[str, Any] = Field(default_factory=dict)
    conditions: list[ConditionResult]
    warnings: list[str] = Field(default_factory=list)
    seconds: float = 0.0


class ModelInfo(_Model):
    """The language and embedding models."""

    llm: str = Field(description="Backend and model ('llama_cpp:<file>', 'openai:<url>#<name>').")
    embedder: str | None = None


class RunResults(_Model):
    """Everything one ``lumen eval run`` produced (``results.json``)."""

    schema_version: str = SCHEMA_VERSION
    lumen_version: str
    run_id: str
    started_at: str
    finished_at: str
    command: list[str] = Field(default_factory=list)
    model: ModelInfo
    settings: dict[str, Any]
    seed: int
    config: dict[str, Any]
    machine: dict[str, Any] = Field(default_factory=dict)
    timings_s: dict[str, float] = Field(default_factory=dict)
    tasks: list[TaskResult]


def load_results(path: Path) -> RunResults:
    """Read and validate a ``results.json``; InputError names the first invalid field."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise InputError(f"{path} is not valid JSON: {exc.msg} (line {exc.lineno})") from exc
    return validate_results(data, source=str(path))


def validate_results(data: Any, *, source: str = "results") -> RunResults:
    """Validate a results object against the schema."""
    try:
        return RunResults.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise InputError(
            f"{source} does not match the results schema: {where}: {first['msg']}"
        ) from None
