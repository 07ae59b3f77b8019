"""The rules in the order the stage applies them to each claim, and the answer-level ones."""

from __future__ import annotations

from rag.verify.disagreement import SOURCES_DIFFER, sources_differ
from rag.verify.rules import (
    ABSTENTION,
    ANSWER_KIND,
    COPIES_HEADING,
    NUMBER_IN_CITED,
    NUMBER_IN_SOURCES,
    POLARITY,
    QUESTION_NAMES,
    RESTATES_QUESTION,
    UNCITED_CLAIM,
    WORDS_IN_SOURCES,
    Rule,
    copies_heading,
    names_cited,
    number_in_cited_passage,
    number_in_sources,
    polarity,
    restates_question,
    uncited_claim,
    words_in_sources,
)

# Made-up content goes first, then a claim that only restates the question; attribution
# gives every claim a citation; numbers and polarity are checked against the passage a claim
# cites once it cites one; last, whether another source gives its value differently.
ORDER: tuple[tuple[str, Rule], ...] = (
    (NUMBER_IN_SOURCES, number_in_sources),
    (WORDS_IN_SOURCES, words_in_sources),
    (RESTATES_QUESTION, restates_question),
    (COPIES_HEADING, copies_heading),
    (UNCITED_CLAIM, uncited_claim),
    (QUESTION_NAMES, names_cited),
    (NUMBER_IN_CITED, number_in_cited_passage),
    (POLARITY, polarity),
    (SOURCES_DIFFER, sources_differ),
)
# answer-level rules: the stage applies them to the claims as a whole (rag.verify.stage)
ANSWER_RULES = (ABSTENTION, ANSWER_KIND)
RULE_NAMES: tuple[str, ...] = (*(name for name, _ in ORDER), *ANSWER_RULES)
