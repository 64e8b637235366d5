"""Consumer-style questions from held-out MedQuAD pairs: long, chatty, misspelled, in lay words.

People write to a health service the way they talk: a preamble with their own situation, the
condition's name lower-cased or misspelled, lay words for medical ones, run-on sentences and no
question mark. MedQuAD's own questions ("What are the symptoms of Glaucoma ?") are none of
that, so a retriever tuned on them can look better than it is. :func:`build_dev_set` rewrites
the questions of the dev split's documents (:mod:`lumen_lab.retrieval.split`) into such
messages, seeded per item, and keeps each one's page (URL) as its relevant answer.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from lumen.ingest.loaders.medquad import QAPair, iter_qa_pairs
from lumen_lab.retrieval.split import DEV_SHARE, in_dev_split

# What people ask, by MedQuAD question type; {f} is the condition as they would write it.
_ASKS: dict[str, tuple[str, ...]] = {
    "information": (
        "what is {f} exactly",
        "can someone explain what {f} is",
        "what does it mean to have {f}",
        "what is {f} and is it serious",
    ),
    "symptoms": (
        "what are the signs of {f}",
        "how do i know if i have {f}",
        "what does {f} feel like",
        "what symptoms should i watch out for with {f}",
    ),
    "causes": ("what causes {f}", "why do people get {f}", "how do you end up with {f}"),
    "treatment": (
        "how do you treat {f}",
        "what can be done for {f}",
        "is there a cure for {f} or medicine that helps",
        "what are the options for treating {f}",
    ),
    "prevention": ("how can i avoid getting {f}", "is there any way to prevent {f}"),
    "susceptibility": ("who gets {f}", "am i at risk for {f}", "who is more likely to get {f}"),
    "exams and tests": (
        "how do they test for {f}",
        "how do doctors find out if its {f}",
        "what test shows if you have {f}",
    ),
    "outlook": (
        "what is the outlook with {f}",
        "can you live a normal life with {f}",
        "does {f} ever go away",
    ),
    "inheritance": (
        "is {f} passed down in families",
        "can my kids inherit {f}",
        "is {f} genetic",
    ),
    "frequency": ("how common is {f}", "how many people have {f}"),
    "genetic changes": ("what gene is behind {f}", "is {f} caused by a gene mutation"),
    "complications": ("what problems can {f} lead to", "can {f} cause other problems"),
    "stages": ("what are the stages of {f}", "how do they stage {f}"),
    "research": ("is there new research on {f}", "are there any trials for {f}"),
    "considerations": (
        "what should i know about {f}",
        "anything i should be careful about with {f}",
    ),
    "support groups": ("where can i find support for {f}", "are there groups for people with {f}"),
}
# Relatives with a plausible age range.
_RELATIVES = {
    "mom": (35, 90),
    "dad": (35, 90),
    "husband": (22, 85),
    "wife": (22, 85),
    "son": (1, 40),
    "daughter": (1, 40),
    "sister": (10, 80),
    "grandma": (60, 98),
    "friend": (18, 80),
}
_OPENERS = (
    "hi,",
    "hello",
    "hi there",
    "sorry if this is a dumb question but",
    "quick question,",
    "",
)
_CONTEXT = (
    "my {r} ({age}) was just diagnosed with {f} and we are all pretty scared",
    "i am {me} and my doctor said i might have {f} but didnt explain much",
    "my {r} has {f} and i have been reading online for hours",
    "i got some test results back and {f} came up",
    "ive been worried about {f} since my {r} got it",
    "our family doctor mentioned {f} at my {r}s last visit",
)
_CLOSERS = (
    "thanks in advance",
    "any help appreciated!!",
    "i dont have insurance right now so trying to understand before i go in",
    "please help",
    "thank you",
    "",
)
# Medical words and the words people use for them.
_LAY = {
    "hypertension": "high blood pressure",
    "hypotension": "low blood pressure",
    "myocardial infarction": "heart attack",
    "cerebrovascular accident": "stroke",
    "renal": "kidney",
    "hepatic": "liver",
    "pulmonary": "lung",
    "cardiac": "heart",
    "gastric": "stomach",
    "cutaneous": "skin",
    "ocular": "eye",
    "neoplasms": "tumors",
    "carcinoma": "cancer",
    "malignant": "cancerous",
    "hyperglycemia": "high blood sugar",
    "hypoglycemia": "low blood sugar",
    "diabetes mellitus": "diabetes",
    "osteoarthritis": "arthritis",
    "otitis media": "ear infection",
    "pharyngitis": "sore throat",
    "gastroesophageal reflux": "acid reflux",
    "nephrolithiasis": "kidney stones",
    "alopecia": "hair loss",
    "pruritus": "itching",
    "syncope": "fainting",
    "dyspnea": "shortness of breath",
    "insomnia": "trouble sleeping",
    "obesity": "being overweight",
    "edema": "swelling",
    "hemorrhage": "bleeding",
    "adult": "",
    "childhood": "kids",
}
# Each letter's right-hand neighbour on a QWERTY keyboard (the row's last: its left one).
_KEYBOARD = {
    row[i]: row[i + 1] if i + 1 < len(row) else row[i - 1]
    for row in ("qwertyuiop", "asdfghjkl", "zxcvbnm")
    for i in range(len(row))
}
_PAREN = re.compile(r"\s*\([^)]*\)")


@dataclass(frozen=True)
class DevItem:
    """One consumer-style question and the page that answers it."""

    id: str
    question: str
    original: str
    qtype: str
    focus: str
    doc_id: str
    url: str


def _rng(seed: int, key: str) -> random.Random:
    digest = hashlib.sha256(f"{seed}:{key}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def typo(word: str, rng: random.Random) -> str:
    """``word`` with one realistic slip: letters swapped, dropped, doubled or a neighbour key."""
    if len(word) < 4 or not word.isalpha():
        return word
    i = rng.randrange(1, len(word) - 1)
    kind = rng.randrange(4)
    if kind == 0:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if kind == 1:
        return word[:i] + word[i + 1 :]
    if kind == 2:
        return word[:i] + word[i] + word[i:]
    return word[:i] + _KEYBOARD.get(word[i].lower(), word[i]) + word[i + 1 :]


def lay_words(text: str) -> str:
    """``text`` lower-cased with medical words replaced by the words people use."""
    out = text.lower()
    for term, lay in _LAY.items():
        out = re.sub(rf"\b{re.escape(term)}\b", lay, out)
    return " ".join(out.split())


def condition_name(focus: str, rng: random.Random) -> str:
    """The condition as a person would write it: no brackets, lay words, often misspelled."""
    name = _PAREN.sub("", focus)
    if "," in name:  # "Diabetes, type 2" -> "type 2 diabetes"
        head, _, tail = name.partition(",")
        name = f"{tail.strip()} {head.strip()}" if rng.random() < 0.5 else head
    name = lay_words(name) or focus.lower()
    if rng.random() < 0.35:
        words = name.split()
        index = rng.randrange(len(words))
        words[index] = typo(words[index], rng)
        name = " ".join(words)
    return name


def rewrite(pair: QAPair, *, seed: int) -> str:
    """One consumer-style message asking what ``pair``'s question asks."""
    rng = _rng(seed, f"{pair.doc_id}#{pair.qid}")
    focus = pair.focus or pair.question
    name = condition_name(focus, rng)
    asks = _ASKS.get(pair.qtype)
    # Once the message has named the condition, people often go on with "it".
    named = "it" if asks and rng.random() < 0.5 else name
    ask = rng.choice(asks).format(f=named) if asks else lay_words(pair.question).rstrip(" ?")
    relative = rng.choice(sorted(_RELATIVES))
    low, high = _RELATIVES[relative]
    context = rng.choice(_CONTEXT).format(
        r=relative, age=rng.randrange(low, high), me=rng.randrange(18, 85), f=name
    )
    joiner = rng.choice((". ", " and ", " so ", ", ", " - "))
    parts = [rng.choice(_OPENERS), context + joiner + ask + rng.choice(("?", "??", "", "?"))]
    closer = rng.choice(_CLOSERS)
    if closer:
        parts.append(closer)
    words = " ".join(p for p in parts if p).split()
    slips = [typo(w, rng) if rng.random() < 0.08 else w for w in words]
    message = " ".join(slips)
    return message[:1].upper() + message[1:] if rng.random() < 0.5 else message


