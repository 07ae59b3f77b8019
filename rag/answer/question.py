"""Understand: what is asked, in which language, and what to search for.

The language is detected once, from the question as typed, and every later stage reads it
from here. A follow-up that leans on the conversation ("Lequel est cité en premier ?") is
rewritten into a standalone question before retrieval (one more model call); a
self-contained question skips it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from rag.conversation import clean_condensed, condense_messages, needs_condensing
from rag.language import detect_language

Generate = Callable[[list[dict]], str]


@dataclass(frozen=True)
class Question:
    text: str  # the last user message, stripped
    language: str  # "fr" or "en": the answer's language
    history: tuple[dict, ...] = field(default=(), repr=False)  # the messages before it
    searched: str = ""  # what retrieval and the model see: `text`, or its standalone rewrite

    @property
    def condensed(self) -> bool:
        return self.searched != self.text


def question_of(messages: Sequence[dict]) -> Question:
    """The last user message of a conversation (earlier messages are its context)."""
    text = messages[-1]["content"].strip()
    return Question(text, detect_language(text), tuple(messages[:-1]), text)


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
