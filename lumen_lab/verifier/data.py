"""Training pairs for the entailment verifier: (sentence, evidence) → entailed or not.

Sources: PubMedQA PQA-L dev items (``pubmedqa/pqal_dev.json``) and MedQuAD answers. The
PubMedQA items are split by pmid into train / validation / dev *before* any pair is built;
dev is kept for reporting only and validation for choosing thresholds. The test abstracts
(``pqal_test_abstracts.json``) are never read.

Positives: each long-answer sentence and the whole long answer against its abstract (the
abstract never holds its conclusion in PQA-L), one results sentence copied from the abstract,
MedQuAD answer sentences against their answer (never from the documents held out for the
retrieval benchmark and the consumer dev split). Negatives, the hard part, written to look like
real hallucinations: the conclusion rewritten for the opposite verdict (the yes/no/maybe label
says which way), direction and number swaps, the conclusion of another abstract sharing MeSH
terms, the conclusion about another abstract's subject (entity swap: a misread question), the
true conclusion with an invented clause appended, overstatements (hedges dropped), and
conclusions SmolLM2 writes without the abstract for the opposite verdict (cached).

Invented clauses differ by split: training clauses are composed from connectors and MeSH terms
of other training abstracts, while validation and dev append clauses from a fixed list that
training never uses, so their figures measure clauses the model has not seen.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from lumen.textutil import split_sentences

TEST_FILE_NAME = "pqal_test_abstracts.json"
DEV_FILE = Path("pubmedqa") / "pqal_dev.json"
MEDQUAD_DIR = Path("medquad")

#: Kinds of negatives that look like the hallucinations a model writes (reported per kind).
REALISTIC_KINDS = (
    "verdict_flip",
    "other_abstract",
    "entity_swap",
    "added_clause",
    "overstatement",
    "llm_opposite",
)

#: MeSH headings that say nothing about an abstract's subject (who was studied, the design).
_GENERIC_MESH = frozenset(
    {
        "humans",
        "male",
        "female",
        "adult",
        "aged",
        "middle aged",
        "young adult",
        "adolescent",
        "child",
        "infant",
        "child, preschool",
        "aged, 80 and over",
        "infant, newborn",
        "pregnancy",
        "animals",
        "retrospective studies",
        "prospective studies",
        "follow-up studies",
        "cohort studies",
        "cross-sectional studies",
        "case-control studies",
        "treatment outcome",
        "risk factors",
        "questionnaires",
        "surveys and questionnaires",
        "time factors",
        "reproducibility of results",
        "sensitivity and specificity",
        "severity of illness index",
        "prognosis",
        "incidence",
        "prevalence",
        "logistic models",
        "multivariate analysis",
        "regression analysis",
        "statistics, nonparametric",
        "predictive value of tests",
    }
)


@dataclass(frozen=True)
class Item:
    """One PubMedQA item: its abstract (evidence), conclusion and verdict."""

    pmid: str
    question: str
    evidence: str
    results: tuple[str, ...]
    conclusion: str
    verdict: str
    mesh: frozenset[str]


@dataclass(frozen=True)
class Pair:
    """One training or evaluation pair."""

    sentence: str
    evidence: str
    label: int  # 1 entailed, 0 not
    kind: str
    group: str  # pmid or MedQuAD document: pairs of one group stay in one split
    answer_id: str = ""  # sentences of one (true or hallucinated) answer share this


@dataclass(frozen=True)
class Splits:
    """PubMedQA pmids of each split."""

    train: tuple[str, ...]
    validation: tuple[str, ...]
    dev: tuple[str, ...]


def say(line: str) -> None:
    """A progress line on stderr."""
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def check_not_test(path: Path) -> None:
    """Refuse the PubMedQA test abstracts: they belong to a held-out test."""
    if path.name == TEST_FILE_NAME:
        raise ValueError(f"{path} is a held-out test file and is never read for the verifier")


def load_items(data_dir: Path) -> list[Item]:
    """The PubMedQA dev items (the only PubMedQA file this module opens)."""
    path = data_dir / DEV_FILE
    check_not_test(path)
    raw: dict[str, dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
    items = []
    for pmid, row in sorted(raw.items()):
        labels = [str(label).upper() for label in row.get("LABELS", [])]
        contexts = [str(c) for c in row["CONTEXTS"]]
        results = tuple(
            s
            for c, label in zip(contexts, labels, strict=False)
            if "RESULT" in label or "FINDING" in label
            for s in split_sentences(c)
        )
        items.append(
            Item(
                pmid=pmid,
                question=str(row["QUESTION"]),
                evidence=" ".join(contexts),
                results=results or tuple(split_sentences(contexts[-1])),
                conclusion=str(row["LONG_ANSWER"]).strip(),
                verdict=str(row["final_decision"]),
                mesh=frozenset(
                    m.lower() for m in row.get("MESHES", []) if m.lower() not in _GENERIC_MESH
                ),
            )
        )
    return items


def split_pmids(pmids: Iterable[str], *, seed: int, dev: int, validation: int) -> Splits:
    """Shuffle pmids with ``seed``; the first ``dev`` are dev, the next ``validation``."""
    ordered = sorted(pmids)
    random.Random(seed).shuffle(ordered)
    return Splits(
        train=tuple(sorted(ordered[dev + validation :])),
        validation=tuple(sorted(ordered[dev : dev + validation])),
        dev=tuple(sorted(ordered[:dev])),
    )


# --- rewrites -------------------------------------------------------------------------------

_NEGATION_REMOVALS: tuple[tuple[str, str], ...] = (
    (r"\bdid not\b", "did"),
    (r"\bdoes not\b", "does"),
    (r"\bdo not\b", "do"),
    (r"\b(is|are|was|were|has|have|had|can|could|may|might|should|will|would) not\b", r"\1"),
    (r"\bcannot\b", "can"),
    (r"\b(is|are|was|were)n't\b", r"\1"),
    (r"\bno significant\b", "a significant"),
    (r"\bno (\w+) (?:difference|effect|association|benefit|advantage)\b", r"a \1 \g<0>"),
    (r"\bno\b", "a"),
    (r"\bnot\s+", ""),
    (r"\bwithout\b", "with"),
    (r"\bunlikely\b", "likely"),
    (r"\bfailed to\b", "managed to"),
)

_NEGATION_INSERTS: tuple[tuple[str, str], ...] = (
    (r"\b(is|are|was|were)\b(?! not)", r"\1 not"),
    (r"\b(can|could|may|might|should|will|would|does|do|did)\b(?! not)", r"\1 not"),
    (r"\bsignificantly\b", "not significantly"),
    (r"\b(improves|increases|reduces|decreases|predicts|affects|influences)\b", r"does not \1"),
    (r"\b(improve|increase|reduce|decrease|predict|affect|influence)\b", r"do not \1"),
    (r"\bassociated with\b", "not associated with"),
    (r"\blikely\b", "unlikely"),
)

_DIRECTIONS = (
    ("increased", "decreased"),
    ("increase", "decrease"),
    ("increases", "decreases"),
    ("higher", "lower"),
    ("more", "less"),
    ("greater", "smaller"),
    ("improved", "worsened"),
    ("improves", "worsens"),
    ("better", "worse"),
    ("positive", "negative"),
    ("positively", "negatively"),
    ("reduced", "elevated"),
    ("longer", "shorter"),
    ("superior", "inferior"),
    ("risk factor", "protective factor"),
    ("effective", "ineffective"),
    ("safe", "unsafe"),
    ("beneficial", "harmful"),
    ("larger", "smaller"),
)

_HEDGES: tuple[tuple[str, str], ...] = (
    (r"\bmay be associated with\b", "causes"),
    (r"\bmight be associated with\b", "causes"),
    (r"\bis associated with\b", "causes"),
    (r"\bare associated with\b", "cause"),
    (r"\bwas associated with\b", "caused"),
    (r"\bsuggests?\b", "proves"),
    (r"\bsuggested\b", "proved"),
    (r"\bindicates?\b", "proves"),
    (r"\b(?:may|might|could) not be\b", "is not"),
    (r"\b(?:may|might|could) be\b", "is"),
    (r"\b(?:may|might)\b\s+", ""),
    (r"\bcould\b", "will"),
    (r"\b(?:appears?|seems?) to be\b", "is"),
    (r"\b(?:appears?|seems?) not to be\b", "is not"),
    (r"\bpossibly\b\s*", "clearly "),
    (r"\bpotentially\b\s*", ""),
    (r"\bprobably\b", "certainly"),
    (r"\bsome\b", "all"),
    (r"\bin selected patients\b", "in all patients"),
    (
        r"\bfurther (?:studies|research|trials) (?:are|is) (?:needed|required|warranted)[^.]*",
        "no further studies are needed",
    ),
)

_CLAUSES = (
    ", probably because it lowers systemic inflammation",
    ", an effect mediated by improved endothelial function",
    ", particularly in elderly women",
    ", especially in patients with type 2 diabetes",
    ", and this benefit persists for at least ten years",
    ", and it should therefore be offered to all patients routinely",
    ", independent of age, sex and comorbidity",
    ", which reduces overall mortality by about half",
    ", through a reduction of oxidative stress",
    ", and the effect is twice as large in children",
    ", because of genetic differences between the groups",
    ", making it the first-line treatment in current guidelines",
    ", unless the patient has a history of smoking",
    ", as confirmed by long-term follow-up in several countries",
    ", and it is also cost-saving for health systems",
    ", although only in patients treated within the first 24 hours",
)


#: Training clauses: a connector with a MeSH term of another training abstract ({} in the text).
#: None of these connectors appears in ``_CLAUSES`` (validation and dev).
_CLAUSE_TEMPLATES = (
    ", an effect explained by {}",
    ", probably through changes in {}",
    ", mainly in patients with {}",
    ", and the same was found for {}",
    ", which also lowered the risk of {}",
    ", since {} drives the effect",
    ", as shown before for {}",
    ", with a similar benefit in {}",
    " and should guide the management of {}",
    ", independently of {}",
    ", owing to differences in {}",
    ", and more so after {}",
)


def readable_mesh(term: str) -> str:
    """A MeSH heading as running text: "diabetes mellitus, type 2" → "type 2 diabetes mellitus"."""
    head, _, qualifier = term.partition(", ")
    return f"{qualifier} {head}".strip() if qualifier else head


def _first_sub(text: str, rules: Iterable[tuple[str, str]]) -> str:
    """Apply the first rule that matches (once), or return ``text`` unchanged."""
    for pattern, repl in rules:
        changed, n = re.subn(pattern, repl, text, count=1, flags=re.IGNORECASE)
        if n:
            return changed
    return text


def negate(sentence: str) -> str:
    """Flip the sentence's polarity: remove its negation, or insert one."""
    removed = _first_sub(sentence, _NEGATION_REMOVALS)
    if removed != sentence:
        return removed
    return _first_sub(sentence, _NEGATION_INSERTS)


