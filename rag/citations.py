"""Citation markers: read them in every form a model writes, send each to the passage that
best supports its claim, keep the valid ones, renumber them by first use, drop the rest.

The model sees passages numbered 1..n. The client sees only the passages the answer cites,
numbered 1..m in order of first citation, so `[1]` is always the first source listed.
`MarkerFilter` does this incrementally, so a streamed answer never shows an invalid marker;
the verification stage (rag.verify.stage.ClaimStream) is its only user in the answer path.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from rag.schema import Passage
from rag.text import analyse, last_phrase

# [1], [1, 2], [1][2], [Source 1], [source 1; 3]; also full-width brackets some models emit.
_MARKER = re.compile(
    r"\s?[\[【]\s*(?:sources?\s*)?(\d{1,3}(?:\s*[,;]\s*(?:sources?\s*)?\d{1,3})*)\s*[\]】]",
    re.IGNORECASE,
)
_OPEN = "[【"
_MAX_PENDING = 24  # a marker is never longer than this; flush anything longer as text


class MarkerFilter:
    """Feed text pieces; get back text whose markers point only to existing passages, written
    `[n]`, renumbered by first use (or, with `renumber=False`, kept in the model's numbering)."""

    def __init__(
        self,
        n_passages: int,
        resolve: Callable[[str, int], int] | None = None,
        renumber: bool = True,
    ) -> None:
        self.n_passages = n_passages
        # resolve(text before the marker, n) -> the passage that supports that claim
        self.resolve = resolve
        self.renumber = renumber
        self.order: list[int] = []  # original passage numbers, in order of first citation
        self._pending = ""
        self._seen = ""  # text rewritten so far (model numbering), for `resolve`

    def _renumber(self, match: re.Match[str]) -> str:
        numbers = [int(x) for x in re.findall(r"\d+", match.group(1))]
        if self.resolve is not None:
            before = self._seen + match.string[: match.start()]
            numbers = [self.resolve(before, n) for n in numbers]
        kept: list[int] = []
        for n in numbers:
            if not 1 <= n <= self.n_passages:
                continue
            if n not in self.order:
                self.order.append(n)
            new = self.order.index(n) + 1 if self.renumber else n
            if new not in kept:
                kept.append(new)
        if not kept:
            return ""
        lead = " " if match.group(0)[0].isspace() else ""
        return lead + "".join(f"[{k}]" for k in kept)

    def _rewrite(self, text: str) -> str:
        out = _MARKER.sub(self._renumber, text)
        self._seen += text
        return out

    def feed(self, piece: str) -> str:
        """Return the text that is now safe to emit."""
        self._pending += piece
        cut = max(self._pending.rfind(c) for c in _OPEN)
        # Hold back a possible unfinished marker (and the space before it).
        unfinished = "]" not in self._pending[cut:] and "】" not in self._pending[cut:]
        if cut >= 0 and unfinished and len(self._pending) - cut <= _MAX_PENDING:
            hold_from = cut - 1 if cut > 0 and self._pending[cut - 1].isspace() else cut
            ready, self._pending = self._pending[:hold_from], self._pending[hold_from:]
            return self._rewrite(ready)
        # Keep a trailing space: it may belong to a marker that starts in the next piece.
        if self._pending.endswith((" ", "\u00a0")):
            ready, self._pending = self._pending[:-1], self._pending[-1]
            return self._rewrite(ready)
        ready, self._pending = self._pending, ""
        return self._rewrite(ready)

    def flush(self) -> str:
        ready, self._pending = self._pending, ""
        return self._rewrite(ready)


def clean_markers(text: str, n_passages: int) -> tuple[str, list[int]]:
    """Whole-text version: returns the rewritten text and the cited original numbers, in order."""
    f = MarkerFilter(n_passages)
    out = f.feed(text) + f.flush()
    return out, f.order


def strip_markers(text: str) -> str:
    return _MARKER.sub("", text)


_MARKERS_AFTER_END = re.compile(r"([.!?])((?:[ \t]*\[\d+\])+)(?:[ \t]*\1)?(?=\s|$)")


# A marker that opens a list item written inline ("sont : [1] la coopération ; [1] le …"):
# the model put it before the words it backs, not after them as it was asked to.
_MARKERS_OPENING_ITEM = re.compile(
    r"(?<=[:;] )((?:\[\d+\])+) ([^\[\];:.!?\n]*[^\[\];:.!?\n\s])(?=\s*(?:[;.!?\n]|$))"
)


def markers_before_punctuation(text: str) -> str:
    """ "died. [1]" (or "died. [1].") -> "died [1].": a marker belongs to the sentence it
    follows, and claims are split at their final punctuation. A marker that opens an inline
    list item goes to the item's end: "sont : [1] la coopération ;" -> "sont : la coopération
    [1] ;" (same length, so offsets into a growing draft stay put)."""
    text = _MARKERS_OPENING_ITEM.sub(lambda m: f"{m.group(2)} {m.group(1)}", text)
    return _MARKERS_AFTER_END.sub(lambda m: f"{m.group(2)}{m.group(1)}", text)


def citation_resolver(
    passages: Sequence[Passage], question: str, language: str
) -> Callable[[str, int], int]:
    """`resolve(text_before_marker, n) -> n'`: the passage that best supports the claim.

    A 1.5B model cites [1] by habit. A marker moves to another passage only when that passage
    holds strictly more of the claim's own words (stemmed, accents folded, question words
    left out) than the cited one; otherwise the model's choice stands."""
    asked = set(analyse(question, language))
    vocab = [set(analyse(f"{p.chunk.title}\n{p.chunk.text}", language)) for p in passages]

    def resolve(text: str, n: int) -> int:
        if not 1 <= n <= len(passages):
            return n
        words = [w for w in dict.fromkeys(analyse(last_phrase(text), language)) if w not in asked]
        if not words:
            return n
        support = [sum(w in v for w in words) for v in vocab]
        best = max(range(len(passages)), key=lambda i: (support[i], -i))
        return best + 1 if support[best] > support[n - 1] else n

    return resolve
