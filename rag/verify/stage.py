"""The verification stage: a model's draft in, the answer the client sees out.

A pure function of the draft, the passages, the question, the language and the settings (the
embedder only compares claims with passages across languages): evaluation re-runs it on the
same draft with a rule switched off (evaluation.runner).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace

from rag.embedding import Embedder
from rag.language import detect_language
from rag.schema import Passage
from rag.settings import VerifySettings
from rag.verify.claims import Claim, normalise, parse
from rag.verify.render import render
from rag.verify.rules import ORDER, Decision, Evidence

log = logging.getLogger("rag.verify")


@dataclass(frozen=True)
class Verified:
    text: str  # client numbering: [1] is the first passage cited
    cited: list[int]  # passage numbers (model numbering) of [1], [2], ...
    abstained: bool
    decisions: list[Decision]
    used_language: str  # the draft's language; the answer is translated when it differs
    draft: str = ""  # the normalised draft the rules read (model numbering)
    claims: tuple[Claim, ...] = ()

    def report(self) -> list[dict[str, str]]:
        """One entry per decision, for the response: rule, claim text, action, reason."""
        return [
            {
                "rule": d.rule,
                "claim": self.claims[d.claim].says if d.claim is not None else "",
                "action": d.action,
                "reason": d.reason,
            }
            for d in self.decisions
        ]


def verify(
    draft: str,
    passages: Sequence[Passage],
    question: str,
    language: str,
    settings: VerifySettings | None = None,
    embedder: Embedder | None = None,
) -> Verified:
    """Check `draft` (markers are the model's passage numbers 1..n) against `passages` with
    the rules of rag.verify.rules.ORDER, in that order, then render it once."""
    settings = settings or VerifySettings()
    text = normalise(draft)
    claims = parse(text)
    # A small model sometimes answers in the sources' language: check it in the language it
    # actually used (words can then be compared); the caller translates it at the end.
    used = detect_language(text, default=language) if len(text.split()) >= 4 else language
    ev = Evidence(
        draft=text,
        claims=tuple(claims),
        sources=tuple(f"{p.chunk.title}\n{p.chunk.text}" for p in passages),
        question=question,
        language=language,
        used=used,
        same_language=all(p.chunk.language == used for p in passages),
        settings=settings,
        embedder=embedder,
    )
    live = {c.index: c for c in claims}
    decisions: list[Decision] = []
    for name, rule in ORDER:
        if name in settings.rules_off:
            continue
        for d in rule(list(live.values()), ev):
            decisions.append(d)
            if d.action != "keep":
                said = f" {claims[d.claim].says!r}" if d.claim is not None else ""
                log.info("%s: %s%s: %s", d.rule, d.action, said, d.reason)
            if d.action == "drop" and d.claim is not None:
                del live[d.claim]
            elif d.action == "recite" and d.claim is not None:
                live[d.claim] = replace(live[d.claim], cites=d.cites)
        if any(d.action == "abstain" for d in decisions):
            break
    final, cited = render(text, claims, decisions, len(passages), language)
    abstained = any(d.action == "abstain" for d in decisions)
    return Verified(final, cited, abstained, decisions, used, text, tuple(claims))
