"""GARD's symptom tables (from the Human Phenotype Ontology) as sentences a reader can use.

MedQuAD flattens each table into one run of text: three lines of lead-in, the column headings,
then "Abnormality of the eyelashes 90% Short neck 90% ... Strabismus 7.5% Albinism -", then a
paragraph on how the HPO estimates frequencies. 2,243 GARD answers hold one. Indexed as they
are, the run is one "sentence" nobody can quote, and the boilerplate around it (". Much of this
information comes from Orphanet, a European rare disease database.") looks like an answer to
every symptom question. Rendered, each frequency becomes a sentence naming the condition:
"The most common signs and symptoms of Floating-Harbor syndrome, seen in about 90% of people:
Abnormality of the eyelashes; ... Short neck.", then "Signs and symptoms of Floating-Harbor
syndrome seen in about 50% of people: ...". The table's rows are kept word for word and in
their order.
"""

from __future__ import annotations

import re

_TABLE = re.compile(
    r"The Human Phenotype Ontology provides the following list of signs and symptoms for "
    r"(?P<name>[^\n]+?)\.\s+If the information is available, the table below includes how often "
    r"the symptom is seen in people with this condition\.\s+You can use the MedlinePlus Medical "
    r"Dictionary to look up the definitions for these medical terms\.\s+Signs and Symptoms "
    r"Approximate number of patients \(when available\)\s*(?P<rows>.*?)\s*"
    r"The Human Phenotype Ontology \(HPO\) has collected information .*?"
    r"In these cases, the sign or symptom may be rare or common\.",
    re.DOTALL,
)
# A row's frequency: "90%", "7.5%", "3/7", "3 of 4", or "-" when not known.
_FREQUENCY = re.compile(r"\s(\d+(?:\.\d+)?%|\d+/\d+|\d+ of \d+|-)(?=\s|$)")
_UNKNOWN = "-"
#: Rows named per sentence: long tables become several sentences, each one readable alone.
ROWS_PER_SENTENCE = 20


def render_phenotype_tables(text: str) -> str:
    """``text`` with each flattened HPO table and its boilerplate replaced by sentences."""
    return _TABLE.sub(_render, text)


def phenotype_rows(rows: str) -> list[tuple[str, str]]:
    """``(sign, frequency)`` pairs of a flattened table, in its order (frequency "-": unknown)."""
    parts = _FREQUENCY.split(" " + rows.strip())
    pairs = [
        (sign.strip(), frequency)
        for sign, frequency in zip(parts[0::2], parts[1::2], strict=False)
        if sign.strip()
    ]
    rest = parts[-1].strip() if len(parts) % 2 else ""
    if rest:
        pairs.append((rest, _UNKNOWN))
    return pairs


def _render(match: re.Match[str]) -> str:
    name = match["name"].strip()
    groups: dict[str, list[str]] = {}
    for sign, frequency in phenotype_rows(match["rows"]):
        groups.setdefault(frequency, []).append(sign)
    known = [f for f in groups if f != _UNKNOWN]
    commonest = max(known, key=_share) if known else None
    lines = []
    for frequency, signs in groups.items():
        lead = _lead(frequency, name, only=len(groups) == 1, commonest=frequency == commonest)
        sentences = -(-len(signs) // ROWS_PER_SENTENCE)
        size = -(-len(signs) // sentences)  # 25 rows: 13 and 12, not 20 and 5
        for start in range(0, len(signs), size):
            lines.append(f"{lead}: {'; '.join(signs[start : start + size])}.")
    return "\n" + "\n".join(lines) + "\n" if lines else ""


def _counts(frequency: str) -> tuple[int, int]:
    """People with the sign and people examined, of a study count ("3/7" or "3 of 7")."""
    seen, examined = re.split(r"/| of ", frequency)
    return int(seen), int(examined)


def _share(frequency: str) -> float:
    """A row's frequency as a share of patients."""
    if frequency.endswith("%"):
        return float(frequency[:-1]) / 100
    seen, examined = _counts(frequency)
    return seen / max(examined, 1)


def _lead(frequency: str, name: str, *, only: bool, commonest: bool) -> str:
    """The words before a group's rows: the condition and how often the rows are seen."""
    if frequency == _UNKNOWN:
        if only:
            return f"Signs and symptoms of {name}"
        return f"Other signs and symptoms of {name} (how often is not known)"
    if frequency.endswith("%"):
        seen_in = f"seen in about {frequency} of people"
    else:
        seen, examined = _counts(frequency)
        seen_in = f"seen in {seen} of {examined} people in one study"
    if commonest:  # the table's highest frequency: what a symptom question wants first
        return f"The most common signs and symptoms of {name}, {seen_in}"
    return f"Signs and symptoms of {name} {seen_in}"
