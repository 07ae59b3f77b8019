"""A draft parsed once into claims, in the model's numbering (passages 1..n).

The splitting is rag.grounding's: sentences or lines; initials and abbreviations do not end a
claim; list numbering ("1. ") is not a claim. Every rule reads these claims; none re-parses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.citations import markers_before_punctuation
from rag.text import claim_spans, mask

_MARKER = re.compile(r"\[(\d+)\]")
_MARKER_AND_SPACE = re.compile(r"\s?\[\d+\]")


@dataclass(frozen=True)
class Claim:
    index: int  # position in the draft's claims: what a Decision refers to
    start: int  # span in the (normalised) draft
    end: int
    raw: str  # draft[start:end]: markers and list numbering included
    text: str  # the same with markers and list numbering blanked (offsets kept)
    cites: tuple[int, ...]  # passage numbers of its markers, model numbering, first use order

    @property
    def span(self) -> tuple[int, int]:
        return self.start, self.end

    @property
    def opens_list(self) -> bool:
        """A line that introduces a list (« … il faut : »): it says nothing of its own."""
        return self.text.rstrip().endswith(":")

    @property
    def needs_citation(self) -> bool:
        """Uncited, and more than a fragment or a line that introduces a list."""
        return not self.cites and not self.opens_list and len(self.text.split()) >= 3

    @property
    def says(self) -> str:
        """What the claim says, on one line, without markers: for logs and the response."""
        return " ".join(_MARKER_AND_SPACE.sub("", mask(self.raw, markers=False)).split())


def normalise(draft: str) -> str:
    """Markers before the final punctuation ("died. [1]" -> "died [1]."), outer space gone."""
    return markers_before_punctuation(draft).strip()


def parse(draft: str) -> list[Claim]:
    """The claims of a normalised draft. A span that is only a marker is no claim: a trailing
    marker belongs to the text before it, and today's checks never looked at one."""
    masked = mask(draft)
    claims: list[Claim] = []
    for a, b in claim_spans(masked):
        if not masked[a:b].strip():
            continue
        cites = tuple(dict.fromkeys(int(n) for n in _MARKER.findall(draft[a:b])))
        claims.append(Claim(len(claims), a, b, draft[a:b], masked[a:b], cites))
    return claims
