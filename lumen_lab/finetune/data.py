"""``prepare``: chat-format instruction data, deduplicated and split by hashed id.

* PubMedQA PQA-L: the abstract's sections as Lumen's numbered sources (the conclusions, which
  state the answer, left out), the question, and the answer ``Yes. <long answer> [n]``.
* MedQuAD: the answer as source [1], the question, and the answer's opening cited ``[1]``.

Prompts are built by :func:`lumen.rag.prompt.build_prompt` (the same format the pipeline
sends) and rendered with the model's chat template. Each item lands in ``train``,
``validation`` or ``test`` by a hash of its id, so the split never changes between runs;
PubMedQA test items are checked to be absent from training.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lumen.components.llm.base import GenerationParams, Message
from lumen.errors import InputError
from lumen_lab.finetune.config import DataOptions, Recipe

logger = logging.getLogger(__name__)

SPLITS = ("train", "validation", "test")
LABELS = ("yes", "no", "maybe")
REQUIRED_FIELDS = ("id", "source", "split", "prompt", "completion")
MANIFEST = "manifest.json"


@dataclass
class Example:
    """One instruction example before rendering."""

    id: str
    source: str
    question: str
    sources: list[tuple[str, str]]  # (title, text), numbered from 1
    answer: str
    label: str | None = None
    cite: int = 1
    meta: dict[str, Any] = field(default_factory=dict)


class TokenizerLLM:
    """Enough of Lumen's LLM protocol for :func:`build_prompt`: counts with a HF tokenizer."""

    def __init__(self, tokenizer: Any, context_window: int) -> None:
        self._tokenizer = tokenizer
        self._window = context_window

    @property
    def identity(self) -> str:
        """Names the tokenizer."""
        return f"tokenizer:{getattr(self._tokenizer, 'name_or_path', '?')}"

    @property
    def context_window(self) -> int:
        """The training sequence length."""
        return self._window

    def count_tokens(self, text: str) -> int:
        """Exact count under the tokenizer."""
        return len(self._tokenizer(text, add_special_tokens=False)["input_ids"])

    def stream_chat(self, messages: Sequence[Message], params: GenerationParams) -> Iterator[str]:
        """Not a generator: only counts tokens."""
        raise NotImplementedError


def split_of(item_id: str, options: DataOptions) -> str:
    """``train``, ``validation`` or ``test``, from a salted SHA-256 of the id (stable)."""
    digest = hashlib.sha256(f"{options.split_salt}:{item_id}".encode()).digest()
    position = int.from_bytes(digest[:8], "big") / 2**64
    if position < options.test_fraction:
        return "test"
    if position < options.test_fraction + options.validation_fraction:
        return "validation"
    return "train"


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9 ]", " ", text.lower()).split())


def _sentences_within(text: str, llm: TokenizerLLM, budget: int) -> str:
    """Whole sentences from the start of ``text`` within ``budget`` tokens (at least one cut)."""
    from lumen.rag.prompt import truncate_to_tokens

    parts = re.split(r"(?<=[.!?])\s+", " ".join(text.split()))
    kept: list[str] = []
    for part in parts:
        candidate = " ".join([*kept, part])
        if llm.count_tokens(candidate) > budget:
            break
        kept.append(part)
    if kept:
        return " ".join(kept)
    return truncate_to_tokens(llm, text, budget)


def labelled_abstract(contexts: Sequence[str], labels: Sequence[str]) -> str:
    """An abstract's sections, one a line, each after its label (``RESULTS: ...``)."""
    padded = list(labels) + [""] * (len(contexts) - len(labels))
    return "\n".join(
        (f"{label.upper()}: " if label else "") + " ".join(text.split())
        for label, text in zip(padded, contexts, strict=False)
        if text.strip()
    )


def pubmedqa_examples(path: Path) -> list[Example]:
    """PubMedQA items as examples: the labelled abstract (no conclusions) as source [1]."""
    from lumen_lab.eval.datasets import load_pqal

    if not path.is_file():
        raise InputError(f"data.pubmedqa: file not found: {path}")
    examples = []
    for item in load_pqal(path):
        if not item.long_answer.strip():
            raise InputError(f"{path}: record {item.pmid!r}: field 'LONG_ANSWER' is missing")
        abstract = labelled_abstract(item.contexts, item.labels)
        if not abstract:
            raise InputError(f"{path}: record {item.pmid!r}: field 'CONTEXTS' is empty")
        sources = [(f"PubMed {item.pmid}", abstract)]
        cite = 1
        answer = f"{item.decision.capitalize()}. {' '.join(item.long_answer.split())}"
        examples.append(
            Example(
                id=f"pubmedqa:{item.pmid}",
                source="pubmedqa",
                question=item.question,
                sources=sources,
                answer=answer,
                label=item.decision,
                cite=cite,
                meta={"pmid": item.pmid},
            )
        )
    return examples


