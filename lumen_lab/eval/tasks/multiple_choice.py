"""Multiple-choice QA (MIRAGE format): option log-likelihood or a parsed generated answer."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, ClassVar

from lumen.components.llm.base import LLM, GenerationParams, Message
from lumen.rag.prompt import truncate_to_tokens
from lumen_lab.eval.datasets import MCItem, load_multiple_choice
from lumen_lab.eval.registry import register_kind
from lumen_lab.eval.schema import ItemRecord
from lumen_lab.eval.scoring import (
    LoglikelihoodScorer,
    LogprobsUnavailable,
    best_option,
    parse_choice,
)
from lumen_lab.eval.tasks.base import Condition, EvalItem, TaskKind, format_passages

GENERATE_SYSTEM = (
    "You are a medical expert taking a multiple-choice exam. Reply with the letter of the "
    "correct option only."
)
_MARGIN_TOKENS = 32


@register_kind("multiple_choice")
class MultipleChoiceTask(TaskKind):
    """Questions with lettered options; closed-book or with retrieved passages (RAG).

    Options (YAML ``options`` or ``--set``): ``scoring`` loglikelihood|generate, ``choices``
    text (score each option's text, cloze style) | letter (list the options, score the
    letter), ``k`` passages retrieved, ``context_tokens`` budget for passages,
    ``max_new_tokens`` for generation scoring.
    """

    modes: ClassVar[tuple[str, ...]] = ("closed-book", "rag")
    default_format = "mirage"
    #: Targets and predictions are the option texts (yes/no/maybe) instead of the keys.
    labels_as_values = False
    answer_instruction = "Answer with the letter of the correct option."

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._fallback: str | None = None
        self._fallback_lock = threading.Lock()

    def load(self, path: Path) -> list[EvalItem]:
        """MIRAGE JSON or multiple-choice JSON lines."""
        items = load_multiple_choice(path, subset=self.spec.subset, fmt=self.spec.format)
        return [self._item(mc) for mc in items]

    def _item(self, mc: MCItem) -> EvalItem:
        target = mc.options[mc.answer] if self.labels_as_values else mc.answer
        return EvalItem(mc.id, mc.question, target, mc, mc.subtask)

    # --- options -------------------------------------------------------------------------------

    def requested_scoring(self) -> str:
        """The scoring asked for: loglikelihood or generate."""
        return str(self.ctx.options.scoring or self.option("scoring", "loglikelihood"))

    def scoring(self, condition: Condition) -> str | None:
        """The scoring used (a fallback is named)."""
        if self.requested_scoring() == "loglikelihood" and self._fallback:
            return "generate (fallback: no log-probabilities)"
        return self.requested_scoring()

    def effective_options(self) -> dict[str, Any]:
        """Options after defaults."""
        settings = self.ctx.settings
        return {
            **self.spec.options,
            "scoring": self.requested_scoring(),
            "choices": self.option("choices", "text"),
            "k": self.ctx.options.k or self.option("k", settings.retrieval.k),
            "context_tokens": self.option("context_tokens", settings.llm.max_context_tokens),
            "max_new_tokens": self.option("max_new_tokens", 24),
            **self.ctx.options.extra,
        }

    # --- prompts -------------------------------------------------------------------------------

    def question_block(self, mc: MCItem, *, list_options: bool) -> str:
        """The question (with its lettered options when asked)."""
        text = f"Question: {mc.question}\n"
        if list_options:
            text += "".join(f"{key}. {option}\n" for key, option in mc.options.items())
        return text

    def context_block(
        self, item: EvalItem, condition: Condition, llm: LLM, room: int
    ) -> tuple[str, dict[str, Any]]:
        """Passages for the prompt (within ``room`` tokens) and details to record."""
        if condition.mode != "rag":
            return "", {}
        k = int(self.ctx.options.k or self.option("k", self.ctx.settings.retrieval.k))
        chunks = self.retrieve(item.question, condition, k)
        budget = min(
            room, int(self.option("context_tokens", self.ctx.settings.llm.max_context_tokens))
        )
        passages, used = format_passages(llm, chunks, budget)
        details: dict[str, Any] = {
            "retrieved": [c.chunk.id for c in chunks],
            "retrieved_docs": [c.chunk.doc_id for c in chunks],
            "context_chunks": used,
        }
        mc: MCItem = item.payload
        if mc.pmids:  # MIRAGE's PubMedQA and BioASQ items name their source articles
            gold = {f"pubmed:{pmid}" for pmid in mc.pmids}
            shown = {c.chunk.doc_id for c in chunks if c.chunk.id in used}
            details["gold_doc_in_context"] = bool(gold & shown)
        return (f"Context:\n{passages}\n\n" if passages else ""), details

    def _room(self, llm: LLM, fixed: str, longest_option: int, *, generate: bool) -> int:
        """Tokens of the window left for context after the prompt and the answer."""
        reserve = int(self.option("max_new_tokens", 24)) if generate else longest_option
        return max(0, llm.context_window - llm.count_tokens(fixed) - reserve - _MARGIN_TOKENS)

    # --- scoring -------------------------------------------------------------------------------

    def evaluate(self, item: EvalItem, condition: Condition) -> ItemRecord:
        """Score ``item`` by option log-likelihood, or by parsing a generated answer."""
        mc: MCItem = item.payload
        if self.requested_scoring() == "loglikelihood" and not self._fallback:
            scorer = self.ctx.scorer()
            if scorer is None:
                self._fall_back("the model's backend returns no log-probabilities")
            else:
                try:
                    return self._by_loglikelihood(item, condition, mc, scorer)
                except LogprobsUnavailable as exc:
                    self._fall_back(str(exc))
        return self._by_generation(item, condition, mc)

    def _fall_back(self, reason: str) -> None:
        with self._fallback_lock:
            self._fallback = reason
        self.warn(f"log-likelihood scoring unavailable ({reason}): scoring generated answers")

    def _choices(self, mc: MCItem, letters: bool) -> list[str]:
        return (
            [f" {key}" for key in mc.options] if letters else [f" {o}" for o in mc.options.values()]
        )

    def _by_loglikelihood(
        self, item: EvalItem, condition: Condition, mc: MCItem, scorer: LoglikelihoodScorer
    ) -> ItemRecord:
        llm = self.ctx.llm
        letters = self.option("choices", "text") == "letter"
        question = self.question_block(mc, list_options=letters) + self.answer_cue(letters)
        continuations = self._choices(mc, letters)
        longest = max(llm.count_tokens(c) for c in continuations)
        room = self._room(llm, question, longest, generate=False)
        context, details = self.context_block(item, condition, llm, room)
        scores = scorer.score(context + question, continuations)
        keys = list(mc.options)
        raw = keys[best_option(scores)]
        norm = keys[best_option(scores, normalize=True)]
        return self.record(
            item,
            condition,
            prediction=self._label(mc, raw),
            values={
                "accuracy": float(raw == mc.answer),
                "acc_norm": float(norm == mc.answer),
                **_context_values(details),
            },
            details={
                **details,
                "scoring": "loglikelihood",
                "choices": "letter" if letters else "text",
                "logprobs": {k: round(s.logprob, 4) for k, s in zip(keys, scores, strict=True)},
                "prediction_norm": self._label(mc, norm),
            },
        )

    def answer_cue(self, letters: bool) -> str:
        """The text the options continue."""
        return "Answer:"

    def _label(self, mc: MCItem, key: str | None) -> str | None:
        if key is None:
            return None
        return mc.options[key] if self.labels_as_values else key

    def _by_generation(self, item: EvalItem, condition: Condition, mc: MCItem) -> ItemRecord:
        llm = self.ctx.llm
        question = (
            self.question_block(mc, list_options=True).replace("\n", "\n\nOptions:\n", 1)
            + "\n"
            + self.answer_instruction
        )
        room = self._room(llm, GENERATE_SYSTEM + question, 0, generate=True)
        context, details = self.context_block(item, condition, llm, room)
        params = GenerationParams(
            max_tokens=int(self.option("max_new_tokens", 24)),
            temperature=0.0,
            timeout_s=self.ctx.settings.llm.timeout_s,
        )
        messages = [Message("system", GENERATE_SYSTEM), Message("user", context + question)]
        text = "".join(llm.stream_chat(messages, params))
        key = parse_choice(text, mc.options)
        return self.record(
            item,
            condition,
            prediction=self._label(mc, key),
            values={
                "accuracy": float(key == mc.answer),
                "unparsed": float(key is None),
                **_context_values(details),
            },
            details={**details, "scoring": "generate", "generated": text},
        )


def _context_values(details: dict[str, Any]) -> dict[str, float]:
    if "gold_doc_in_context" not in details:
        return {}
    return {"gold_doc_in_context": float(details["gold_doc_in_context"])}


def truncate_context(llm: LLM, text: str, budget: int) -> str:
    """A gold context cut to ``budget`` tokens (re-exported for other kinds)."""
    return truncate_to_tokens(llm, " ".join(text.split()), budget)
