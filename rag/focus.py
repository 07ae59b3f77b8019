"""Sentence-focused context (`RAG_CONTEXT=sentences`): each passage shown to the model as its
sentence closest to the question and that sentence's neighbours, not the whole paragraph.

Fewer prompt tokens (each costs the CPU milliseconds before the first answer token), and the
answering words sit closer together. The sentence vectors are those stored at ingestion.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rag.schema import Passage
from rag.text import sentence_spans


def focus_texts(
    passages: Sequence[Passage],
    question_vector: Sequence[float],
    stored: dict[str, np.ndarray],
    window: int = 1,
    rest_window: int | None = None,
) -> list[str]:
    """Per passage: its best sentence with `window` sentences either side (`rest_window` for
    every passage after the first, when given), "…" where text was left out; the whole text
    when it is that short already or has no stored vectors."""
    q = np.asarray(question_vector, dtype=np.float32)
    texts: list[str] = []
    for rank, p in enumerate(passages):
        w = window if rank == 0 or rest_window is None else rest_window
        text = p.chunk.text
        spans = sentence_spans(text)
        vectors = stored.get(p.chunk.id)
        if vectors is None or len(vectors) != len(spans) or len(spans) <= 2 * w + 1:
            texts.append(text.strip())
            continue
        best = int(np.argmax(vectors.astype(np.float32) @ q))
        first, last = max(0, best - w), min(len(spans), best + w + 1)
        body = text[spans[first][0] : spans[last - 1][1]]
        texts.append(("… " if first > 0 else "") + body + (" …" if last < len(spans) else ""))
    return texts
