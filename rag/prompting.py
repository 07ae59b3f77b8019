"""Prompts. Lean on purpose: on a CPU every prompt token costs ~11 ms before the first answer token.

The fixed instructions come first so llama.cpp can reuse their KV cache between questions.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

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

# A 1.5B model follows demonstrated turns far better than rules. These turns never change,
# so llama.cpp keeps their KV cache and they cost almost nothing after the first question.
_EXAMPLE_SOURCES = (
    "[1] Budget 2024\n"
    "La ville a voté un budget de 3 millions d’euros pour deux projets : une école et un parc."
    "\n\n[2] Transports\nUne nouvelle ligne de bus ouvrira en mars."
)
_EXAMPLES = [
    (
        "What will the city's budget pay for?",
        "en",
        "The city voted a budget of 3 million euros [1] for two projects:\n- a school [1]\n"
        "- a park [1]",
    ),
    ("Qui est le maire ?", "fr", NO_ANSWER["fr"]),
    ("Quand ouvrira la ligne de bus ?", "fr", "La nouvelle ligne de bus ouvrira en mars [2]."),
]


# Short answers (`RAG_PROMPT_ANSWERS=short`): the answering words alone, not a sentence that
# restates the question around them.
_SHORT_EXAMPLES = [
    ("What will the city's budget pay for?", "en", "A school [1] and a park [1]."),
    _EXAMPLES[1],
    ("Quand ouvrira la ligne de bus ?", "fr", "En mars [2]."),
]


def format_sources(passages: Sequence[Passage], texts: Sequence[str] | None = None) -> str:
    """Numbered sources; `texts` replaces each passage's text (rag.focus: its best sentences)."""
    bodies = texts if texts is not None else [p.chunk.text.strip() for p in passages]
    pairs = zip(passages, bodies, strict=True)
    return "\n\n".join(f"[{i}] {p.chunk.title}\n{body}" for i, (p, body) in enumerate(pairs, 1))


def _user_turn(
    sources: str, question: str, language: str, style: str = "cited", brief: bool = False
) -> str:
    ask = (
        f"Copy the sentence that answers, then answer in {LANGUAGE_NAME[language]} after "
        f'"{ANSWER_LABEL}".'
        if style == "quote"
        else f"Answer{' briefly' if brief else ''} in {LANGUAGE_NAME[language]}, "
        "with a source number after every sentence or list item."
    )
    return f"Sources:\n{sources}\n\nQuestion: {question.strip()}\n{ask}"


# Quote first (`RAG_PROMPT_STYLE=quote`): the model copies the answering sentence, then
# answers from it. Copying points a 1.5B model at the right words before it writes; the quote
# is never shown (rag.quote.QuoteFilter keeps what follows "Answer:").
QUOTE_LABEL, ANSWER_LABEL = "Quote", "Answer:"
SYSTEM_QUOTE = (
    "You answer questions using only the numbered sources. First write "
    f'"{QUOTE_LABEL} [n]:" and copy, word for word, the sentence of source n that answers the '
    f'question. Then write "{ANSWER_LABEL}" and answer briefly, ending with the source number '
    'in brackets, like [2]. If no sentence answers the question, reply only "{no_en}" '
    '(in French: "{no_fr}")'
).format(no_en=NO_ANSWER["en"], no_fr=NO_ANSWER["fr"])
_QUOTE_EXAMPLES = [  # the English turn first: `examples=2` keeps the two French ones
    (
        "What will the city's budget pay for?",
        "en",
        f"{QUOTE_LABEL} [1]: La ville a voté un budget de 3 millions d’euros pour deux projets : "
        f"une école et un parc.\n{ANSWER_LABEL} A school and a park [1].",
    ),
    ("Qui est le maire ?", "fr", NO_ANSWER["fr"]),
    (
        "Quand ouvrira la ligne de bus ?",
        "fr",
        f"{QUOTE_LABEL} [2]: Une nouvelle ligne de bus ouvrira en mars.\n"
        f"{ANSWER_LABEL} La nouvelle ligne de bus ouvrira en mars [2].",
    ),
]
_STYLES = {"cited": (SYSTEM, _EXAMPLES), "quote": (SYSTEM_QUOTE, _QUOTE_EXAMPLES)}

# The same demonstrated turns in English, over English sources (`RAG_PROMPT_DEMOS=question`):
# an English question then reads an English answer and an English abstention.
_EXAMPLE_SOURCES_EN = (
    "[1] Budget 2024\n"
    "The city voted a budget of 3 million euros for two projects: a school and a park."
    "\n\n[2] Transport\nA new bus line will open in March."
)
_EXAMPLES_EN = [
    _EXAMPLES[0],
    ("Who is the mayor?", "en", NO_ANSWER["en"]),
    ("When will the bus line open?", "en", "The new bus line will open in March [2]."),
]


