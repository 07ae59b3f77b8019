"""Retrieval: dense multilingual-e5 vectors from Chroma and BM25 over the same chunks, fused,
then re-scored by each candidate's best-matching sentence.

Dense search carries cross-lingual questions (English question, French article); BM25 catches
rare exact words (names, numbers) that small embedders blur; the sentence score finds the one
sentence that answers a question inside a long paragraph. Every choice here (weights, pool,
fusion, analysis) comes from the retrieval table in docs/EVALUATION.md.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

import numpy as np

from rag.embedding import Embedder
from rag.language import detect_language
from rag.passage_index import PassageIndex
from rag.schema import Chunk, Passage
from rag.store import ChunkStore
from rag.text import analyse


class BM25Index:
    """bm25s over a fixed list of chunks, rebuilt from scratch (it cannot add or remove):
    kept to compare with the FTS5 keyword index (`rag eval --keyword bm25s`)."""

    def __init__(self, chunks: Sequence[Chunk]) -> None:
        import bm25s

        # bm25s sets its logger to DEBUG on import and logs every index build
        logging.getLogger("bm25s").setLevel(logging.WARNING)

        self.chunks = list(chunks)
        corpus = [analyse(f"{c.title}\n{c.text}", c.language) for c in self.chunks]
        self._bm25 = bm25s.BM25()
        vocab: dict[str, int] = {}
        ids = [[vocab.setdefault(t, len(vocab)) for t in doc] for doc in corpus]
        self._vocab = vocab
        self._bm25.index(bm25s.tokenization.Tokenized(ids=ids, vocab=vocab), show_progress=False)

    def search(self, query: str, language: str, k: int) -> list[tuple[str, float]]:
        tokens = [t for t in analyse(query, language) if t in self._vocab]
        if not tokens or not self.chunks:
            return []
        scores = self._bm25.get_scores(tokens)
        top = sorted(range(len(scores)), key=lambda i: -scores[i])[:k]
        return [(self.chunks[i].id, float(scores[i])) for i in top if scores[i] > 0]


# Threads for the keyword half of concurrent queries (each query uses one at a time).
_SIDE = ThreadPoolExecutor(4, thread_name_prefix="keyword-search")


class KeywordSearch(Protocol):
    def search(self, query: str, language: str, k: int) -> list[tuple[str, float]]: ...


class HybridRetriever:
    """`mode`: "hybrid" (default), "dense" or "bm25" alone. `fusion`: "weighted" (min-max
    normalised scores, weights below, plus the best-sentence score) or "rrf" (reciprocal rank
    fusion with `rrf_k`, the former default, kept for comparison)."""

    # Weights of the normalised dense, best-sentence and BM25 scores (docs/EVALUATION.md).
    weights: tuple[float, float, float] = (0.25, 0.35, 0.4)

    def __init__(
        self,
        store: ChunkStore,
        embedder: Embedder,
        index: PassageIndex,
        mode: str = "hybrid",
        candidates: int = 30,
        rrf_k: int = 60,
        fusion: str = "weighted",
        sentences: bool = True,
        weights: tuple[float, float, float] | None = None,
        keywords: KeywordSearch | None = None,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.index = index
        self.keywords: KeywordSearch = keywords or index
        self.mode = mode
        self.candidates = candidates
        self.rrf_k = rrf_k
        self.fusion = fusion
        self.sentences = sentences
        if weights is not None:
            self.weights = weights
        # the last questions' vectors: the answer path reads a question's vector again after
        # retrieval (rag.focus), and embedding it twice costs ~15 ms
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._vectors_lock = threading.Lock()

    def query_vector(self, query: str) -> np.ndarray:
        with self._vectors_lock:
            if query in self._vectors:
                self._vectors.move_to_end(query)
                return self._vectors[query]
        vector = self.embedder.embed_queries([query])[0]
        with self._vectors_lock:
            self._vectors[query] = vector
            while len(self._vectors) > 64:
                self._vectors.popitem(last=False)
        return vector

    def retrieve(self, query: str, k: int) -> list[Passage]:
        language = detect_language(query)
        dense: list[Passage] = []
        sparse: list[Passage] = []
        vector: np.ndarray | None = None
        pool = max(k, self.candidates)

        def keyword_hits() -> list[Passage]:
            hits = self.keywords.search(query, language, pool)
            by_id = {c.id: c for c in self.store.get_chunks([cid for cid, _ in hits])}
            return [Passage(by_id[cid], score) for cid, score in hits if cid in by_id]

        # keyword search (SQLite) runs while the question is embedded and the vectors
        # searched: both release the GIL, and together they are most of a query's time
        keywords = _SIDE.submit(keyword_hits) if self.mode == "hybrid" else None
        if self.mode in ("hybrid", "dense"):
            vector = self.query_vector(query)
            dense = self.store.query(vector, pool)
        if keywords is not None:
            sparse = keywords.result()
        elif self.mode == "bm25":
            sparse = keyword_hits()
        # what an interrupted write or deletion left behind is never retrieved
        visible = {p.chunk.id for p in self.store.visible(dense + sparse)}
        dense = [p for p in dense if p.chunk.id in visible]
        sparse = [p for p in sparse if p.chunk.id in visible]
        if self.mode == "dense":
            return dense[:k]
        if self.mode == "bm25":
            return sparse[:k]
        if self.fusion == "rrf":
            return self._rrf(dense, sparse)[:k]
        return self._weighted(dense, sparse, vector)[:k]

    def _rrf(self, dense: list[Passage], sparse: list[Passage]) -> list[Passage]:
        fused: dict[str, Passage] = {}
        for name, ranked in (("dense", dense), ("bm25", sparse)):
            for rank, p in enumerate(ranked):
                entry = fused.setdefault(p.chunk.id, Passage(p.chunk, 0.0))
                entry.score += 1.0 / (self.rrf_k + rank + 1)
                entry.scores[name] = p.score
        return sorted(fused.values(), key=lambda p: -p.score)

    def _weighted(
        self, dense: list[Passage], sparse: list[Passage], vector: Sequence[float] | None
    ) -> list[Passage]:
        fused: dict[str, Passage] = {}
        for name, ranked in (("dense", dense), ("bm25", sparse)):
            for p in ranked:
                fused.setdefault(p.chunk.id, Passage(p.chunk, 0.0)).scores[name] = p.score
        if self.sentences and vector is not None and fused:
            # each candidate's best sentence: vectors computed at ingestion, read by id
            q = np.asarray(vector, dtype=np.float32)
            for cid, matrix in self.index.sentences(list(fused)).items():
                fused[cid].scores["sentence"] = float((matrix.astype(np.float32) @ q).max())
        w_dense, w_sentence, w_bm25 = self.weights
        if not self.sentences:  # without sentence scores, share their weight
            w_dense, w_sentence = w_dense + w_sentence, 0.0
        norm = {name: _minmax(fused.values(), name) for name in ("dense", "sentence", "bm25")}
        for p in fused.values():
            p.score = (
                w_dense * norm["dense"].get(p.chunk.id, 0.0)
                + w_sentence * norm["sentence"].get(p.chunk.id, 0.0)
                + w_bm25 * norm["bm25"].get(p.chunk.id, 0.0)
            )
        return sorted(fused.values(), key=lambda p: -p.score)


def keep_close_to_best(
    passages: Sequence[Passage], relative_score: float, minimum: int
) -> list[Passage]:
    """The ranked passages scoring at least `relative_score` times the best one, and never
    fewer than `minimum`: a 1.5B model answers better from fewer, relevant passages."""
    if not passages or relative_score <= 0:
        return list(passages)
    floor = relative_score * passages[0].score
    return [p for i, p in enumerate(passages) if i < minimum or p.score >= floor]


def _minmax(passages, name: str) -> dict[str, float]:
    """Scores of one retriever scaled to 0..1 over the candidates it scored (absent: 0)."""
    scored = {p.chunk.id: p.scores[name] for p in passages if name in p.scores}
    if not scored:
        return {}
    lo, hi = min(scored.values()), max(scored.values())
    return {cid: (s - lo) / (hi - lo) if hi > lo else 1.0 for cid, s in scored.items()}
