"""Readers of the evaluation dataset formats; a bad record is named with its field.

Formats:

* ``mirage``: ``{task: {id: {question, options: {A: ..}, answer: "A"[, PMID]}}}`` (MIRAGE), or
  the same items without the task level (``{id: {...}}``);
* ``mcqa-jsonl``: one ``{"id", "question", "options", "answer"}`` object per line;
* ``pqal``: PubMedQA's ``ori_pqal.json``: ``{pmid: {QUESTION, CONTEXTS[], final_decision}}``;
* ``qrels``: TREC qrels (``qid 0 docid relevance`` per line) with a queries TSV
  (``qid<TAB>question`` per line);
* ``medquad``: the MedQuAD XML folder (question/answer pairs through the MedQuAD loader).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lumen.errors import InputError

PUBMEDQA_LABELS = ("yes", "no", "maybe")


@dataclass(frozen=True)
class MCItem:
    """A multiple-choice question."""

    id: str
    question: str
    options: dict[str, str]
    answer: str
    subtask: str | None = None
    pmids: tuple[str, ...] = ()


@dataclass(frozen=True)
class PubMedQAItem:
    """A labelled PubMedQA question with its abstract (the gold context)."""

    pmid: str
    question: str
    contexts: tuple[str, ...]
    decision: str
    labels: tuple[str, ...] = ()
    long_answer: str = ""


@dataclass(frozen=True)
class RetrievalQuery:
    """A query and its relevance judgements (doc id → grade)."""

    id: str
    question: str
    qrels: dict[str, int] = field(default_factory=dict)
    reference: str = ""
    url: str = ""


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from exc
    except UnicodeDecodeError:
        raise InputError(f"{path} is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{path} is not valid JSON: {exc.msg} (line {exc.lineno})") from None


def _bad(path: Path, record: str, field_name: str, problem: str) -> InputError:
    return InputError(f"{path}: record {record!r}: field {field_name!r} {problem}")


def _mc_item(path: Path, record: str, raw: Any, subtask: str | None, item_id: str) -> MCItem:
    if not isinstance(raw, dict):
        raise InputError(f"{path}: record {record!r} must be an object, got {type(raw).__name__}")
    question = raw.get("question")
    if not isinstance(question, str) or not question.strip():
        raise _bad(path, record, "question", "must be a non-empty string")
    options = raw.get("options")
    if isinstance(options, list):
        options = {chr(ord("A") + i): o for i, o in enumerate(options)}
    if not isinstance(options, dict) or len(options) < 2:
        raise _bad(
            path, record, "options", "must map option keys (A, B, ...) to texts, two or more"
        )
    for key, text in options.items():
        if not isinstance(text, str) or not text.strip():
            raise _bad(path, record, f"options.{key}", "must be a non-empty string")
    answer = raw.get("answer")
    if isinstance(answer, int) and not isinstance(answer, bool) and 0 <= answer < len(options):
        answer = list(options)[answer]
    if answer not in options:
        keys = ", ".join(options)
        raise _bad(
            path, record, "answer", f"must be one of the option keys {keys} (got {answer!r})"
        )
    pmids = raw.get("PMID") or raw.get("pmids") or ()
    if not isinstance(pmids, list | tuple):
        pmids = (pmids,)
    return MCItem(
        id=item_id,
        question=question.strip(),
        options={str(k): str(v) for k, v in options.items()},
        answer=str(answer),
        subtask=subtask,
        pmids=tuple(str(p) for p in pmids),
    )


def _looks_like_item(value: Any) -> bool:
    return isinstance(value, dict) and "question" in value


def load_mirage(path: Path, subset: str | None = None) -> list[MCItem]:
    """MIRAGE items (of task ``subset`` only when given), ids ``task/id`` unless subset."""
    data = _read_json(path)
    if not isinstance(data, dict) or not data:
        raise InputError(f"{path}: expected an object of tasks {{task: {{id: item}}}}")
    if all(_looks_like_item(v) for v in data.values()):
        groups: dict[str, Any] = {subset or path.stem: data}
    else:
        groups = data
    if subset is not None:
        if subset not in groups:
            first = next(iter(groups))
            entries = groups[first]
            if not isinstance(entries, dict) or not all(
                _looks_like_item(v) for v in entries.values()
            ):
                raise InputError(
                    f"{path}: not in the MIRAGE format {{task: {{id: {{question, options, "
                    f"answer}}}}}}: record {first!r} has no field 'question'"
                )
            names = ", ".join(sorted(groups)[:10])
            raise InputError(f"{path}: no task {subset!r} in this file (it has: {names})")
        groups = {subset: groups[subset]}
    items = []
    for task, entries in groups.items():
        if not isinstance(entries, dict):
            raise InputError(
                f"{path}: record {task!r} must be an object of items {{id: item}}, "
                f"got {type(entries).__name__}"
            )
        for item_id, raw in entries.items():
            record = f"{task}/{item_id}"
            items.append(_mc_item(path, record, raw, task, item_id if subset else record))
    if not items:
        raise InputError(f"{path}: no questions found")
    return items


def iter_jsonl(path: Path) -> Iterator[tuple[int, Any]]:
    """``(line number, object)`` for each non-blank line of a JSON-lines file."""
    try:
        with path.open(encoding="utf-8") as lines:
            for number, line in enumerate(lines, start=1):
                if not line.strip():
                    continue
                try:
                    yield number, json.loads(line)
                except json.JSONDecodeError as exc:
                    raise InputError(
                        f"{path}: line {number} is not valid JSON: {exc.msg}"
                    ) from None
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from exc
    except UnicodeDecodeError:
        raise InputError(f"{path} is not UTF-8 text") from None


def load_mc_jsonl(path: Path) -> list[MCItem]:
    """Multiple-choice items from JSON lines (``id`` defaults to the line number)."""
    items = []
    for number, raw in iter_jsonl(path):
        item_id = str(raw.get("id", number)) if isinstance(raw, dict) else str(number)
        subtask = raw.get("task") if isinstance(raw, dict) else None
        items.append(_mc_item(path, f"line {number}", raw, subtask, item_id))
    if not items:
        raise InputError(f"{path}: no questions found")
    return items


def load_multiple_choice(path: Path, *, subset: str | None, fmt: str | None) -> list[MCItem]:
    """Multiple-choice items in the MIRAGE or JSON-lines format."""
    if fmt == "mcqa-jsonl" or (fmt is None and path.suffix == ".jsonl"):
        items = load_mc_jsonl(path)
        return [i for i in items if subset is None or i.subtask in (None, subset)]
    return load_mirage(path, subset)


def load_pqal(path: Path) -> list[PubMedQAItem]:
    """Labelled PubMedQA items (``ori_pqal.json`` format)."""
    data = _read_json(path)
    if not isinstance(data, dict) or not data:
        raise InputError(f"{path}: expected an object {{pmid: {{QUESTION, CONTEXTS, ...}}}}")
    items = []
    for pmid, raw in data.items():
        if not isinstance(raw, dict):
            raise InputError(f"{path}: record {pmid!r} must be an object")
        question = raw.get("QUESTION")
        if not isinstance(question, str) or not question.strip():
            raise _bad(path, pmid, "QUESTION", "must be a non-empty string")
        contexts = raw.get("CONTEXTS")
        if not isinstance(contexts, list) or not all(isinstance(c, str) for c in contexts):
            raise _bad(path, pmid, "CONTEXTS", "must be a list of strings")
        decision = raw.get("final_decision")
        if decision not in PUBMEDQA_LABELS:
            raise _bad(path, pmid, "final_decision", f"must be yes, no or maybe (got {decision!r})")
        labels = raw.get("LABELS") or []
        items.append(
            PubMedQAItem(
                pmid=str(pmid),
                question=question.strip(),
                contexts=tuple(contexts),
                decision=decision,
                labels=tuple(str(label) for label in labels) if isinstance(labels, list) else (),
                long_answer=str(raw.get("LONG_ANSWER") or ""),
            )
        )
    return items


def load_qrels(path: Path) -> dict[str, dict[str, int]]:
    """TREC qrels: ``qid iteration docid relevance`` per line (``#`` comments allowed)."""
    qrels: dict[str, dict[str, int]] = {}
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from exc
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = line.split()
        if len(fields) != 4:
            raise InputError(
                f"{path}: line {number}: expected 'qid 0 docid relevance' (4 fields), "
                f"got {len(fields)}"
            )
        qid, _, doc, grade = fields
        try:
            relevance = int(grade)
        except ValueError:
            raise InputError(
                f"{path}: line {number}: field 'relevance' must be an integer (got {grade!r})"
            ) from None
        qrels.setdefault(qid, {})[doc] = relevance
    if not qrels:
        raise InputError(f"{path}: no relevance judgements found")
    return qrels


def load_queries(path: Path) -> dict[str, str]:
    """Queries TSV: ``qid<TAB>question`` per line."""
    queries: dict[str, str] = {}
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from exc
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        qid, tab, question = line.partition("\t")
        if not tab or not question.strip() or not qid.strip():
            raise InputError(f"{path}: line {number}: expected 'qid<TAB>question'")
        queries[qid.strip()] = question.strip()
    if not queries:
        raise InputError(f"{path}: no queries found")
    return queries


def retrieval_files(path: Path) -> tuple[Path, Path]:
    """The qrels and queries files of a retrieval dataset (a folder, or the qrels file).

    A folder holds ``qrels.txt`` (or ``qrels.tsv``/``qrels``) and ``queries.tsv``; beside a qrels
    file ``NAME.EXT`` the queries are ``NAME.queries.tsv`` or ``queries.tsv``.
    """
    if path.is_dir():
        qrels = next(
            (path / n for n in ("qrels.txt", "qrels.tsv", "qrels") if (path / n).is_file()), None
        )
        queries = path / "queries.tsv"
        if qrels is None:
            raise InputError(f"{path}: no qrels.txt in this folder")
    else:
        qrels = path
        queries = path.with_name(f"{path.stem}.queries.tsv")
        if not queries.is_file():
            queries = path.with_name("queries.tsv")
    if not queries.is_file():
        raise InputError(f"no queries file for {qrels} (expected {queries})")
    return qrels, queries


def load_retrieval(path: Path) -> list[RetrievalQuery]:
    """Queries that have at least one relevant document, in the queries file's order."""
    qrels_path, queries_path = retrieval_files(path)
    qrels = load_qrels(qrels_path)
    queries = load_queries(queries_path)
    missing = sorted(set(qrels) - set(queries))
    if missing:
        raise InputError(f"{qrels_path}: query {missing[0]!r} has no text in {queries_path}")
    return [
        RetrievalQuery(id=qid, question=text, qrels=qrels[qid])
        for qid, text in queries.items()
        if any(grade > 0 for grade in qrels.get(qid, {}).values())
    ]


def data_hash(path: Path) -> str:
    """SHA-256 of a file, or of a folder's relative paths and file contents in sorted order."""
    digest = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for file in files:
        if path.is_dir():
            digest.update(file.relative_to(path).as_posix().encode())
            digest.update(b"\0")
        with file.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()
