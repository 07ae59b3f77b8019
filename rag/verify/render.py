"""A re-cited claim, rendered in the model's numbering (passages 1..n). The stage renumbers
for the client (1..m by first use) once, as claims are released (rag.verify.stage)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.grounding import insert_marker

_MARKER = re.compile(r"\s?\[\d+\]")


def recite(raw: str, cites: Sequence[int]) -> str:
    """The claim with its markers replaced by `cites`, at its end before final punctuation."""
    body = _MARKER.sub("", raw)
    return insert_marker(body, (0, len(body)), "".join(f"[{n}]" for n in cites))