def medquad_examples(root: Path) -> list[Example]:
    """MedQuAD QA pairs as examples (the answer is its own source)."""
    from lumen.ingest.loaders.medquad import iter_qa_pairs

    if not root.exists():
        raise InputError(f"data.medquad: folder not found: {root}")
    examples = []
    for pair in iter_qa_pairs(root):
        if not pair.question.strip() or not pair.answer.strip():
            continue
        title = pair.focus or pair.question
        examples.append(
            Example(
                id=f"medquad:{pair.doc_id.removeprefix('medquad:')}/{pair.qid}",
                source="medquad",
                question=pair.question,
                sources=[(title, pair.answer)],
                answer=pair.answer,
                meta={"url": pair.url, "qtype": pair.qtype},
            )
        )
    return examples


def deduplicate(examples: Sequence[Example]) -> list[Example]:
    """The first example (by id) of each normalised question and each id."""
    seen: set[str] = set()
    kept = []
    for example in sorted(examples, key=lambda e: e.id):
        key = _norm(example.question)
        if key in seen or example.id in seen:
            continue
        seen.update((key, example.id))
        kept.append(example)
    return kept


def system_prompt_text(options: DataOptions) -> str | None:
    """The system prompt the examples use (None: no system message)."""
    if options.system_prompt == "lumen":
        from lumen.rag.prompt import SYSTEM_PROMPT

        return SYSTEM_PROMPT
    if options.system_prompt == "none":
        return None
    return options.system_prompt


