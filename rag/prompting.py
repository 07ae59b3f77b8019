"""Prompts. Lean on purpose: on a CPU every prompt token costs ~11 ms before the first answer token.

The fixed instructions come first so llama.cpp can reuse their KV cache between questions.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.grounding import numbers_in
from rag.schema import Passage

NO_ANSWER = {
    "en": "The sources do not say.",
    "fr": "Les sources ne le disent pas.",
}
EMPTY_CORPUS = {
    "en": "No articles have been ingested yet, so there is nothing to answer from. "
    "Ingest some with `rag ingest PATH`.",
    "fr": "Aucun article n’a encore été ingéré : il n’y a rien sur quoi répondre. "
    "Ajoutez-en avec `rag ingest CHEMIN`.",
}
LANGUAGE_NAME = {"en": "English", "fr": "French"}

SYSTEM = (
    "You answer questions using only the numbered sources. After every sentence or list item, "
    "write the number of the source it comes from in brackets, like [2]. Never use outside "
    'knowledge: if the sources do not answer the question, reply only "{no_en}" '
    '(in French: "{no_fr}")'
).format(no_en=NO_ANSWER["en"], no_fr=NO_ANSWER["fr"])

# A 1.5B model follows demonstrated turns far better than rules. One French cited answer: an
# English list turn before it cost French answers and abstentions, a French abstention turn
# gained nothing for 96 prompt tokens, and none at all cost answers and citations
# (docs/EVALUATION.md, rounds 1 and 3). It never changes, so llama.cpp keeps its KV cache.
_EXAMPLE_SOURCES = (
    "[1] Budget 2024\n"
    "La ville a voté un budget de 3 millions d’euros pour deux projets : une école et un parc."
    "\n\n[2] Transports\nUne nouvelle ligne de bus ouvrira en mars."
)
_EXAMPLE = (
    "Quand ouvrira la ligne de bus ?",
    "fr",
    "La nouvelle ligne de bus ouvrira en mars [2].",
)


def source_header(passage: Passage) -> str:
    """A source's title, with its outlet and day when known ("Titre — Le Monde, 2020-02-14"),
    so that "when" and "who reported" can be answered and cited; without them, the title."""
    chunk = passage.chunk
    about = ", ".join(part for part in (chunk.outlet, chunk.published[:10]) if part)
    return f"{chunk.title} — {about}" if about else chunk.title


def format_sources(passages: Sequence[Passage], texts: Sequence[str] | None = None) -> str:
    """Numbered sources; `texts` replaces each passage's text (rag.focus: its best sentences)."""
    bodies = texts if texts is not None else [p.chunk.text.strip() for p in passages]
    pairs = zip(passages, bodies, strict=True)
    return "\n\n".join(f"[{i}] {source_header(p)}\n{body}" for i, (p, body) in enumerate(pairs, 1))


# « Quels sont les quatre objectifs… ? », "What are the agreement's four objectives?",
# « Citez deux clubs… »: a question that asks for a list of so many things
_ENUMERATION = re.compile(
    r"^\s*(?:(?:quel(?:le)?s|what|which)\s+(?:sont|étaient|seront|are|were|will be)\s+"
    r"(?:les|ses|leurs|ces|the|its|his|her|their|these|[\w’'-]+['’]s)\s+(?:[\w’'-]+['’]s\s+)?"
    r"|(?:citez|nommez|donnez|name|list|give)\s+(?:les\s+|the\s+)?)"
    r"([\w-]+)\b",
    re.IGNORECASE,
)


def asked_count(question: str) -> int | None:
    """How many things a question asks to list (« Quels sont les quatre objectifs ? »: 4)."""
    m = _ENUMERATION.search(question)
    counted = numbers_in(m.group(1)) if m else set()
    count = int(next(iter(counted))) if len(counted) == 1 else 0
    return count if count > 1 else None  # « Citez un lieu… » asks for one thing


def _user_turn(sources: str, question: str, language: str, dated: bool = False) -> str:
    # Asking for "every fact the sources give for it" kept the seed's four objectives whole
    # with either apostrophe, but on PIAF's tuning half it cost 3 answers of 100 (contains
    # 0.560 -> 0.530) and an unanswerable question answered (docs/EVALUATION.md, 2026-12-05)
    ask = (
        f"Answer in {LANGUAGE_NAME[language]}, with a source number after every sentence or "
        "list item."
    )
    if dated:  # the question asks about a time: the answer says when each source reported it
        ask += " Say the date of each source you use."
    count = asked_count(question)
    if count:
        # the seed's « Quels sont les quatre objectifs de l'accord ? » listed three: the model
        # copied the sentence « Les autres objectifs incluent … » and left out the one before
        ask += f" The question asks for {count}: give all {count}."
    return f"Sources:\n{sources}\n\nQuestion: {question.strip()}\n{ask}"


def build_messages(
    question: str,
    passages: Sequence[Passage],
    language: str,
    texts: Sequence[str] | None = None,
    dated: bool = False,
) -> list[dict]:
    """The chat prompt: instructions, the demonstrated turn, then the numbered sources and the
    question. `texts`: what to show of each passage (default: all of it; rag.focus)."""
    q, lang, answer = _EXAMPLE
    return [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": _user_turn(_EXAMPLE_SOURCES, q, lang)},
        {"role": "assistant", "content": answer},
        {
            "role": "user",
            "content": _user_turn(format_sources(passages, texts), question, language, dated),
        },
    ]


def translation_messages(text: str, language: str) -> list[dict]:
    return [
        {
            "role": "system",
            "content": f"Translate the user's text into {LANGUAGE_NAME[language]}. Keep every "
            "[n] marker exactly where it is and keep lists as lists. Reply with the "
            "translation only.",
        },
        {"role": "user", "content": text},
    ]
