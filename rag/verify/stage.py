"""The verification stage: a model's draft in, the answer the client sees out.

It owns citation numbering: the model's markers, in whatever form it writes them, are read
once (rag.citations.MarkerFilter in the model's numbering, each sent to the passage that best
supports its claim), checked claim by claim, and renumbered for the client once, as claims are
released. A pure function of the draft, the passages, the question, the language and the
config (the embedder only compares claims with passages across languages): evaluation re-runs
it on the same draft with a rule switched off (evaluation.runner).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from rag.citations import MarkerFilter, citation_resolver, markers_before_punctuation
from rag.embedding import Embedder
from rag.language import detect_language
from rag.prompting import NO_ANSWER, source_header
from rag.schema import Passage
from rag.verify.abstention import is_abstention
from rag.verify.claims import Claim, normalise, parse
from rag.verify.config import VerifyConfig
from rag.verify.order import ANSWER_RULES, ORDER
from rag.verify.render import recite
from rag.verify.rules import (
    ABSTENTION,
    ANSWER_KIND,
    Decision,
    Evidence,
    answer_kind,
    asked_kind,
    gives_kind,
)

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
    config: VerifyConfig | None = None,
    embedder: Embedder | None = None,
) -> Verified:
    """Check a whole `draft` (markers are the model's passage numbers 1..n): what a stream
    releases claim by claim (ClaimStream), all at once. Evaluation re-runs it with a rule off."""
    stream = ClaimStream(passages, question, language, config, embedder)
    stream.feed(draft)
    return stream.finish()


class ClaimStream:
    """Verifies a draft as it is generated and releases a claim only once it has passed the
    rules: what was released is never taken back, so the streamed text is the answer.

    Feed the model's text as it comes (model numbering, markers in any form); `feed` and
    `finish` return
    the text that is now final, in client numbering. A claim is complete when text follows
    it. Two things wait:
    - the answer's language, decided on its first 4+ words; a draft in another language than
      the question's is held whole and translated at the end (by the caller);
    - claims that only say the sources lack something: the answer abstains when every claim
      says so, so they are released with the first claim that says something.
    """

    def __init__(
        self,
        passages: Sequence[Passage],
        question: str,
        language: str,
        config: VerifyConfig | None = None,
        embedder: Embedder | None = None,
        searched: str | None = None,
    ) -> None:
        self.config = config or VerifyConfig()
        # as the model read them: the header names the outlet and the day when known
        self.sources = tuple(f"{source_header(p)}\n{p.chunk.text}" for p in passages)
        self.source_languages = tuple(p.chunk.language for p in passages)
        self.source_docs = tuple(p.chunk.doc_id for p in passages)
        self.question, self.language, self.embedder = question, language, embedder
        # the model's markers, read once: valid ones only, written [n], model numbering; with
        # `searched` (the question the model read), each goes to the passage that best
        # supports its claim (a 1.5B model cites [1] by habit)
        resolve = citation_resolver(passages, searched, language) if searched else None
        self._read = MarkerFilter(len(passages), resolve, renumber=False)
        self.draft = ""  # everything fed, model numbering
        self.used: str | None = None  # the draft's language, once decided
        self.claims: list[Claim] = []  # complete claims, as parsed
        self.decisions: list[Decision] = []
        self.abstained = False
        self.halted = False  # a "stop" decision: the rest of the draft is not read
        self.released = ""  # client numbering
        self._markers = MarkerFilter(len(passages))
        # (gap before it, rendered claim, waits: says only that the sources lack something,
        # or opens a list)
        self._held: list[tuple[str, str, bool, Claim]] = []
        # a question that asks for a figure, a date or a name: claims wait for one giving it
        self.kind = None if ANSWER_KIND in self.config.rules_off else asked_kind(question)
        self.kind_met = self.kind is None
        self._vectors: dict = {}  # what the embedder read for this draft (Evidence.vectors)
        self._end = 0  # where the last complete claim ends in the normalised draft
        self.tail = ""  # what `finish` released
        self._gap = ""  # the separator before a dropped claim, kept for the next one

    @property
    def held_whole(self) -> bool:
        """The draft is in another language than the question: nothing is released early."""
        return self.used is not None and self.used != self.language

    @property
    def stopped(self) -> bool:
        """The answer abstained, or a rule stopped reading the draft: the rest of it cannot
        change the answer (stop generating)."""
        return self.abstained or self.halted

    def feed(self, text: str) -> str:
        self.draft += self._read.feed(text)
        if self.abstained:
            return ""
        return self._advance(final=False)

    def finish(self) -> Verified:
        """Every claim is complete now: the whole result. Its text is everything released;
        `self.tail` is what this call released (not to be streamed when the draft was held
        whole: the caller translates it)."""
        self.draft += self._read.flush()
        if not self.abstained:
            self._advance(final=True)
        if not self.abstained and not self.released.strip():
            self._abstain(None, "no claim is left")
        text = self.released if not self.abstained else NO_ANSWER[self.language]
        cited = [] if self.abstained else list(self._markers.order)
        return Verified(
            text,
            cited,
            self.abstained,
            self.decisions,
            self.used or self.language,
            normalise(self.draft),
            tuple(self.claims),
        )

    # --- internals ---------------------------------------------------------------------
    def _advance(self, final: bool) -> str:
        # the same offsets at every call: only the end of the draft ever changes
        text = markers_before_punctuation(self.draft).lstrip()
        text = text.rstrip() if final else text
        parsed = parse(text)
        complete = parsed if final else parsed[:-1]  # the last one may still grow
        before = len(self.released)
        for c in [] if self.halted else complete[len(self.claims) :]:
            claim = replace(c, index=len(self.claims))
            gap = text[self._end : c.start]
            self._end = c.end
            self.claims.append(claim)
            self._check(claim, gap)
            if self.abstained:
                return ""
            if self.halted:
                break
        if self.used is None and (final or self._words() >= 4):
            self._decide_language(text)
        if final and self.used is None:
            self.used = self.language
        if final or (self.used is not None and not self.held_whole):
            self._release(final)
        out = self.released[before:]
        if final:
            self.tail = out
        return out

    def _words(self) -> int:
        return sum(len(c.text.split()) for c in self.claims)

    def _decide_language(self, text: str) -> None:
        said = " ".join(c.text for c in self.claims)
        self.used = detect_language(said, default=self.language) if said.strip() else None

    def _check(self, claim: Claim, gap: str) -> None:
        rules_off = self.config.rules_off
        if not self.claims[:-1] and ABSTENTION not in rules_off and _opens_with_no_answer(claim):
            self._abstain(claim.index, "the answer says the sources do not answer")
            return
        ev = self._evidence(claim, self.used or self._provisional_language(claim))
        live: Claim | None = claim
        notes: list[str] = []  # sentences the answer adds after the claim (sources-differ)
        for name, rule in ORDER:
            if name in ANSWER_RULES or name in rules_off or live is None:
                continue
            for d in rule([live], ev):
                self._decide(d, claim)
                if d.action in ("drop", "stop"):
                    live = None
                    self.halted = self.halted or d.action == "stop"
                elif d.action == "recite":
                    live = replace(live, cites=d.cites)
                if d.note:
                    notes.append(d.note)
        if live is None:  # its separator still separates its neighbours
            self._gap = self._gap or gap
            return
        gap, self._gap = gap or self._gap, ""
        rendered = recite(live.raw, live.cites) if live.cites != claim.cites else live.raw
        if notes and live is not None:
            rendered = rendered.rstrip() + " " + " ".join(notes)
        lacks = ABSTENTION not in rules_off and is_abstention(live.raw, self.language)
        # a line opening a list says nothing until an item of it does: « Pour préparer un
        # kouign-amann, il faut : » was answered alone once every made-up quantity after it
        # was dropped (an unanswerable question of the tuning sample)
        opens_list = ABSTENTION not in rules_off and live.opens_list
        self._held.append((gap, rendered, lacks or opens_list, live))
        if not lacks and not self.kind_met and gives_kind(live.text, self.kind, self.question):
            self.kind_met = True

    def _evidence(self, claim: Claim | None, used: str) -> Evidence:
        return Evidence(
            draft=claim.raw if claim else "",
            claims=(claim,) if claim else (),
            sources=self.sources,
            question=self.question,
            language=self.language,
            used=used,
            same_language=set(self.source_languages) <= {used},
            config=self.config,
            source_languages=self.source_languages,
            source_docs=self.source_docs,
            embedder=self.embedder,
            vectors=self._vectors,
        )

    def _provisional_language(self, claim: Claim) -> str:
        """The language to check a claim in before the answer's is decided: the draft's
        so far when it has 4+ words, else the question's."""
        said = " ".join(c.text for c in self.claims)
        if len(said.split()) >= 4:
            return detect_language(said, default=self.language)
        return self.language

    def _release(self, final: bool) -> None:
        """Release held claims up to the last one that says something (claims saying only
        that the sources lack something wait for one that does not); at the end, all of
        them, unless nothing but such claims is left: then the answer abstains."""
        says = [i for i, (_, _, lacks, _) in enumerate(self._held) if not lacks]
        if not self.kind_met and says:
            if not final:
                return
            said = [c for *_, lacks, c in self._held if not lacks]
            ev = self._evidence(said[0], self.used or self.language)
            for d in answer_kind(said, ev):
                self._abstain(None, d.reason, d.rule)
                return
        if final and self._held and not says and not self.released:
            if any(c.opens_list for *_, c in self._held):
                self._abstain(None, "nothing is left but the line opening a list")
            else:
                self._abstain(None, "every claim says the sources do not answer")
            return
        if final:  # a list's opening line whose items were all dropped ends nothing
            while self._held and self._held[-1][3].opens_list:
                self._held.pop()
        upto = len(self._held) if final else (says[-1] + 1 if says else 0)
        for gap, rendered, *_ in self._held[:upto]:
            if self.released:
                piece = re.sub(r"\n{3,}", "\n\n", gap) + rendered
            else:
                piece = rendered.lstrip()
            self.released += self._markers.feed(piece) + self._markers.flush()
        del self._held[:upto]

    def _decide(self, d: Decision, claim: Claim) -> None:
        self.decisions.append(d)
        if d.action != "keep":
            log.info("%s: %s %r: %s", d.rule, d.action, claim.says, d.reason)

    def _abstain(self, claim: int | None, reason: str, rule: str = ABSTENTION) -> None:
        d = Decision(rule, claim, "abstain", reason)
        self.decisions.append(d)
        log.info("%s: abstain: %s", d.rule, reason)
        self.abstained = True
        self._held.clear()


def _opens_with_no_answer(claim: Claim) -> bool:
    """The answer starts with the service's own no-answer sentence (in either language)."""
    text = " ".join(claim.says.lower().split())
    return any(text.startswith(p.lower().rstrip(".")) for p in NO_ANSWER.values())
