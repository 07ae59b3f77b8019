"""Metrics of the evaluation, each a small pure function so it can be checked on hand-made cases.

Answer normalisation folds what should not decide a match, in French and English: case,
accents, punctuation, elisions and articles (le la les l' un une des du de d' / the a an).
"""

from __future__ import annotations

import math
import re
import string
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

ARTICLES = frozenset("le la les un une des du de the a an".split())
_ELISION = re.compile(r"\b(?:l|d)'")
_PUNCT = set(string.punctuation) | set("«»“”‘’„…–—·•¿¡")
# [1], [1, 2], [1][2], [Source 1], [source 1; 3]; also full-width brackets some models emit.
MARKER = re.compile(
    r"[\[【]\s*(?:sources?\s*)?(\d{1,3}(?:\s*[,;]\s*(?:sources?\s*)?\d{1,3})*)\s*[\]】]",
    re.IGNORECASE,
)
ABSTENTION_PHRASES = (
    # ours (rag.prompting.NO_ANSWER) and what instruction-tuned models say instead
    "the sources do not say",
    "les sources ne le disent pas",
    "sources do not contain",
    "sources don't contain",
    "none of the sources",
    "not mentioned in the sources",
    "no information",
    "i don't know",
    "i do not know",
    "cannot be determined",
    "can't be determined",
    "not provided in the",
    "does not provide",
    "do not provide",
    "ne contiennent pas",
    "ne mentionnent pas",
    "ne précisent pas",
    "ne fournissent pas",
    "aucune information",
    "je ne sais pas",
)


def fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in text if not unicodedata.combining(c))


def strip_markers(text: str) -> str:
    return MARKER.sub(" ", text)


def normalize_tokens(text: str) -> list[str]:
    text = fold(strip_markers(text)).replace("’", "'").replace("`", "'")
    text = _ELISION.sub(" ", text)
    text = "".join(" " if c in _PUNCT else c for c in text)
    return [w for w in text.split() if w not in ARTICLES]


def normalize(text: str) -> str:
    return " ".join(normalize_tokens(text))


def contains_answer(text: str, references: Iterable[str]) -> bool:
    """True when one normalised reference answer appears, as whole words, in the text."""
    hay = f" {normalize(text)} "
    for ref in references:
        needle = normalize(ref)
        if needle and f" {needle} " in hay:
            return True
    return False


def missing_facts(text: str, facts: Sequence[Sequence[str]], abstained: bool = False) -> list[str]:
    """The facts the text does not hold (each named by its first form): a fact is held when
    one of its forms appears as `contains_answer` finds a reference. A declined answer holds
    none."""
    return [fact[0] for fact in facts if abstained or not contains_answer(text, fact)]


def token_f1(prediction: str, references: Iterable[str]) -> float:
    """SQuAD token F1 (best over the references), with the same normalisation."""
    pred = normalize_tokens(prediction)
    best = 0.0
    for ref in references:
        gold = normalize_tokens(ref)
        if not pred or not gold:
            best = max(best, float(pred == gold))
            continue
        common = sum((Counter(pred) & Counter(gold)).values())
        if common:
            precision, recall = common / len(pred), common / len(gold)
            best = max(best, 2 * precision * recall / (precision + recall))
    return best


def rank_of(ranked_ids: Sequence[str], gold: str) -> int | None:
    """1-based rank of the first retrieved passage from the gold paragraph, None if absent."""
    for i, doc_id in enumerate(ranked_ids, 1):
        if doc_id == gold:
            return i
    return None


def recall_at(rank: int | None, k: int) -> float:
    return float(rank is not None and rank <= k)


def reciprocal_rank(rank: int | None) -> float:
    return 1.0 / rank if rank else 0.0


def markers(text: str) -> list[int]:
    """Every passage number cited in the text, in order, repeats included."""
    return [int(n) for m in MARKER.finditer(text) for n in re.findall(r"\d+", m.group(1))]


def looks_like_abstention(text: str) -> bool:
    """For pipelines that do not say whether they declined (the baseline)."""
    t = " ".join(fold(strip_markers(text)).replace("’", "'").split())
    if not t:
        return True
    return any(fold(p) in t for p in ABSTENTION_PHRASES) and len(t) < 200


@dataclass
class CitedPassage:
    doc_id: str
    text: str


@dataclass
class AnswerScore:
    contains: float
    f1: float
    n_markers: int
    invalid_markers: int
    cites_gold: float | None  # None when the question has no gold paragraph
    cited_with_answer: int  # cited passages whose text contains a reference answer
    cited: int


def score_answer(
    answer: str,
    references: Sequence[str],
    cited: Sequence[CitedPassage],
    n_sources: int,
    gold: str | None,
    abstained: bool = False,
) -> AnswerScore:
    """`cited` are the passages the answer cites; `n_sources` how many its markers may point to.
    A declined answer scores 0 ("The sources do not say" must not match the reference "not")."""
    numbers = markers(answer)
    return AnswerScore(
        contains=0.0 if abstained else float(contains_answer(answer, references)),
        f1=0.0 if abstained else token_f1(strip_markers(answer), references),
        n_markers=len(numbers),
        invalid_markers=sum(not 1 <= n <= n_sources for n in numbers),
        cites_gold=None if gold is None else float(any(c.doc_id == gold for c in cited)),
        cited_with_answer=sum(contains_answer(c.text, references) for c in cited),
        cited=len(cited),
    )


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100)."""
    vals = sorted(v for v in values if v is not None)
    if not vals:
        return None
    rank = max(1, math.ceil(q / 100 * len(vals)))
    return vals[rank - 1]


def mean(values: Iterable[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return sum(vals) / len(vals) if vals else None


@dataclass
class RetrievalSummary:
    n: int = 0
    recall: dict[int, float] = field(default_factory=dict)
    mrr: float = 0.0


def summarize_ranks(ranks: Sequence[int | None], ks: Sequence[int], depth: int) -> RetrievalSummary:
    """recall@k for each k, and MRR@depth (a gold paragraph below `depth` counts 0)."""
    n = len(ranks)
    if not n:
        return RetrievalSummary()
    return RetrievalSummary(
        n=n,
        recall={k: sum(recall_at(r, k) for r in ranks) / n for k in ks},
        mrr=sum(reciprocal_rank(r if r and r <= depth else None) for r in ranks) / n,
    )
