"""Understand: what is asked, in which language, and what to search for.

The language is detected once, from the question as typed, and every later stage reads it
from here. A follow-up that leans on the conversation ("Lequel est cité en premier ?") is
rewritten into a standalone question before retrieval (one more model call); a
self-contained question skips it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from rag.answer.when import NO_TIME, TimeAsk, read_time
from rag.conversation import clean_condensed, condense_messages, needs_condensing
from rag.language import detect_language
from rag.text import fold

Generate = Callable[[list[dict]], str]


@dataclass(frozen=True)
class Question:
    text: str  # the last user message, stripped
    language: str  # "fr" or "en": the answer's language
    history: tuple[dict, ...] = field(default=(), repr=False)  # the messages before it
    searched: str = ""  # what retrieval and the model see: `text`, or its standalone rewrite
    # the request's time, which relative expressions count from (None: no time is read)
    now: datetime | None = None

    @property
    def condensed(self) -> bool:
        return self.searched != self.text

    @property
    def time(self) -> TimeAsk:
        """When the standalone question asks about (rag.answer.when)."""
        return read_time(self.searched, self.language, self.now) if self.now else NO_TIME

    @property
    def entity(self) -> str | None:
        """What a question about an entity asks about: "Benjamin Gallezot" in "Who is
        Benjamin Gallezot?" / « Qui est Benjamin Gallezot ? », "la DATAR" in « Qu'est-ce que
        la DATAR ? »; None for any other question."""
        return entity_of(self.searched)


def question_of(messages: Sequence[dict], now: datetime | None = None) -> Question:
    """The last user message of a conversation (earlier messages are its context); `now`,
    the time relative expressions ("last week") count from (none: no time is read)."""
    text = messages[-1]["content"].strip()
    return Question(text, detect_language(text), tuple(messages[:-1]), text, now)


def standalone(question: Question, generate: Generate) -> Question:
    """The question with `searched` rewritten to stand alone, when it leans on the history."""
    if not question.history or not needs_condensing(question.text, question.history):
        return question
    draft = generate(condense_messages(question.text, question.history))
    rewritten = clean_condensed(draft, question.text)
    if rewritten.casefold() == question.text.casefold():
        # The model could not rewrite it: searching with the previous question as well
        # still finds what the follow-up is about.
        previous = next(m["content"] for m in reversed(question.history) if m["role"] == "user")
        rewritten = f"{previous.strip()} {question.text}"
    return replace(question, searched=rewritten)


# "who is X" / « qui est X » with X a name (capitalised), "what is X" / « qu'est-ce que X »
# with X a term of at most three words: the question is about X as a whole, and what the
# articles say of X may sit in any passage that names it, not only the best-scoring one.
_WHO = re.compile(
    r"^\s*(?:who\s+(?:is|was|are|were)|qui\s+(?:est|etait|sont|etaient|fut))\s+(?P<x>.+?)\s*\??\s*$",
    re.IGNORECASE,
)
_WHAT = re.compile(
    r"^\s*(?:what\s+(?:is|are|was|were)|qu['’]?\s*est[- ]ce\s+qu(?:e\s+|['’]\s*)"
    r"(?:c['’]\s*est\s+(?:que\s+)?)?|c['’]\s*est\s+quoi)\s*(?P<x>.+?)\s*\??\s*$",
    re.IGNORECASE,
)
_DETERMINER = re.compile(r"^(?:(?:the|a|an|le|la|les|un|une|des|du)\s+|l['’]\s*)", re.IGNORECASE)


def entity_of(question: str) -> str | None:
    text = question.strip()
    folded = fold(text)  # accents off, so "était" meets the pattern; offsets stay
    for pattern, needs_name in ((_WHO, True), (_WHAT, False)):
        m = pattern.match(folded)
        if not m:
            continue
        x = text[m.start("x") : m.end("x")].strip(" ?.!")
        bare = _DETERMINER.sub("", x)
        words = bare.split()
        if not words or len(words) > (6 if needs_name else 3):
            return None
        if needs_name and not (
            bare[:1].isupper() and all(w[:1].isupper() or len(w) <= 3 for w in words)
        ):
            return None  # "qui est le père de …", "who was one prominent …": not a name
        return x
    return None
