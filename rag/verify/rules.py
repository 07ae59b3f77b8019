"""The checks a draft's claims go through, each a small named rule.

A rule reads the live claims (not dropped yet, with the citations earlier rules gave them) and
the evidence, and returns Decisions; it changes nothing itself. rag.verify.stage applies them
in ORDER. Only claims a rule acts on get a decision.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from rag.embedding import Embedder
from rag.grounding import best_source, digit_numbers, lexical_support, numbers_in
from rag.prompting import is_abstention
from rag.settings import VerifySettings
from rag.text import analyse, fold
from rag.verify.claims import Claim, splice

Action = Literal["keep", "drop", "recite", "abstain"]


@dataclass(frozen=True)
class Decision:
    rule: str
    claim: int | None  # Claim.index; None: the whole answer
    action: Action
    reason: str  # a short sentence for people: logs and the response
    cites: tuple[int, ...] = ()  # "recite": the passages it cites now (model numbering)


@dataclass(frozen=True)
class Evidence:
    """What rules may read besides the live claims."""

    draft: str  # normalised draft, model numbering
    claims: tuple[Claim, ...]  # every claim of the draft, dropped or not
    sources: tuple[str, ...]  # "title\ntext" of passage k at index k - 1
    question: str
    language: str  # the question's, which the answer ends up in
    used: str  # the language the draft is written in
    same_language: bool  # every passage is in `used`: words can be compared
    settings: VerifySettings
    embedder: Embedder | None = None  # for uncited claims across languages only


Rule = Callable[[Sequence[Claim], Evidence], list[Decision]]

NUMBER_IN_SOURCES = "number-in-sources"
WORDS_IN_SOURCES = "words-in-sources"
ABSTENTION = "abstention"
UNCITED_CLAIM = "uncited-claim"
NUMBER_IN_CITED = "number-in-cited-passage"


def number_in_sources(claims: Sequence[Claim], ev: Evidence) -> list[Decision]:
    """A number written in digits that no passage holds (in digits or words) is made up:
    numbers do not depend on the language, so this holds across languages too."""
    known: set[str] = set()
    for s in ev.sources:
        known |= numbers_in(s)
    out = []
    for c in claims:
        missing = [w for d, w in digit_numbers(c.text).items() if d not in known]
        if missing:
            reason = f"number {missing[0]} found in no passage"
            out.append(Decision(NUMBER_IN_SOURCES, c.index, "drop", reason))
    return out


_WORD = re.compile(r"\w+")
_NAME = re.compile(r"(?<=[\w,;:] )[A-ZÀ-ÖØ-Þ][\w’'-]+")


def _names(claim: str) -> list[str]:
    """Capitalised words that do not start a sentence: people, places, organisations."""
    return [n.split("’")[-1].split("'")[-1] for n in _NAME.findall(claim.strip())]


def words_in_sources(claims: Sequence[Claim], ev: Evidence) -> list[Decision]:
    """In the sources' language, most words a claim adds to the question (stemmed, accents
    folded) must be in the passages, and every part of every name it uses must be named
    there ("DVB-S2", "San Diego-Carlsbad"). Across languages words cannot be compared."""
    if not ev.same_language:
        return []
    words: set[str] = set()
    names: set[str] = set()
    for s in [*ev.sources, ev.question]:
        words |= set(analyse(s, ev.used))
        names |= set(_WORD.findall(fold(s)))
    asked = set(analyse(ev.question, ev.used))
    minimum = ev.settings.min_support
    out = []
    for c in claims:
        added = [w for w in analyse(c.text, ev.used) if w not in asked and not w.isdigit()]
        found = sum(w in words for w in added)
        support = found / len(added) if added else 1.0
        unknown = [n for n in _names(c.text) if any(p not in names for p in _WORD.findall(fold(n)))]
        if unknown:
            reason = f"name {unknown[0]} found in no passage"
        elif support < minimum:
            reason = f"{found} of its {len(added)} own words in the passages (under {minimum:.0%})"
        else:
            continue
        out.append(Decision(WORDS_IN_SOURCES, c.index, "drop", reason))
    return out


def abstention(claims: Sequence[Claim], ev: Evidence) -> list[Decision]:
    """An answer that only says the sources lack the answer, or has no claim left, is the
    plain no-answer sentence, with no citation."""
    live = {c.index for c in claims}
    text = splice(ev.draft, ev.claims, {c.index: None for c in ev.claims if c.index not in live})
    if not is_abstention(text, ev.language):
        return []
    if any(c.text.strip() for c in claims):
        reason = "the answer says the sources do not answer"
    else:
        reason = "no claim is left"
    return [Decision(ABSTENTION, None, "abstain", reason)]


def uncited_claim(claims: Sequence[Claim], ev: Evidence) -> list[Decision]:
    """Every claim must cite its source. In the sources' language an uncited claim cites the
    passage holding the largest share of its words, or is dropped when none holds enough.
    Across languages it cites the passage with a clearly higher multilingual-e5 similarity,
    or stays as it is."""
    todo = [c for c in claims if c.needs_citation]
    if not todo or not ev.sources:
        return []
    s = ev.settings
    texts = [c.raw for c in todo]  # no marker in an uncited claim
    if ev.same_language:
        scores = [[lexical_support(t, src, ev.used) for src in ev.sources] for t in texts]
        minimum, margin = s.lexical_minimum, s.lexical_margin
    else:
        if ev.embedder is None:
            raise ValueError("claims across languages need an embedder")
        claim_vectors = ev.embedder.embed_queries(texts)
        source_vectors = ev.embedder.embed_passages(list(ev.sources))
        scores = [
            [sum(a * b for a, b in zip(cv, sv, strict=True)) for sv in source_vectors]
            for cv in claim_vectors
        ]
        minimum, margin = s.crosslingual_minimum, s.crosslingual_margin
    out = []
    for c, row in zip(todo, scores, strict=True):
        pick = best_source(row, minimum=minimum, margin=margin)
        best = max(row)
        if pick is not None:
            how = f"{best:.0%} of its words" if ev.same_language else f"similarity {best:.2f}"
            reason = f"uncited; passage {pick + 1} holds it best ({how})"
            out.append(Decision(UNCITED_CLAIM, c.index, "recite", reason, (pick + 1,)))
        elif ev.same_language:
            reason = f"uncited, and no passage holds {minimum:.0%} of its words (best {best:.0%})"
            out.append(Decision(UNCITED_CLAIM, c.index, "drop", reason))
        else:
            reason = f"uncited, and no passage is clearly the closest (best {best:.2f})"
            out.append(Decision(UNCITED_CLAIM, c.index, "keep", reason))
    return out


def number_in_cited_passage(claims: Sequence[Claim], ev: Evidence) -> list[Decision]:
    """A number must be in a passage the claim cites, not merely somewhere in the sources:
    otherwise the claim cites the first passage holding all its numbers (or, when no single
    one does, also the first holding each missing one); a number no passage holds drops it."""
    held = [numbers_in(s) for s in ev.sources]
    out = []
    for c in claims:
        numbers = digit_numbers(c.text)
        cites = [k for k in c.cites if 1 <= k <= len(held)]
        if not numbers or not cites:
            continue
        in_cited: set[str] = set()
        for k in cites:
            in_cited |= held[k - 1]
        missing = {d: w for d, w in numbers.items() if d not in in_cited}
        if not missing:
            continue
        first, written = next(iter(missing.items()))
        cited = ", ".join(map(str, cites))
        whole = [k for k, h in enumerate(held, 1) if set(numbers) <= h]
        holders = {d: next((k for k, h in enumerate(held, 1) if d in h), None) for d in missing}
        where = whole[0] if whole else holders[first]
        if whole:
            new: tuple[int, ...] = (whole[0],)
        elif None in holders.values():
            lost = next(missing[d] for d, k in holders.items() if k is None)
            reason = f"number {lost} found in no passage"
            out.append(Decision(NUMBER_IN_CITED, c.index, "drop", reason))
            continue
        else:
            new = tuple(dict.fromkeys([*cites, *(k for k in holders.values() if k)]))
        reason = f"number {written} is in passage {where}, not in cited passage {cited}"
        out.append(Decision(NUMBER_IN_CITED, c.index, "recite", reason, new))
    return out


# The fixed order. Made-up content goes first, so that an answer left with nothing but "the
# sources do not say" abstains before attribution drops or cites what remains (as before);
# numbers are checked against the cited passage once every claim cites one; the answer
# abstains again when attribution left no claim.
ORDER: tuple[tuple[str, Rule], ...] = (
    (NUMBER_IN_SOURCES, number_in_sources),
    (WORDS_IN_SOURCES, words_in_sources),
    (ABSTENTION, abstention),
    (UNCITED_CLAIM, uncited_claim),
    (NUMBER_IN_CITED, number_in_cited_passage),
    (ABSTENTION, abstention),
)
RULE_NAMES: tuple[str, ...] = tuple(dict.fromkeys(name for name, _ in ORDER))
