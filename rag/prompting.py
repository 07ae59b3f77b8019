"""Prompts. Lean on purpose: on a CPU every prompt token costs ~11 ms before the first answer token.

The fixed instructions come first so llama.cpp can reuse their KV cache between questions.
"""

from __future__ import annotations

from collections.abc import Sequence

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
    "You answer questions using only the numbered sources given. Rules:\n"
    "- Answer in {language}, briefly and completely; keep lists as lists.\n"
    "- After each claim, cite its source number in brackets, like [1] or [2].\n"
    "- Use only facts stated in the sources. If they do not contain the answer, reply "
    'exactly "{no_answer}" and nothing else.'
)


def format_sources(passages: Sequence[Passage]) -> str:
    return "\n\n".join(
        f"[{i}] {p.chunk.title}\n{p.chunk.text.strip()}" for i, p in enumerate(passages, 1)
    )


def build_messages(question: str, passages: Sequence[Passage], language: str) -> list[dict]:
    system = SYSTEM.format(language=LANGUAGE_NAME[language], no_answer=NO_ANSWER[language])
    user = (
        f"Sources:\n{format_sources(passages)}\n\n"
        f"Question: {question.strip()}\n"
        f"Answer in {LANGUAGE_NAME[language]}, citing sources like [1]."
    )
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def is_abstention(answer: str, language: str) -> bool:
    """True when the model declined: the answer is (or starts with) a no-answer sentence."""
    from rag.citations import strip_markers

    text = " ".join(strip_markers(answer).lower().split()).rstrip(".! ")
    if not text:
        return True
    for phrase in NO_ANSWER.values():
        p = phrase.lower().rstrip(".")
        if text.startswith(p) or (p in text and len(text) < len(p) + 40):
            return True
    return False
