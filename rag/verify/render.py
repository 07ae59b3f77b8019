"""Decisions applied to the draft once, then markers renumbered for the client once.

The draft and every decision use the model's passage numbers; the client sees 1..m by first
use (rag.citations). Nothing is renumbered before the end, so no placeholder is needed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.citations import clean_markers
from rag.grounding import insert_marker
from rag.prompting import NO_ANSWER
from rag.verify.claims import Claim, splice
from rag.verify.rules import Decision

_MARKER = re.compile(r"\s?\[\d+\]")


def recite(raw: str, cites: Sequence[int]) -> str:
    """The claim with its markers replaced by `cites`, at its end before final punctuation."""
    body = _MARKER.sub("", raw)
    return insert_marker(body, (0, len(body)), "".join(f"[{n}]" for n in cites))


def render(
    draft: str,
    claims: Sequence[Claim],
    decisions: Sequence[Decision],
    n_passages: int,
    language: str,
) -> tuple[str, list[int]]:
    """The final text (client numbering) and the passage numbers of [1], [2], ... in order."""
    if any(d.action == "abstain" for d in decisions):
        return NO_ANSWER[language], []
    new: dict[int, str | None] = {}
    by_index = {c.index: c for c in claims}
    for d in decisions:
        if d.claim is None:
            continue
        if d.action == "drop":
            new[d.claim] = None
        elif d.action == "recite":
            new[d.claim] = recite(by_index[d.claim].raw, d.cites)
    return clean_markers(splice(draft, claims, new), n_passages)
