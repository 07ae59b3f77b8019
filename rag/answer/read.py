"""Read: the model reads the passages and drafts an answer, piece by piece.

The prompt (rag.prompting) shows each passage as its sentences closest to the question
(rag.focus), never a sentence that tells an assistant to drop its instructions
(rag.off_task). Every model call of an answer goes through here: the draft, the rewrite of a
follow-up, the translation of a draft written in the wrong language; each stops between two
pieces when the client goes away.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator, Sequence

import numpy as np
from llama_index.core.base.llms.types import ChatMessage
from llama_index.core.llms import LLM

from rag.focus import focus_texts
from rag.gate import CancelledError
from rag.grounding import insert_marker
from rag.llm import count_prompt_tokens, to_chat_messages
from rag.off_task import withhold_instructions
from rag.prompting import build_messages, translation_messages
from rag.schema import Passage
from rag.text import answer_claims, with_apostrophes_of

log = logging.getLogger(__name__)
_MARKERS = re.compile(r"\[\d+\]")


class Reader:
    def __init__(self, llm: LLM) -> None:
        self.llm = llm

    def prompt(
        self,
        question: str,
        language: str,
        passages: Sequence[Passage],
        vector: np.ndarray | None,
        dated: bool = False,
    ) -> list[ChatMessage]:
        """What the model reads: `question` (the standalone one) over `passages`, in rank
        order; `vector` is the question's, from retrieval; `dated`: the question asked about
        a time, so the model is asked to date what it reports."""
        shown = [withhold_instructions(t) for t in focus_texts(passages, vector)]
        question = with_apostrophes_of(question, "\n".join(shown))
        return to_chat_messages(build_messages(question, passages, language, shown, dated))

    def count_tokens(self, prompt: Sequence[ChatMessage]) -> int | None:
        return count_prompt_tokens(self.llm, prompt)

    def stream(self, prompt: Sequence[ChatMessage], cancel: threading.Event) -> Iterator[str]:
        """The draft's pieces as generated; leaving the loop stops llama.cpp mid-generation."""
        responses = self.llm.stream_chat(prompt)
        try:
            for response in responses:
                if cancel.is_set():
                    raise CancelledError("the client went away")
                yield response.delta or ""
        finally:
            responses.close()

    def generate(self, messages: list[dict], cancel: threading.Event | None = None) -> str:
        """A whole side generation (rewrite, translation)."""
        return "".join(self.stream(to_chat_messages(messages), cancel or threading.Event()))

    def translate(self, text: str, language: str, cancel: threading.Event | None) -> str:
        """An answer written in the wrong language, translated with its markers; the original
        when the translation lost or invented a marker and they cannot be put back."""
        translated = self.generate(translation_messages(text, language), cancel).strip()
        if translated and sorted(_MARKERS.findall(translated)) != sorted(_MARKERS.findall(text)):
            translated = _restore_markers(text, translated) or ""
            if not translated:
                log.info("translation changed the citation markers; keeping the original answer")
        return translated or text

    def warm_up(self) -> None:
        """Read the fixed prompt prefix (instructions and demonstration) once, so that the
        first question costs what every other one does."""
        self.llm.chat(to_chat_messages(build_messages("Warm-up?", [], "en")), max_tokens=1)


def _restore_markers(original: str, translated: str) -> str | None:
    """Put each claim's markers back on the same claim of a translation that lost or changed
    them; None when the two do not have the same number of claims."""
    source, target = answer_claims(original), answer_claims(translated)
    if len(source) != len(target):
        return None
    out, last = [], 0
    for (a, b), (c, d) in zip(source, target, strict=True):
        markers = " ".join(_MARKERS.findall(original[a:b]))
        version = translated[c:d]
        body = _MARKERS.sub("", version.rstrip()).rstrip()
        tail = version[len(version.rstrip()) :]
        if markers:
            body = insert_marker(body, (0, len(body)), markers)
        out.append(translated[last:c] + body + tail)
        last = d
    return "".join(out) + translated[last:]