def flip_for_verdict(sentence: str, verdict: str, rng: random.Random) -> str:
    """The sentence rewritten to support the other verdict (a ``maybe`` becomes definite)."""
    if verdict == "maybe":
        return overstate(sentence) if rng.random() < 0.5 else negate(overstate(sentence))
    return negate(sentence)


def swap_direction(sentence: str) -> str:
    """Swap the first direction word with its opposite ("increased" → "decreased")."""
    for a, b in _DIRECTIONS:
        for x, y in ((a, b), (b, a)):
            pattern = rf"\b{re.escape(x)}\b"
            if re.search(pattern, sentence, flags=re.IGNORECASE):
                return re.sub(pattern, y, sentence, count=1, flags=re.IGNORECASE)
    return sentence


def swap_number(sentence: str, rng: random.Random) -> str:
    """Change one number of the sentence to a plausible but different one."""
    numbers = list(re.finditer(r"(?<![\w.])(\d+(?:\.\d+)?)(?![\w.])", sentence))
    if not numbers:
        return sentence
    match = rng.choice(numbers)
    value = match.group(1)
    if "." in value:
        decimals = len(value.split(".")[1])
        new = f"{float(value) * rng.choice([0.5, 0.7, 1.4, 2.0]):.{decimals}f}"
    else:
        n = int(value)
        new = str(n + rng.choice([-1, 1]) * max(1, round(n * rng.choice([0.3, 0.5, 1.0]))))
    if new == value or new.startswith("-"):
        new = str(int(float(value)) + 7)
    return sentence[: match.start(1)] + new + sentence[match.end(1) :]


