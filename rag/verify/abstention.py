"""Does a draft say only that the sources lack the answer? The model declines in many ways
("… is not provided in the given sources [1]", « Le texte ne précise pas la date. »): the
verification stage turns such a draft into the service's own no-answer sentence."""

from __future__ import annotations

import re

from rag.citations import strip_markers
from rag.prompting import NO_ANSWER
from rag.text import answer_claims, fold

# A claim that says only that the sources lack something: a negation and the sources (or
# "no information", "I don't know"), and no contrast that brings a fact after it.
_SOURCES = r"\b(?:sources?|articles?|passages?|context|contexte|documents?|texts?|textes?)\b"
_NEGATION = (
    r"\b(?:not|no|none|nothing|neither|nor|cannot|unable|without|ne|n|pas|aucun|aucune|"
    r"rien|ni|sans|impossible)\b|n't"
)
_NO_INFORMATION = re.compile(
    r"\b(?:no|aucune?|pas d|pas de|sans) (?:\w+ )?(?:information|informations|mention|details?|"
    r"data|donnees?|precisions?|indications?)\b"
    r"|\bi (?:do not|don t|cannot|can t) (?:know|say|tell|find)\b"
    r"|\bje ne (?:sais|peux) pas\b|\bje n ai pas (?:trouve|d information)"
)
_CONTRAST = re.compile(
    r"\b(?:but|however|only|although|though|yet|except|instead|mais|cependant|toutefois|"
    r"seulement|uniquement|neanmoins|pourtant|sauf|plutot)\b"
)


def is_abstention(answer: str, language: str) -> bool:
    """True when the model declined, however it put it: the answer is (or starts with) a
    no-answer sentence, or every claim of it says only that the sources lack the answer
    ("… is not provided in the given sources [1]", "Le texte ne précise pas la date.")."""
    text = " ".join(strip_markers(answer).lower().split()).rstrip(".! ")
    if not text:
        return True
    for phrase in NO_ANSWER.values():
        p = phrase.lower().rstrip(".")
        if text.startswith(p) or (p in text and len(text) < len(p) + 40):
            return True
    folded = re.sub(r"[’'`]", " ", fold(text))
    claims = [folded[a:b] for a, b in answer_claims(folded)]
    return bool(claims) and all(_says_sources_lack_it(c) for c in claims)


def _says_sources_lack_it(claim: str) -> bool:
    if _CONTRAST.search(claim):
        return False
    # "…do not give the date; the mine reopens in 2027": a clause that states something
    for clause in re.split(r"[;:,]", claim):
        if len(clause.split()) >= 4 and not (
            _NO_INFORMATION.search(clause) or re.search(_NEGATION, clause)
        ):
            return False
    if _NO_INFORMATION.search(claim):
        return True
    return bool(re.search(_SOURCES, claim) and re.search(_NEGATION, claim))
