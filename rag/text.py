"""Text analysis shared by every stage: accent folding, stop words, Snowball stems, sentences."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_TOKEN = re.compile(r"\w+", re.UNICODE)
_STOP = {
    "fr": set(
        "ai as au aura auront aux avaient avait avec avez avons c ce celle celui ces cet cette "
        "ceux combien comment d dans de des dont du elle en es est et eu eux fus fut il ils j "
        "je l la laquelle le lequel les leur lui m ma mais me mes moi mon même n ne nos notre "
        "nous on ont ou où par pas pour pourquoi qu quand que quel quelle quelles quels qui s "
        "sa se sera serai serait seront ses sommes son sont suis sur t ta te tes toi ton tu un "
        "une vos votre vous y à étaient étais était étant été étée étées étés êtes ".split()
    ),
    "en": set(
        "a an and are as at be been being but by can could did do does for from had has have "
        "he her his how i if in is it its many may me might much must my no not of on or our "
        "shall she should than that the their them then there these they this those to was we "
        "were what when where which who whom whose why will with would you your ".split()
    ),
}


def fold(text: str) -> str:
    """Lowercase and strip accents, so 'Éléments' and 'elements' meet."""
    text = unicodedata.normalize("NFKD", text.lower().replace("’", "'"))
    return "".join(c for c in text if not unicodedata.combining(c))


_STOP = {lang: {fold(w) for w in words} for lang, words in _STOP.items()}


@lru_cache(maxsize=4)
def _stemmer(language: str):
    import Stemmer  # PyStemmer, installed with bm25s

    return Stemmer.Stemmer({"fr": "french", "en": "english"}[language])


def analyse(text: str, language: str) -> list[str]:
    stop = _STOP["en"] | _STOP.get(language, set())
    words = [w for w in _TOKEN.findall(fold(text)) if (w not in stop and len(w) > 1) or w.isdigit()]
    return _stemmer(language).stemWords(words)


# A sentence ends at . ! ? or … followed by a space and what can start a sentence.
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+(?=[«\"“(\[A-ZÀ-ÖØ-Þ0-9])")


def split_sentences(text: str) -> list[str]:
    parts = [s.strip() for s in _SENTENCE_END.split(text)]
    return [s for s in parts if s] or [text.strip() or text]


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of `text`, stripped; the sentences of split_sentences."""
    spans: list[tuple[int, int]] = []
    pos = 0
    for m in [*_SENTENCE_END.finditer(text), None]:
        end = m.start() if m else len(text)
        piece = text[pos:end]
        if piece.strip():
            lead = len(piece) - len(piece.lstrip())
            spans.append((pos + lead, pos + len(piece.rstrip())))
        if m:
            pos = m.end()
    return spans or [(0, len(text))]
