"""Which source sentences may be quoted as an answer: statements, not questions or page furniture.

An extractive answer quotes the sources word for word, so it needs no entailment check, but it
must still answer: a question ("What are the signs and symptoms of ...?"), a heading ("Symptoms
of Glaucoma"), a heading fused into the sentence after it ("Symptoms of Glaucoma Glaucoma can
develop ..."), or navigation ("Watch the video", "see the table below") is never an answer.
"""

from __future__ import annotations

import re

from lumen.textutil import split_fused_heading

_MIN_WORDS = 6
# A statement ends like one: ".", "!" or a closing quote or bracket after them.
_STATEMENT_END = re.compile(r"[.!][\"'\u201d\u2019)\]]*$")
# Page furniture and pointers elsewhere: not an answer to anyone's question.
_NAVIGATION = re.compile(
    r"\b(?:click|watch the video|video to learn|"
    r"see (?:the )?(?:table|list|figure|below|above|also)|"
    r"(?:table|list|chart|links?) below|listed below|following list|read more|learn more|"
    r"this (?:page|website|site|fact sheet|topic)|visit (?:the |our )?(?:web ?site|page)|"
    r"go to|www\.|https?:|e-?mail|"
    r"call (?:toll-free|\d)|for more information|more information (?:about|on)|"
    # pointers to a search or to other parts of a summary (NCI's treatment pages)
    r"refine the search|search features|check the list of|retrieved from|this summary|"
    r"section (?:that follows|below|above)|available (?:from|on) the [\w-]+ web ?site)\b",
    re.IGNORECASE,
)


def strip_fused_heading(sentence: str) -> str:
    """``sentence`` without a heading fused onto its front, if it carries one.

    "Symptoms of Glaucoma Glaucoma can develop ..." becomes "Glaucoma can develop ..." (see
    :func:`lumen.textutil.split_fused_heading`).
    """
    return split_fused_heading(sentence)[1]


def ends_like_statement(sentence: str) -> bool:
    """Whether ``sentence`` ends with ".", "!" or one of them and a closing quote or bracket."""
    return bool(_STATEMENT_END.search(sentence.strip()))


def quotable(sentence: str) -> bool:
    """Whether ``sentence`` may be quoted as (part of) an answer.

    It must be a statement of at least six words that starts and ends like one: no question, no
    heading or list label without a full stop, no list item continuing a lead-in, no navigation
    or pointer to other parts of a page.
    """
    text = sentence.strip()
    if len(text.split()) < _MIN_WORDS:
        return False
    if not ends_like_statement(text):
        return False  # a question, a heading, a label ending in ":" or a cut-off fragment
    if text[0].islower():
        return False  # a list item or a fragment that continues a lead-in ("They include")
    return not _NAVIGATION.search(text)
