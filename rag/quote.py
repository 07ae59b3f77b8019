"""What a quote-first draft shows: the answer after "Answer:", never the quote before it.

With `RAG_PROMPT_STYLE=quote` the model first copies the sentence that answers, then answers
(rag.prompting.SYSTEM_QUOTE). The quote steers the model; the reader gets the answer, checked
like any other (rag.verify), with the sentence highlighted from the sources themselves.
"""

from __future__ import annotations

import re

from rag.prompting import QUOTE_LABEL

_OPENINGS = (QUOTE_LABEL.lower(), "citation")
_ANSWER = re.compile(r"(?:^|\n)[ \t*]*(?:answer|réponse|reponse)[ \t*]*:[ \t*]*", re.IGNORECASE)
_QUOTE_LINE = re.compile(r"^\s*(?:quote|citation)\s*(\[\d+\])?\s*:?\s*(.*)$", re.IGNORECASE)


class QuoteFilter:
    """Feed it the model's pieces; it returns what the reader may see. A draft that does not
    open with a quote (a no-answer reply, a model that skipped it) passes through whole."""

    def __init__(self) -> None:
        self.buffer = ""
        self.quote = ""
        self._mode = "undecided"  # then "quoting" or "passing"
        self._lead = True  # strip the blanks that follow "Answer:"

    def feed(self, piece: str) -> str:
        if self._mode == "passing":
            return self._out(piece)
        self.buffer += piece
        if self._mode == "undecided":
            head = self.buffer.lstrip().lower()
            if any(o.startswith(head) for o in _OPENINGS):
                return ""  # too short to tell yet
            if not any(head.startswith(o) for o in _OPENINGS):
                self._mode = "passing"
                return self._out(self.buffer)
            self._mode = "quoting"
        m = _ANSWER.search(self.buffer)
        if m is None:
            return ""
        self.quote = self.buffer[: m.start()].strip()
        self._mode = "passing"
        return self._out(self.buffer[m.end() :])

    def flush(self) -> str:
        """At the end: a quote never followed by an answer becomes the answer, cited."""
        if self._mode == "passing":
            return ""
        self._mode = "passing"
        text = self.buffer.strip()
        self.quote = text
        m = _QUOTE_LINE.match(text.split("\n", 1)[0]) if text else None
        if m is None or not m.group(2).strip():
            return self._out(text)
        sentence, marker = m.group(2).strip(), m.group(1) or ""
        return self._out(f"{sentence} {marker}".strip() if marker else sentence)

    def _out(self, text: str) -> str:
        if self._lead:
            text = text.lstrip()
            self._lead = not text
        return text
