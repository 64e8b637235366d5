"""PubMedQA (PQA-L, yes/no/maybe): closed-book, with the gold abstract, or with retrieval."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from lumen.components.llm.base import LLM
from lumen_lab.eval.datasets import PUBMEDQA_LABELS, MCItem, load_pqal
from lumen_lab.eval.registry import register_kind
from lumen_lab.eval.tasks.base import Condition, EvalItem
from lumen_lab.eval.tasks.multiple_choice import MultipleChoiceTask, truncate_context

_KEYS = ("A", "B", "C")


@register_kind("pubmedqa")
class PubMedQATask(MultipleChoiceTask):
    """Yes/no/maybe answers to research questions, scored like multiple choice.

    Modes: ``closed-book`` (the question alone), ``gold-context`` (the labelled abstract,
    conclusions left out as in the PubMedQA reasoning-required setting), ``rag`` (retrieved
    passages). Extra option: ``gold_context_tokens``.
    """

    modes: ClassVar[tuple[str, ...]] = ("closed-book", "gold-context", "rag")
    default_format = "pqal"
    labels_as_values = True
    answer_instruction = "Answer with yes, no or maybe."

    def load(self, path: Path) -> list[EvalItem]:
        """Items of an ``ori_pqal.json``-format file."""
        items = []
        self._contexts: dict[str, tuple[str, ...]] = {}
        for raw in load_pqal(path):
            self._contexts[raw.pmid] = raw.contexts
            options = dict(zip(_KEYS, PUBMEDQA_LABELS, strict=True))
            answer = _KEYS[PUBMEDQA_LABELS.index(raw.decision)]
            mc = MCItem(raw.pmid, raw.question, options, answer, None, (raw.pmid,))
            items.append(EvalItem(raw.pmid, raw.question, raw.decision, mc))
        return items

    def effective_options(self) -> dict[str, Any]:
        """Options after defaults."""
        return {**super().effective_options(), "gold_context_tokens": self._gold_budget()}

    def _gold_budget(self) -> int:
        return int(self.option("gold_context_tokens", 1000))

    def answer_cue(self, letters: bool) -> str:
        """Cue the three labels."""
        return "Answer (yes, no or maybe):" if not letters else "Answer:"

    def context_block(
        self, item: EvalItem, condition: Condition, llm: LLM, room: int
    ) -> tuple[str, dict[str, Any]]:
        """The gold abstract under gold-context; retrieved passages under rag."""
        if condition.mode != "gold-context":
            return super().context_block(item, condition, llm, room)
        contexts = self._contexts.get(item.id, ())
        text = truncate_context(llm, " ".join(contexts), min(room, self._gold_budget()))
        return (f"Context: {text}\n\n" if text else ""), {"context": "gold"}