def overstate(sentence: str) -> str:
    """Drop a hedge or turn an association into a cause."""
    return _first_sub(sentence, _HEDGES)


def add_clause(sentence: str, rng: random.Random) -> str:
    """The sentence with an invented clause appended before its full stop."""
    body = sentence.rstrip().rstrip(".")
    return f"{body}{rng.choice(_CLAUSES)}."


def invent_clause(sentence: str, terms: list[str], rng: random.Random) -> str:
    """The sentence with a clause composed from a template and one of ``terms`` appended."""
    if not terms:
        return sentence
    body = sentence.rstrip().rstrip(".")
    clause = rng.choice(_CLAUSE_TEMPLATES).format(readable_mesh(rng.choice(terms)))
    return f"{body}{clause}."


def swap_entity(sentence: str, own: frozenset[str], others: list[str], rng: random.Random) -> str:
    """The sentence about another subject: one of its own MeSH terms replaced by another's.

    The longest own term found in the sentence (as words) is replaced by a term of ``others``
    that the item does not have, preferably one of as many words; unchanged when none fits.
    """
    lowered = sentence.lower()
    found = sorted(
        (t for t in own if re.search(rf"\b{re.escape(t)}\b", lowered)),
        key=lambda t: (-len(t), t),
    )
    candidates = sorted({t for t in others if t not in own and "," not in t})
    if not found or not candidates:
        return sentence
    target = found[0]
    same_length = [t for t in candidates if len(t.split()) == len(target.split())]
    replacement = rng.choice(same_length or candidates)
    return re.sub(rf"\b{re.escape(target)}\b", replacement, sentence, count=1, flags=re.IGNORECASE)


