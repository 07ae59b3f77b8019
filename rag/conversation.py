"""Follow-up questions: detect when a question leans on the conversation, and rewrite it into a
standalone question for retrieval. A self-contained question skips the extra LLM call."""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.citations import strip_markers
from rag.language import detect_language
from rag.prompting import LANGUAGE_NAME

_ANAPHORA = {
    "en": re.compile(
        r"\b(it|its|they|them|their|this|that|these|those|he|him|his|she|her|which one|"
        r"the first|the second|the last|the latter|the former|same|other|others|else|"
        r"one of them|how so)\b|^\s*(and|but|so|also|what about)\b",
        re.IGNORECASE,
    ),
    "fr": re.compile(
        r"\b(il|elle|ils|elles|lui|leur|leurs|celui|celle|ceux|celles|cela|ça|ce dernier|"
        r"cette dernière|lequel|laquelle|lesquels|lesquelles|le premier|la première|"
        r"le dernier|la dernière|autres?)\b|\b[lL]['’](a|ont|est|avait)\b|"
        r"\b(en|y)\s+(a|ont|est|sont|avait)\b|^\s*(et|mais|donc|aussi)\b",
        re.IGNORECASE,
    ),
}
_CONTENT_WORD = re.compile(r"\w{4,}")


def needs_condensing(question: str, history: Sequence[dict]) -> bool:
    if not any(m["role"] == "user" for m in history):
        return False
    language = detect_language(question)
    if _ANAPHORA[language].search(question):
        return True
    return len(_CONTENT_WORD.findall(question)) < 3  # too short to stand alone


_SYSTEM = (
    "Rewrite the user's last question so that it can be understood without the conversation: "
    "replace pronouns and references with what they refer to, keep every other word. Keep the "
    "question's language. Reply with the rewritten question only."
)
# Demonstrated turns (fixed, so their KV cache is reused) teach the 1.5B model the task.
# Their vocabulary is far from news on purpose: the model copies words from examples.
_EXAMPLES = [
    (
        [
            ("user", "What dishes does the restaurant serve?"),
            ("assistant", "It serves soup, grilled fish and cakes."),
        ],
        "Which one is the cheapest?",
        "Which of the dishes served by the restaurant is the cheapest?",
    ),
    (
        [
            ("user", "Qui a remporté le tournoi de tennis ?"),
            ("assistant", "Léa Martin l’a remporté en 2021."),
        ],
        "Quel âge a-t-elle ?",
        "Quel âge a Léa Martin, qui a remporté le tournoi de tennis ?",
    ),
]


def _render(history: Sequence[tuple[str, str]], question: str, max_chars: int) -> str:
    lines = []
    for role, content in history:
        text = " ".join(strip_markers(content).split())[:max_chars]
        lines.append(f"{'User' if role == 'user' else 'Assistant'}: {text}")
    language = LANGUAGE_NAME[detect_language(question)]
    return (
        "Conversation:\n" + "\n".join(lines) + f"\n\nLast question: {question}\n"
        f"Rewritten question in {language}:"
    )


def condense_messages(question: str, history: Sequence[dict], max_chars: int = 400) -> list[dict]:
    messages = [{"role": "system", "content": _SYSTEM}]
    for turns, q, rewritten in _EXAMPLES:
        messages.append({"role": "user", "content": _render(turns, q, max_chars)})
        messages.append({"role": "assistant", "content": rewritten})
    recent = [(m["role"], m["content"]) for m in history[-6:]]
    messages.append({"role": "user", "content": _render(recent, question, max_chars)})
    return messages


def clean_condensed(text: str, fallback: str) -> str:
    line = next((ln.strip() for ln in text.strip().splitlines() if ln.strip()), "")
    line = re.sub(r"^(rewritten question|question)[^:]*:\s*", "", line, flags=re.IGNORECASE)
    line = line.strip().strip('"“”«» ').strip()
    return line if 3 <= len(line) <= 500 else fallback
