"""Sentence-level support: which sentences of a cited passage back the claims that cite it.

A passage is often a whole paragraph (600+ characters); the reader wants the one sentence that
says what the claim says. Each claim is compared with each sentence of the passage it cites:
multilingual-e5 similarity against the sentence vectors stored at ingestion (works across
languages), plus the share of the claim's own words the sentence holds (same language).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from rag.embedding import Embedder
from rag.schema import Passage
from rag.text import analyse, answer_claims, sentence_spans

_MARKER = re.compile(r"\[(\d+)\]")
LEXICAL_WEIGHT = 0.5


def sentence_highlights(
    answer: str, cited: Sequence[Passage], embedder: Embedder, language: str
) -> list[list[tuple[int, int]]]:
    """For each cited passage (client numbering: `cited[0]` is [1]), the (start, end) offsets
    in its source text of the sentences that best support the claims citing it."""
    claims: list[tuple[str, list[int]]] = []
    for a, b in answer_claims(answer):
        text = answer[a:b]
        numbers = [int(k) for k in _MARKER.findall(text) if 1 <= int(k) <= len(cited)]
        if numbers:
            claims.append((_MARKER.sub("", text).strip(), numbers))
    if not claims:
        return [[] for _ in cited]
    claim_vectors = np.asarray(embedder.embed_queries([c for c, _ in claims]), dtype=np.float32)
    out: list[list[tuple[int, int]]] = []
    for k, passage in enumerate(cited, 1):
        chunk = passage.chunk
        spans = sentence_spans(chunk.text)
        vectors = passage.sentences
        if vectors is None or len(vectors) != len(spans):  # stored before sentences were
            vectors = np.asarray(
                embedder.embed_passages([f"{chunk.title}\n{chunk.text[a:b]}" for a, b in spans]),
                dtype=np.float32,
            )
        vectors = vectors.astype(np.float32)
        same_language = chunk.language == language
        words = [set(analyse(chunk.text[a:b], chunk.language)) for a, b in spans]
        chosen: set[int] = set()
        for (claim, numbers), vector in zip(claims, claim_vectors, strict=True):
            if k not in numbers:
                continue
            scores = vectors @ vector
            if same_language:
                mine = set(analyse(claim, language))
                if mine:
                    scores = scores + LEXICAL_WEIGHT * np.asarray(
                        [len(mine & w) / len(mine) for w in words], dtype=np.float32
                    )
            chosen.add(int(np.argmax(scores)))
        out.append([(chunk.start + spans[i][0], chunk.start + spans[i][1]) for i in sorted(chosen)])
    return out