# --- SmolLM2 conclusions for the opposite verdict ---------------------------------------------


def opposite_verdict(verdict: str, rng: random.Random) -> str:
    """The verdict a hallucinated conclusion takes."""
    if verdict == "yes":
        return "no"
    if verdict == "no":
        return "yes"
    return rng.choice(["yes", "no"])


def generate_llm_conclusions(
    items: Iterable[Item], cache: Path, *, seed: int, max_tokens: int = 60, limit: int | None = None
) -> dict[str, str]:
    """SmolLM2's conclusion for each item's question and the opposite verdict, no abstract.

    Results are cached as JSON lines (pmid, verdict, text) and reused: a second run only
    generates the missing items, at most ``limit`` of them (0: none, only the cache is read).
    """
    done: dict[str, str] = {}
    if cache.exists():
        for line in cache.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            done[row["pmid"]] = row["text"]
    todo = [item for item in items if item.pmid not in done][:limit]
    if not todo:
        return done
    from lumen.components.llm.base import GenerationParams, Message
    from lumen.components.llm.llama_cpp import LlamaCppLLM
    from lumen.components.model_files import smollm2_gguf

    llm = LlamaCppLLM(smollm2_gguf(), context_window=1024, seed=seed)
    cache.parent.mkdir(parents=True, exist_ok=True)
    with cache.open("a", encoding="utf-8") as out:
        for number, item in enumerate(todo, start=1):
            rng = random.Random(f"{seed}:{item.pmid}")
            verdict = opposite_verdict(item.verdict, rng)
            messages = [
                Message(
                    "system", "You write the conclusion section of medical research abstracts."
                ),
                Message(
                    "user",
                    f"Research question: {item.question}\nThe study's answer is {verdict}. "
                    "Write the study's conclusion in two sentences, without saying yes or no.",
                ),
            ]
            params = GenerationParams(max_tokens=max_tokens, temperature=0.7, timeout_s=120)
            text = " ".join("".join(llm.stream_chat(messages, params)).split())
            out.write(json.dumps({"pmid": item.pmid, "verdict": verdict, "text": text}) + "\n")
            out.flush()
            done[item.pmid] = text
            if number % 25 == 0:
                say(f"  SmolLM2 conclusions: {number}/{len(todo)}")
    return done


def _clean_llm(text: str) -> list[str]:
    """Complete, claim-like sentences of a generated conclusion."""
    sentences = [s.strip() for s in split_sentences(text)]
    return [
        s
        for s in sentences
        if len(s.split()) >= 6 and s[-1:] in ".!" and not s.lower().startswith(("yes", "no"))
    ][:2]


# --- pairs ------------------------------------------------------------------------------------


def _neighbours(item: Item, pool: list[Item], count: int) -> list[Item]:
    """The ``count`` other items sharing most MeSH terms (Jaccard), pmid breaking ties."""

    def key(other: Item) -> tuple[float, str]:
        union = len(item.mesh | other.mesh) or 1
        return (-len(item.mesh & other.mesh) / union, other.pmid)

    return sorted((o for o in pool if o.pmid != item.pmid), key=key)[:count]