def dev_pairs(medquad_dir: Path, *, share: float = DEV_SHARE) -> list[QAPair]:
    """The answered pairs of the dev split's documents."""
    return [
        p for p in iter_qa_pairs(medquad_dir) if p.question and in_dev_split(p.doc_id, share=share)
    ]


def build_dev_set(
    pairs: Iterable[QAPair], *, seed: int = 13, per_document: int = 2, limit: int = 300
) -> list[DevItem]:
    """Consumer questions for up to ``per_document`` pairs of each document, ``limit`` in all.

    Pairs are picked per document by a seeded shuffle, so one document's many questions do not
    crowd the set; the order of the result is seeded too.
    """
    by_doc: dict[str, list[QAPair]] = {}
    for pair in pairs:
        by_doc.setdefault(pair.doc_id, []).append(pair)
    items: list[DevItem] = []
    for doc_id in sorted(by_doc):
        group = sorted(by_doc[doc_id], key=lambda p: p.qid)
        _rng(seed, doc_id).shuffle(group)
        seen: set[str] = set()
        for pair in group:
            if pair.qtype in seen:
                continue
            seen.add(pair.qtype)
            items.append(
                DevItem(
                    id=f"{pair.doc_id}#{pair.qid}",
                    question=rewrite(pair, seed=seed),
                    original=pair.question,
                    qtype=pair.qtype,
                    focus=pair.focus,
                    doc_id=pair.doc_id,
                    url=pair.url,
                )
            )
            if len(seen) >= per_document:
                break
    _rng(seed, "order").shuffle(items)
    return items[:limit]


def write_jsonl(items: Iterable[DevItem], path: Path) -> None:
    """One JSON object per line."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        for item in items:
            out.write(json.dumps(asdict(item)) + "\n")


def read_jsonl(path: Path) -> Iterator[DevItem]:
    """Items written by :func:`write_jsonl`."""
    with path.open(encoding="utf-8") as source:
        for line in source:
            if line.strip():
                yield DevItem(**json.loads(line))
