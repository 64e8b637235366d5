"""The prompt: instructions, numbered sources fenced as data, and the question, within budget."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lumen.components.llm.base import LLM, Message
from lumen.rag.expand import FOCUS
from lumen.rag.retrieve import RetrievedChunk
from lumen.safety.injection import SAFETY_SYSTEM_PROMPT, fence_source

# Ranks instructions (system > user > sources) and marks the sources as data.
SYSTEM_PROMPT = SAFETY_SYSTEM_PROMPT


@dataclass(frozen=True)
class Prompt:
    """The messages sent to the model, and which chunk each source number stands for."""

    messages: list[Message]
    sources: list[RetrievedChunk]
    prompt_tokens: int


def _source_block(number: int, item: RetrievedChunk, text: str) -> str:
    return fence_source(number, item.chunk.display_title, text)


def truncate_to_tokens(llm: LLM, text: str, budget: int) -> str:
    """``text`` cut at a word boundary to at most ``budget`` tokens, "..." included ("" if none)."""
    if budget <= 0:
        return ""
    if llm.count_tokens(text) <= budget:
        return text
    words = text.split()
    low, high = 0, len(words)
    while low < high:
        mid = (low + high + 1) // 2
        if llm.count_tokens(" ".join(words[:mid]) + " ...") <= budget:
            low = mid
        else:
            high = mid - 1
    return " ".join(words[:low]) + " ..." if low else ""


def truncate_around(llm: LLM, text: str, budget: int, focus: tuple[int, int]) -> str:
    """``text`` cut to ``budget`` tokens around ``text[focus[0]:focus[1]]``, kept first.

    Words are added on both sides of the focus while they fit; cuts are marked with "...".
    """
    if llm.count_tokens(text) <= budget:
        return text
    start, end = focus
    core = text[start:end]
    if not core.strip():
        return truncate_to_tokens(llm, text, budget)
    before = text[:start].split(" ") if start > 0 else []
    after = text[end:].split(" ") if end < len(text) else []

    def window(words: int) -> str:
        head = before[max(len(before) - words, 0) :]
        tail = after[:words]
        return (
            ("... " if len(head) < len(before) else "")
            + " ".join(head)
            + core
            + " ".join(tail)
            + (" ..." if len(tail) < len(after) else "")
        )

    if llm.count_tokens(window(0)) > budget:  # the hit alone is too long: its start
        return truncate_to_tokens(llm, core, budget)
    low, high = 0, max(len(before), len(after))
    while low < high:
        mid = (low + high + 1) // 2
        if llm.count_tokens(window(mid)) <= budget:
            low = mid
        else:
            high = mid - 1
    return window(low)


def source_text(llm: LLM, item: RetrievedChunk, budget: int) -> str:
    """A source's text within ``budget``: a merged source keeps its hit (see rag.expand)."""
    focus = item.chunk.metadata.get(FOCUS)
    if isinstance(focus, list | tuple) and len(focus) == 2:
        return truncate_around(llm, item.chunk.text, budget, (int(focus[0]), int(focus[1])))
    return truncate_to_tokens(llm, item.chunk.text, budget)


def build_prompt(
    llm: LLM,
    question: str,
    chunks: Sequence[RetrievedChunk],
    *,
    max_answer_tokens: int,
    max_context_tokens: int,
    system_prompt: str = SYSTEM_PROMPT,
    patient_context: str | None = None,
) -> Prompt:
    """Number the best chunks as sources, as many as fit the context budget and the window.

    The budget is the smaller of ``max_context_tokens`` and what the context window leaves after
    the instructions, the question, the answer and a margin for the chat template.
    """
    template_margin = 48
    about = (
        f"About the patient (to tailor the answer; not a source):\n{patient_context}\n\n"
        if patient_context
        else ""
    )
    fixed = (
        llm.count_tokens(system_prompt)
        + llm.count_tokens(question)
        + (llm.count_tokens(about) if about else 0)
        + template_margin
    )
    budget = min(max_context_tokens, llm.context_window - max_answer_tokens - fixed)
    blocks: list[str] = []
    used: list[RetrievedChunk] = []
    spent = 0
    for item in chunks:
        remaining = budget - spent
        if remaining < 48:
            break
        text = source_text(llm, item, remaining - 24)
        block = _source_block(len(used) + 1, item, text)
        cost = llm.count_tokens(block) + 2
        if cost > remaining:
            break
        blocks.append(block)
        used.append(item)
        spent += cost
    user = about + "Sources:\n" + "\n\n".join(blocks) + f"\n\nQuestion: {question}\nAnswer:"
    messages = [Message("system", system_prompt), Message("user", user)]
    return Prompt(messages=messages, sources=used, prompt_tokens=fixed + spent)