def _rewritten_sentences(
    item: Item, sentences: list[str], other_terms: list[str], rng: random.Random
) -> Iterator[Pair]:
    """Direction, number and entity swaps and overstatements of the conclusion's sentences."""
    ev, g = item.evidence, item.pmid
    for s in sentences:
        for kind, altered in (
            ("direction_swap", swap_direction(s)),
            ("number_swap", swap_number(s, rng)),
            ("overstatement", overstate(s)),
        ):
            if altered != s:
                yield Pair(altered, ev, 0, kind, g, f"{g}:{kind}")
    swapped = [swap_entity(s, item.mesh, other_terms, rng) for s in sentences]
    for altered, s in zip(swapped, sentences, strict=True):
        if altered != s:
            yield Pair(altered, ev, 0, "entity_swap", g, f"{g}:entity_swap")


def pubmedqa_pairs(
    items: list[Item],
    llm_conclusions: dict[str, str],
    *,
    seed: int,
    split: str,
    neighbours: int = 1,
    invented_clauses: bool = False,
) -> Iterator[Pair]:
    """Positives and hard negatives for the items of one split (neighbours from that split).

    ``neighbours``: how many other items' conclusions (most MeSH terms shared) become
    ``other_abstract`` negatives; the first keeps two sentences, the others one.
    ``invented_clauses``: compose ``added_clause`` clauses from templates and other items'
    MeSH terms (training) instead of the fixed list (validation and dev).
    """
    for item in items:
        rng = random.Random(f"{seed}:{split}:{item.pmid}")
        close = _neighbours(item, items, max(neighbours, 3))
        other_terms = sorted({t for other in close for t in other.mesh} - item.mesh)
        ev, g = item.evidence, item.pmid
        sentences = [s for s in split_sentences(item.conclusion) if len(s.split()) >= 4]
        yield Pair(item.conclusion, ev, 1, "true_answer", g, f"{g}:true")
        for s in sentences:
            yield Pair(s, ev, 1, "true_sentence", g, f"{g}:true_sentences")
        if item.results:
            result = rng.choice(item.results)
            yield Pair(result, ev, 1, "copied_result", g)
            altered_results = [
                (kind, altered)
                for kind, altered in (
                    ("result_negated", negate(result)),
                    ("result_direction", swap_direction(result)),
                    ("result_number", swap_number(result, rng)),
                )
                if altered != result
            ]
            if altered_results:
                kind, altered = rng.choice(altered_results)
                yield Pair(altered, ev, 0, kind, g)
        flipped = [flip_for_verdict(s, item.verdict, rng) for s in sentences]
        flipped = [f for f, s in zip(flipped, sentences, strict=True) if f != s]
        for f in flipped:
            yield Pair(f, ev, 0, "verdict_flip", g, f"{g}:verdict_flip")
        yield from _rewritten_sentences(item, sentences, other_terms, rng)
        if sentences:
            last = sentences[-1]
            altered = invent_clause(last, other_terms, rng) if invented_clauses else ""
            if not altered or altered == last:
                altered = add_clause(last, rng)
            yield Pair(altered, ev, 0, "added_clause", g, f"{g}:added_clause")
        for rank, other in enumerate(close[:neighbours]):
            for s in split_sentences(other.conclusion)[: 2 if rank == 0 else 1]:
                yield Pair(s, ev, 0, "other_abstract", g, f"{g}:other_abstract")
        for s in _clean_llm(llm_conclusions.get(item.pmid, "")):
            yield Pair(s, ev, 0, "llm_opposite", g, f"{g}:llm_opposite")


def medquad_pairs(data_dir: Path, *, seed: int, count: int) -> Iterator[Pair]:
    """MedQuAD pairs: answer sentences against their answer, and three kinds of negatives.

    Negatives: a negated sentence, a sentence with an invented clause, and a sentence of
    another answer on the same page. ``count`` pages, sampled with ``seed``, never one of the
    documents or pages held out for the retrieval benchmark and the consumer dev split.
    """
    from lumen.ingest.loaders.medquad import iter_qa_pairs
    from lumen_lab.retrieval.split import held_out

    every = list(iter_qa_pairs(data_dir / MEDQUAD_DIR))
    excluded = held_out(data_dir / MEDQUAD_DIR, pairs=every)
    by_doc: dict[str, list[Any]] = {}
    for pair in every:
        if not excluded.excludes(pair):
            by_doc.setdefault(pair.doc_id, []).append(pair)
    docs = sorted(d for d, pairs in by_doc.items() if len(pairs) >= 2)
    rng = random.Random(seed)
    rng.shuffle(docs)
    for doc in docs[:count]:
        pairs = by_doc[doc]
        a, b = rng.sample(pairs, 2)
        evidence = _window(a.answer, 1600)
        own = [s for s in split_sentences(evidence) if 6 <= len(s.split()) <= 40]
        other = [
            s for s in split_sentences(b.answer) if 6 <= len(s.split()) <= 40 and s not in evidence
        ]
        if own:
            s = rng.choice(own)
            yield Pair(s, evidence, 1, "medquad_sentence", doc)
            altered = negate(s)
            if altered != s:
                yield Pair(altered, evidence, 0, "medquad_negated", doc)
            yield Pair(add_clause(s, rng), evidence, 0, "medquad_added_clause", doc)
        if other:
            yield Pair(rng.choice(other), evidence, 0, "medquad_other_answer", doc)


