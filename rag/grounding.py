"""Cheap checks that an answer stays inside its sources.

A 1.5B model sometimes fills a gap with outside knowledge ("Kazakhstan has about 17 million
inhabitants [2]"). Numbers are where this hurts most and are language-independent, so a claim
with a number that appears in no source is dropped; an answer left with no claim abstains.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_LIST_NUMBER = re.compile(r"(?m)^\s*\d{1,2}[.)]\s")
_NUMBER = re.compile(r"\d+(?:[  .,]\d{3})*(?:[.,]\d+)?")
_CLAIM = re.compile(r"[^\n.!?]*(?:[.!?](?=\s|$)|\n|$)")
_MARKER = re.compile(r"\[\d+\]")


def _digits(number: str) -> str:
    return re.sub(r"\D", "", number)


def numbers_in(text: str) -> set[str]:
    return {_digits(n) for n in _NUMBER.findall(_LIST_NUMBER.sub(" ", text))}


def unsupported_claims(answer: str, sources: Sequence[str]) -> list[str]:
    """Claims (sentences or lines) of `answer` containing a number found in no source."""
    known: set[str] = set()
    for s in sources:
        known |= numbers_in(s)
    bad = []
    for m in _CLAIM.finditer(answer):
        claim = m.group(0)
        found = numbers_in(_MARKER.sub(" ", claim))
        if found and any(n not in known for n in found):
            bad.append(claim)
    return bad


def drop_claims(answer: str, claims: Sequence[str]) -> str:
    for claim in claims:
        answer = answer.replace(claim, "", 1)
    return re.sub(r"\n{3,}", "\n\n", answer).strip()


def is_repeating(text: str, window: int = 60, times: int = 3) -> bool:
    """True when the tail of `text` already occurs `times` times: the model is looping."""
    if len(text) < window * times:
        return False
    return text.count(text[-window:]) >= times
