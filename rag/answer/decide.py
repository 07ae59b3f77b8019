"""Decide whether the model reads at all: every abstention before reading, in one place, as
named decisions like the verification rules (rag.verify.rules.Decision).

Before retrieval: nothing is ingested (`empty-corpus`), or the message is a request to the
assistant itself, not a question about the articles (`off-task`, rag.off_task). After
retrieval: no passage is about the question (`relevance`), or a French question names
something no passage names (`question-names`, the rule the verification stage would apply to
every claim). The answer's text for each is `DECLINED[rule][language]`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from rag.answer.question import Question
from rag.off_task import REFUSAL, off_task
from rag.prompting import EMPTY_CORPUS, NO_ANSWER, source_header
from rag.retrieval import Retrieval
from rag.schema import Passage
from rag.verify.config import VerifyConfig
from rag.verify.rules import QUESTION_NAMES, Decision, unnamed_subject

log = logging.getLogger(__name__)

EMPTY = "empty-corpus"
OFF_TASK = "off-task"
RELEVANCE = "relevance"
NOTHING_FOUND = "nothing-in-window"
DECLINED = {EMPTY: EMPTY_CORPUS, OFF_TASK: REFUSAL, RELEVANCE: NO_ANSWER, QUESTION_NAMES: NO_ANSWER}

# The least e5 similarity between an English question and the closest sentence of an English
# passage: on XQuAD, 0.817 declines 0.967 of the held-out unanswerable questions against 0.833,
# and no answerable one more (docs/EVALUATION.md, round 4). multilingual-e5-small's value:
# another embedder needs its own.
ENGLISH_FLOOR = 0.817
# The same for any other pair (a French passage, or a French question). Cross-lingual
# similarities run ~0.05 lower, and in French no floor is safe: 0.838 declined 0.87 of the
# held-out unanswerable PIAF questions but 0.20 of the answerable ones, and the seed's
# « Quand l’accord a-t-il été signé ? » (0.826). So never.
OTHER_FLOOR = 0.0


def before_retrieval(question: Question, corpus_empty: bool) -> Decision | None:
    if corpus_empty:
        return _log(Decision(EMPTY, None, "abstain", "no article has been ingested yet"))
    reason = off_task(question.text)
    return _log(Decision(OFF_TASK, None, "abstain", reason)) if reason else None


def before_reading(question: Question, found: Retrieval, config: VerifyConfig) -> Decision | None:
    passages = found.passages
    return (
        _nothing_in_window(question, found)
        or _unrelated(question, passages)
        or _unnamed(question, passages, config)
    )


def declined_text(decision: Decision, question: Question, found: Retrieval | None) -> str:
    """What the answer says when the model does not read."""
    if decision.rule == NOTHING_FOUND and found is not None:
        return nothing_found_text(question.language, found)
    if decision.rule in (RELEVANCE, QUESTION_NAMES) and found and found.window is not None:
        return nothing_found_text(question.language, found)  # none of the window's is about it
    return DECLINED[decision.rule][question.language]


def nothing_found_text(language: str, found: Retrieval) -> str:
    fr = language == "fr"
    if found.window is not None:
        when = found.window.describe(language)
        return (
            f"Aucun article publié {when} n’en parle."
            if fr
            else f"No article published {when} says anything about it."
        )
    return (
        "Aucun article ne correspond aux filtres demandés."
        if fr
        else "No article matches the filters asked for."
    )


def _nothing_in_window(question: Question, found: Retrieval) -> Decision | None:
    """The question's window (or the request's filters) leave no passage to read: the
    answer says so, naming the window."""
    if found.passages or not (found.window is not None or found.filters):
        return None
    what = found.window.describe("en") if found.window is not None else "the filters"
    return _log(Decision(NOTHING_FOUND, None, "abstain", f"no passage published {what}"))


def _unrelated(question: Question, passages: Sequence[Passage]) -> Decision | None:
    """No sentence of the passages comes close to the question (the best-sentence scores
    read at retrieval)."""
    scored = [p for p in passages if "sentence" in p.scores]
    if not scored:
        return None

    def floor(p: Passage) -> float:
        english = question.language == "en" and p.chunk.language == "en"
        return ENGLISH_FLOOR if english else OTHER_FLOOR

    if any(p.scores["sentence"] >= floor(p) for p in scored):
        return None
    best = max(scored, key=lambda p: p.scores["sentence"])
    reason = (
        f"no passage is about the question: its closest sentence has similarity "
        f"{best.scores['sentence']:.3f}, below {floor(best)}"
    )
    return _log(Decision(RELEVANCE, None, "abstain", reason))


def _unnamed(
    question: Question, passages: Sequence[Passage], config: VerifyConfig
) -> Decision | None:
    """The passages in the question's language never name something the question names:
    the rule `question-names` would drop every claim the model could write from them."""
    if QUESTION_NAMES in config.rules_off or question.language not in config.names_languages:
        return None
    own = [
        f"{source_header(p)}\n{p.chunk.text}"  # "who reported" names the outlet
        for p in passages
        if p.chunk.language == question.language
    ]
    if len(own) < len(passages):  # another language may name it differently
        return None
    missing = unnamed_subject(question.text, question.language, own)
    if missing is None:
        return None
    reason = f"no passage names {missing!r}, which the question names"
    return _log(Decision(QUESTION_NAMES, None, "abstain", reason))


def _log(decision: Decision) -> Decision:
    log.info("%s: abstain before reading: %s", decision.rule, decision.reason)
    return decision
