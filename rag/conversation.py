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


def condense_messages(question: str, history: Sequence[dict], max_chars: int = 400) -> list[dict]:
    lines = []
    for m in history[-6:]:
        text = " ".join(strip_markers(m["content"]).split())[:max_chars]
        lines.append(f"{'User' if m['role'] == 'user' else 'Assistant'}: {text}")
    language = LANGUAGE_NAME[detect_language(question)]
    return [
        {
            "role": "system",
            "content": "Rewrite the user's last question so that it can be understood without "
            "the conversation: replace pronouns and references with what they refer to. "
            "Keep the question's language. Reply with the rewritten question only.",
        },
        {
            "role": "user",
            "content": "Conversation:\n" + "\n".join(lines) + f"\n\nLast question: {question}\n"
            f"Rewritten question in {language}:",
        },
    ]


def clean_condensed(text: str, fallback: str) -> str:
    line = next((ln.strip() for ln in text.strip().splitlines() if ln.strip()), "")
    line = re.sub(r"^(rewritten question|question)[^:]*:\s*", "", line, flags=re.IGNORECASE)
    line = line.strip().strip('"“”«» ').strip()
    return line if 3 <= len(line) <= 500 else fallback