def build_messages(
    question: str,
    passages: Sequence[Passage],
    language: str,
    style: str = "cited",
    texts: Sequence[str] | None = None,
    examples: int = 3,
    demos: str = "fr",
    answers: str = "sentences",
) -> list[dict]:
    """`style`: "cited" (answer with a marker after every claim) or "quote" (copy the
    answering sentence, then answer). `texts`: what to show of each passage (default: all).
    `examples`: how many demonstrated turns precede the question (at most 3). `demos`: "fr"
    (the French turns for every question) or "question" (cited style: English turns over
    English sources for an English question). `answers`: "short" (cited style) demonstrates
    and asks for the answering words alone."""
    system, demonstrated = _STYLES[style]
    brief = style == "cited" and answers == "short"
    if brief:
        demonstrated = _SHORT_EXAMPLES
    example_sources = _EXAMPLE_SOURCES
    if demos == "question" and style == "cited" and language == "en":
        demonstrated, example_sources = _EXAMPLES_EN, _EXAMPLE_SOURCES_EN
    messages = [{"role": "system", "content": system}]
    # the last `examples` demonstrated turns (cited style: the English list goes first)
    for q, lang, answer in demonstrated[len(demonstrated) - max(0, examples) :]:
        turn = _user_turn(example_sources, q, lang, style, brief)
        messages.append({"role": "user", "content": turn})
        messages.append({"role": "assistant", "content": answer})
    messages.append(
        {
            "role": "user",
            "content": _user_turn(
                format_sources(passages, texts), question, language, style, brief
            ),
        }
    )
    return messages


# A claim that says only that the sources lack something: a negation and the sources (or
# "no information", "I don't know"), and no contrast that brings a fact after it.
_SOURCES = r"\b(?:sources?|articles?|passages?|context|contexte|documents?|texts?|textes?)\b"
_NEGATION = (
    r"\b(?:not|no|none|nothing|neither|nor|cannot|unable|without|ne|n|pas|aucun|aucune|"
    r"rien|ni|sans|impossible)\b|n't"
)
_NO_INFORMATION = re.compile(
    r"\b(?:no|aucune?|pas d|pas de|sans) (?:\w+ )?(?:information|informations|mention|details?|"
    r"data|donnees?|precisions?|indications?)\b"
    r"|\bi (?:do not|don t|cannot|can t) (?:know|say|tell|find)\b"
    r"|\bje ne (?:sais|peux) pas\b|\bje n ai pas (?:trouve|d information)"
)
_CONTRAST = re.compile(
    r"\b(?:but|however|only|although|though|yet|except|instead|mais|cependant|toutefois|"
    r"seulement|uniquement|neanmoins|pourtant|sauf|plutot)\b"
)


def is_abstention(answer: str, language: str) -> bool:
    """True when the model declined, however it put it: the answer is (or starts with) a
    no-answer sentence, or every claim of it says only that the sources lack the answer
    ("… is not provided in the given sources [1]", "Le texte ne précise pas la date.")."""
    from rag.citations import strip_markers
    from rag.text import answer_claims, fold

    text = " ".join(strip_markers(answer).lower().split()).rstrip(".! ")
    if not text:
        return True
    for phrase in NO_ANSWER.values():
        p = phrase.lower().rstrip(".")
        if text.startswith(p) or (p in text and len(text) < len(p) + 40):
            return True
    folded = re.sub(r"[’'`]", " ", fold(text))
    claims = [folded[a:b] for a, b in answer_claims(folded)]
    return bool(claims) and all(_says_sources_lack_it(c) for c in claims)


def _says_sources_lack_it(claim: str) -> bool:
    if _CONTRAST.search(claim):
        return False
    # "…do not give the date; the mine reopens in 2027": a clause that states something
    for clause in re.split(r"[;:,]", claim):
        if len(clause.split()) >= 4 and not (
            _NO_INFORMATION.search(clause) or re.search(_NEGATION, clause)
        ):
            return False
    if _NO_INFORMATION.search(claim):
        return True
    return bool(re.search(_SOURCES, claim) and re.search(_NEGATION, claim))


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


def make_citation_resolver(
    passages: Sequence[Passage], question: str, language: str
) -> Callable[[str, int], int]:
    """`resolve(text_before_marker, n) -> n'`: the passage that best supports the claim.

    A 1.5B model cites [1] by habit. A marker moves to another passage only when that passage
    holds strictly more of the claim's own words (stemmed, accents folded, question words
    left out) than the cited one; otherwise the model's choice stands."""
    from rag.text import analyse, last_phrase

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