def _window(text: str, chars: int) -> str:
    """The start of ``text`` up to ``chars`` characters, cut at a sentence end."""
    if len(text) <= chars:
        return text
    out = ""
    for s in split_sentences(text):
        if len(out) + len(s) + 1 > chars:
            break
        out = f"{out} {s}".strip()
    return out or text[:chars]


@dataclass(frozen=True)
class Dataset:
    """Pairs of every split, with the split's pmids."""

    splits: Splits
    train: list[Pair]
    validation: list[Pair]
    dev: list[Pair]

    def composition(self) -> dict[str, dict[str, int]]:
        """Pairs per kind in each split."""
        return {
            name: dict(sorted(Counter(p.kind for p in pairs).items()))
            for name, pairs in (
                ("train", self.train),
                ("validation", self.validation),
                ("dev", self.dev),
            )
        }


def build_dataset(
    data_dir: Path,
    cache_dir: Path,
    *,
    seed: int = 13,
    dev: int = 100,
    validation: int = 50,
    medquad_docs: int = 150,
    llm_items: int | None = None,
    train_neighbours: int = 1,
) -> Dataset:
    """Split PubMedQA by pmid, then build every split's pairs.

    ``train_neighbours``: other abstracts' conclusions per training item (validation and dev
    keep one, so their figures stay comparable across builds).

    SmolLM2 writes conclusions for at most ``llm_items`` new items (None: all; dev items
    first, then validation, then train); cached ones are always used.
    """
    items = load_items(data_dir)
    splits = split_pmids((i.pmid for i in items), seed=seed, dev=dev, validation=validation)
    by_pmid = {i.pmid: i for i in items}
    ordered = [by_pmid[p] for p in (*splits.dev, *splits.validation, *splits.train)]
    conclusions = generate_llm_conclusions(
        ordered, cache_dir / f"smollm2-opposite-seed{seed}.jsonl", seed=seed, limit=llm_items
    )

    def pairs(split: str, pmids: tuple[str, ...], neighbours: int = 1) -> list[Pair]:
        chosen = [by_pmid[p] for p in pmids]
        return list(
            pubmedqa_pairs(
                chosen,
                conclusions,
                seed=seed,
                split=split,
                neighbours=neighbours,
                invented_clauses=split == "train",
            )
        )

    train = pairs("train", splits.train, train_neighbours)
    if medquad_docs:
        train.extend(medquad_pairs(data_dir, seed=seed, count=medquad_docs))
    return Dataset(splits, train, pairs("validation", splits.validation), pairs("dev", splits.dev))


def save_dataset(dataset: Dataset, out_dir: Path) -> dict[str, Any]:
    """Write ``{train,validation,dev}.jsonl`` and ``manifest.json``; returns the manifest."""
    out_dir.mkdir(parents=True, exist_ok=True)
    hashes = {}
    for name, rows in (
        ("train", dataset.train),
        ("validation", dataset.validation),
        ("dev", dataset.dev),
    ):
        path = out_dir / f"{name}.jsonl"
        text = "".join(json.dumps(asdict(p), sort_keys=True) + "\n" for p in rows)
        path.write_text(text, encoding="utf-8")
        hashes[name] = hashlib.sha256(text.encode("utf-8")).hexdigest()
    manifest = {
        "sha256": hashes,
        "composition": dataset.composition(),
        "pmids": {
            "train": list(dataset.splits.train),
            "validation": list(dataset.splits.validation),
            "dev": list(dataset.splits.dev),
        },
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    return manifest


def read_pairs(path: Path) -> list[Pair]:
    """Pairs from a JSON-lines file written by :func:`save_dataset`."""
    return [Pair(**json.loads(line)) for line in path.read_text(encoding="utf-8").splitlines()]