def _fit_sources(
    chunks: list[Any],
    llm: TokenizerLLM,
    question: str,
    system: str | None,
    options: DataOptions,
) -> None:
    """Cut every source, and every line of it, in proportion to its length to fit the budget.

    :func:`build_prompt` fills sources in order and cuts the end off; PubMedQA's last sections
    (results) matter most, so each section keeps a share instead.
    """
    import dataclasses

    from lumen.rag.expand import FOCUS
    from lumen.rag.prompt import SYSTEM_PROMPT, truncate_to_tokens
    from lumen.safety.injection import fence_source

    fixed = llm.count_tokens(system or SYSTEM_PROMPT) + llm.count_tokens(question) + 48
    budget = min(options.max_context_tokens, llm.context_window - options.max_answer_tokens - fixed)
    sizes = [llm.count_tokens(item.chunk.text) for item in chunks]
    overheads = [
        llm.count_tokens(fence_source(n + 1, item.chunk.display_title, "")) + 4
        for n, item in enumerate(chunks)
    ]
    room = budget - sum(overheads) - 8
    if room <= 0 or sum(sizes) <= room:
        return
    total = sum(sizes)
    for index, item in enumerate(chunks):
        share = max(16, room * sizes[index] // total)
        lines = item.chunk.text.split("\n")
        line_sizes = [max(llm.count_tokens(line), 1) for line in lines]
        whole = sum(line_sizes) + len(lines)
        text = "\n".join(
            truncate_to_tokens(llm, line, max(8, (share - len(lines)) * size // whole))
            for line, size in zip(lines, line_sizes, strict=True)
        )
        metadata = {k: v for k, v in item.chunk.metadata.items() if k != FOCUS}  # offsets moved
        chunk = dataclasses.replace(item.chunk, text=text, metadata=metadata)
        chunks[index] = dataclasses.replace(item, chunk=chunk)


@dataclass
class RenderedPrompt:
    """A prompt in Lumen's format, as chat messages and as the chat template renders it."""

    messages: list[dict[str, str]]
    text: str
    n_sources: int


def render_prompt(
    question: str, chunks: list[Any], tokenizer: Any, recipe: Recipe
) -> RenderedPrompt:
    """Lumen's prompt for ``question`` over ``chunks`` (RetrievedChunk), fitted and rendered."""
    from lumen.rag.prompt import build_prompt

    options = recipe.data
    llm = TokenizerLLM(tokenizer, recipe.train.max_length)
    chunks = list(chunks)
    system = system_prompt_text(options)
    _fit_sources(chunks, llm, question, system, options)
    prompt = build_prompt(
        llm,
        question,
        chunks,
        max_answer_tokens=options.max_answer_tokens,
        max_context_tokens=options.max_context_tokens,
        **({"system_prompt": system} if system is not None else {}),
    )
    messages = [
        {"role": m.role, "content": m.content}
        for m in prompt.messages
        if system is not None or m.role != "system"
    ]
    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return RenderedPrompt(messages, text, len(prompt.sources))


def render(example: Example, tokenizer: Any, recipe: Recipe) -> dict[str, Any]:
    """One JSONL record: chat messages, and prompt/completion rendered by the chat template."""
    from lumen.documents import Chunk
    from lumen.rag.retrieve import RetrievedChunk

    chunks: list[RetrievedChunk] = [
        RetrievedChunk(
            Chunk(
                id=f"{example.id}#{n}",
                doc_id=example.id,
                collection="finetune",
                source=example.source,
                title=title,
                section="",
                url="",
                text=text,
                position=n,
                n_chunks=len(example.sources),
                doc_hash="",
            ),
            score=1.0,
        )
        for n, (title, text) in enumerate(example.sources)
    ]
    prompt = render_prompt(example.question, chunks, tokenizer, recipe)
    llm = TokenizerLLM(tokenizer, recipe.train.max_length)
    cite = min(example.cite, max(prompt.n_sources, 1))
    answer = _sentences_within(example.answer, llm, recipe.data.max_answer_tokens - 6)
    completion = f"{answer} [{cite}]"
    full = tokenizer.apply_chat_template(
        [*prompt.messages, {"role": "assistant", "content": completion}], tokenize=False
    )
    if not full.startswith(prompt.text):
        raise InputError("the chat template renders the prompt differently inside a conversation")
    record: dict[str, Any] = {
        "id": example.id,
        "source": example.source,
        "messages": [*prompt.messages, {"role": "assistant", "content": completion}],
        "prompt": prompt.text,
        "completion": full[len(prompt.text) :],
        "n_sources": prompt.n_sources,
    }
    if example.label is not None:
        record["label"] = example.label
    record.update(example.meta)
    return record


def sources_dir(options: DataOptions) -> Path:
    """The datasets folder: the recipe's, else Lumen's ``paths.sources_dir``."""
    if options.sources_dir:
        return Path(options.sources_dir).expanduser()
    from lumen.settings import load_settings

    return load_settings().paths.sources_dir


def settings_for(recipe: Recipe, **llm: Any) -> Any:
    """Lumen's settings with the recipe's datasets folder (and ``llm`` overrides)."""
    from lumen.settings import load_settings

    settings = load_settings()
    update: dict[str, Any] = {
        "paths": settings.paths.model_copy(update={"sources_dir": sources_dir(recipe.data)})
    }
    if llm:
        update["llm"] = settings.llm.model_copy(update=llm)
    return settings.model_copy(update=update)


def collect(recipe: Recipe) -> dict[str, list[Example]]:
    """Examples per split, deduplicated, MedQuAD capped (a stable choice by hashed id)."""
    options = recipe.data
    root = sources_dir(options)
    pubmedqa = pubmedqa_examples(root / options.pubmedqa)
    medquad: list[Example] = []
    if options.medquad and options.medquad_max:
        every = deduplicate(medquad_examples(root / options.medquad))
        rank = sorted(every, key=lambda e: hashlib.sha256(f"pick:{e.id}".encode()).hexdigest())
        medquad = rank[: options.medquad_max]
    examples = deduplicate([*pubmedqa, *medquad])
    splits: dict[str, list[Example]] = {name: [] for name in SPLITS}
    for example in examples:
        splits[split_of(example.id, options)].append(example)
    check_no_leakage(splits)
    if options.balance_labels:
        splits["train"] = balance_labels(splits["train"])
    return splits


def balance_labels(examples: Sequence[Example]) -> list[Example]:
    """``examples`` plus repeats of labelled ones until every label is as common as the commonest.

    Repeats cycle through each label's items in id order and get ids ending ``~2``, ``~3``...
    Unlabelled examples (MedQuAD) are kept once.
    """
    import dataclasses

    by_label: dict[str, list[Example]] = {}
    for example in sorted(examples, key=lambda e: e.id):
        if example.label:
            by_label.setdefault(example.label, []).append(example)
    if not by_label:
        return list(examples)
    target = max(len(items) for items in by_label.values())
    extra = []
    for items in by_label.values():
        for index in range(target - len(items)):
            original = items[index % len(items)]
            repeat = index // len(items) + 2
            extra.append(dataclasses.replace(original, id=f"{original.id}~{repeat}"))
    return [*examples, *extra]


def check_no_leakage(splits: dict[str, list[Example]]) -> None:
    """Assert that no test item (by id or question) is in training or validation."""
    test_ids = {e.id for e in splits["test"]}
    test_questions = {_norm(e.question) for e in splits["test"]}
    for name in ("train", "validation"):
        for example in splits[name]:
            if example.id in test_ids or _norm(example.question) in test_questions:
                raise AssertionError(f"test item {example.id} leaked into {name}")


def read_split(path: Path, *, required: Sequence[str] = REQUIRED_FIELDS) -> list[dict[str, Any]]:
    """Records of a prepared split; InputError naming a missing field and its line."""
    from lumen_lab.eval.datasets import iter_jsonl

    if not path.is_file():
        raise InputError(f"dataset not found: {path} (run 'lumen finetune prepare' first)")
    records = []
    for number, record in iter_jsonl(path):
        if not isinstance(record, dict):
            raise InputError(f"{path}: line {number} is not an object")
        missing = [name for name in required if name not in record]
        if missing:
            raise InputError(
                f"{path}: line {number} lacks field(s) {', '.join(missing)} "
                f"(needed: {', '.join(required)})"
            )
        records.append(record)
    if not records:
        raise InputError(f"{path}: no examples")
    return records
