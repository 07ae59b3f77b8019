"""The pieces the grounding checks are made of: claims, numbers, support, markers.

A 1.5B model sometimes fills a gap with outside knowledge ("Kazakhstan has about 17 million
inhabitants [2]", "La capitale du Pérou est Lima [1]"). The checks themselves are the rules of
rag.verify; this module measures claims (split by rag.text) against a source.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.text import LIST_NUMBER

_NUMBER = re.compile(r"\d+(?:[  .,]\d{3})*(?:[.,]\d+)?")


def _digits(number: str) -> str:
    return re.sub(r"\D", "", number)


# A source may spell a number the answer writes in digits ("dix des quinze courses" -> 10).
_NUMBER_WORDS = {
    w: str(n)
    for n, words in enumerate(
        [
            "zéro zero", "un une one", "deux two", "trois three", "quatre four", "cinq five",
            "six", "sept seven", "huit eight", "neuf nine", "dix ten", "onze eleven",
            "douze twelve", "treize thirteen", "quatorze fourteen", "quinze fifteen",
            "seize sixteen", "dix-sept seventeen", "dix-huit eighteen", "dix-neuf nineteen",
        ]
    )
    for w in words.split()
} | {
    "vingt": "20", "twenty": "20", "trente": "30", "thirty": "30", "quarante": "40",
    "forty": "40", "cinquante": "50", "fifty": "50", "soixante": "60", "sixty": "60",
    "soixante-dix": "70", "septante": "70", "seventy": "70", "quatre-vingt": "80",
    "quatre-vingts": "80", "huitante": "80", "eighty": "80", "quatre-vingt-dix": "90",
    "nonante": "90", "ninety": "90", "cent": "100", "hundred": "100", "mille": "1000",
    "thousand": "1000", "douzaine": "12", "dozen": "12",
}  # fmt: skip
_SPELLED = re.compile(r"[a-zéè]+(?:-[a-zéè]+)*", re.IGNORECASE)


def numbers_in(text: str) -> set[str]:
    """Every number `text` holds, in digits or words ("dix-huit" is 18, not also 10 and 8;
    an unlisted compound, "vingt-cinq", counts as its parts)."""
    written = _NUMBER.findall(LIST_NUMBER.sub(" ", text))
    found = {_digits(n) for n in written}
    # a zero-padded integer is that number too: the "09" of "2020-02-09" supports "9 février"
    found |= {n.lstrip("0") for n in written if n.isdigit() and n.startswith("0") and n.strip("0")}
    for word in _SPELLED.findall(text.lower()):
        parts = [word] if word in _NUMBER_WORDS else word.split("-")
        found |= {_NUMBER_WORDS[p] for p in parts if p in _NUMBER_WORDS}
    return found


# The spelled numbers a claim is held to: "un"/"one" are articles and pronouns, "neuf" is
# also "new", and before a multiplier ("trois cents", "two thousand") a word is not the number.
_CLAIM_SPELLED = re.compile(
    r"\b(?!(?:un|une|one|neuf|z[ée]ro|cents?|hundreds?|mille|thousands?|douzaines?|dozens?)\b)"
    r"([a-zéè]+(?:-[a-zéè]+)*)\b"
    r"(?!\s+(?:cents?|hundreds?|mille|thousands?)\b)",
    re.IGNORECASE,
)


def claim_numbers(claim: str) -> dict[str, str]:
    """The numbers a claim states, in digits or in words: {digits only: as written}."""
    found = {_digits(n): n for n in _NUMBER.findall(claim)}
    for m in _CLAIM_SPELLED.finditer(claim):
        value = _NUMBER_WORDS.get(m.group(1).lower())
        if value:
            found.setdefault(value, m.group(1))
    return found


def is_repeating(text: str, window: int = 60, times: int = 3) -> bool:
    """True when the tail of `text` already occurs `times` times: the model is looping."""
    if len(text) < window * times:
        return False
    return text.count(text[-window:]) >= times


_END_PUNCT = re.compile(r"[\s.!?;]*$")


def lexical_support(claim: str, source: str, language: str) -> float:
    from rag.text import analyse

    words = set(analyse(claim, language))
    return len(words & set(analyse(source, language))) / len(words) if words else 0.0


def best_source(scores: Sequence[float], minimum: float, margin: float) -> int | None:
    """Index of the clearly best score, or None when no source stands out."""
    if not scores:
        return None
    ranked = sorted(range(len(scores)), key=lambda i: -scores[i])
    best = ranked[0]
    runner_up = scores[ranked[1]] if len(ranked) > 1 else float("-inf")
    if scores[best] >= minimum and scores[best] - runner_up >= margin:
        return best
    return None


def insert_marker(answer: str, span: tuple[int, int], markers: str) -> str:
    """Put `markers` ("[2]", "[1] [3]") at the end of the claim, before its final punctuation."""
    start, end = span
    claim = answer[start:end]
    tail = _END_PUNCT.search(claim)
    cut = start + (tail.start() if tail else len(claim))
    return f"{answer[:cut]} {markers}{answer[cut:]}"
