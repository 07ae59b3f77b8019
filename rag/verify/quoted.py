"""The `quote` rule: in a quote-first draft (`RAG_PROMPT_STYLE=quote`) the model copies the
sentence that answers before it answers. The quote is checkable where the answer is not yet:
it must copy a sentence of the sources, and that sentence must be about the question.

A 1.5B model quotes *something* even when no passage answers (it then answers from it): this
rule is what lets quote-first decline, before a word of the answer is shown.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from rag.text import fold, split_sentences
from rag.verify.rules import QUOTE, Decision, Evidence

_LABEL = re.compile(r"^\s*(?:quote|citation)\s*(?:\[\d+\])?\s*:?\s*", re.IGNORECASE)


def _words(text: str) -> set[str]:
    return set(re.findall(r"\w+", fold(text)))


def share_in(quote: str, text: str) -> float:
    """The share of the quote's words (its label left out) that `text` holds."""
    said = _words(_LABEL.sub("", quote))
    return len(said & _words(text)) / max(1, len(said))


def quoted_sentence(quote: str, sources: Sequence[str]) -> tuple[str, float]:
    """The sentence of the sources the quote copies, and the share of the quote's words it
    holds (1.0: copied word for word)."""
    best, share = "", 0.0
    for source in sources:
        for sentence in split_sentences(source):
            s = share_in(quote, sentence)
            if s > share:
                best, share = sentence, s
    return best, share


def quote_check(quote: str, ev: Evidence) -> list[Decision]:
    """Abstain when the quote copies no sentence of the sources (less than `quote_found` of
    its words in any one), or copies one whose multilingual-e5 similarity to the question is
    below `quote_min_similarity` (each 0: not checked).

    Measured on PIAF: for unanswerable questions the model copies several sentences at once,
    or pieces of them; for the answers it gets right, one sentence word for word."""
    settings = ev.settings
    sentence, share = quoted_sentence(quote, ev.sources)
    if share < settings.quote_found:
        reason = f"the quote copies no sentence of the sources (at best {share:.0%} of its words)"
        return [Decision(QUOTE, None, "abstain", reason)]
    if not settings.quote_min_similarity or ev.embedder is None:
        return [Decision(QUOTE, None, "keep", f"the quote copies “{sentence[:80]}”")]
    q = np.asarray(ev.embedder.embed_queries([ev.question]), dtype=np.float32)[0]
    s = np.asarray(ev.embedder.embed_passages([sentence]), dtype=np.float32)[0]
    similarity = float(q @ s)
    if similarity < settings.quote_min_similarity:
        reason = (
            f"the quoted sentence is not about the question (similarity {similarity:.3f}, "
            f"below {settings.quote_min_similarity}): “{sentence[:80]}”"
        )
        return [Decision(QUOTE, None, "abstain", reason)]
    reason = f"the quote copies “{sentence[:80]}” (similarity {similarity:.3f})"
    return [Decision(QUOTE, None, "keep", reason)]
