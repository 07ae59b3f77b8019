"""Retrieve: dense multilingual-e5 vectors from Chroma and keywords from SQLite FTS5 over the
same passages, fused by weighted scores, then re-scored by each candidate's best sentence.

Dense search carries cross-lingual questions (English question, French article); keywords catch
rare exact words (names, numbers) that small embedders blur; the sentence score finds the one
sentence that answers a question inside a long paragraph. The result carries what later stages
read again: the question's vector, and each passage's sentence vectors (read once, here).
Every choice (weights, pool, analysis) comes from the retrieval table in docs/EVALUATION.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np

from rag.answer.when import Window
from rag.embedding import Embedder
from rag.filters import Filters
from rag.language import detect_language
from rag.passage_index import PassageIndex
from rag.schema import Passage
from rag.store import ChunkStore
from rag.stories import StoryIndex
from rag.text import plain_words

# Passages each retriever proposes before fusion: 30 keeps the gold paragraph among the
# candidates of 0.95+ of PIAF questions for a few ms (docs/EVALUATION.md, retrieval).
CANDIDATES = 30
# Weights of the min-max normalised dense, best-sentence and keyword scores: the best of the
# grid on PIAF and XQuAD (docs/EVALUATION.md, "Retrieval"): R@5 0.926 against 0.907 for RRF.
WEIGHTS = (0.25, 0.35, 0.4)

# Threads for the keyword half of concurrent queries (each query uses one at a time).
_SIDE = ThreadPoolExecutor(4, thread_name_prefix="keyword-search")

Mode = Literal["hybrid", "dense", "bm25"]


class KeywordSearch(Protocol):
    def search(
        self, query: str, language: str, k: int, filters: Filters | None = None
    ) -> list[tuple[str, float]]: ...


@dataclass
class Retrieval:
    """What retrieval found for a question: its vector (None without dense search) and the
    passages, best first, each with its sentence vectors; the filters it searched with, and
    whether they came from the question's time (a window, the most recent first)."""

    query: str
    language: str
    vector: np.ndarray | None
    passages: list[Passage]
    filters: Filters | None = None
    window: Window | None = None  # the question's window, when it filtered the search
    recency: bool = False  # the most recent passages came first
    outlets_named: tuple[str, ...] = ()  # outlets the question named, which limited it

    @property
    def dated(self) -> bool:
        """The question's time shaped the search: the answer should say when."""
        return self.window is not None or self.recency


class HybridRetriever:
    """`mode` "dense" or "bm25" keeps one half alone and `sentences=False` leaves the sentence
    score out: the ablation rows of `rag eval --ablation`."""

    def __init__(
        self,
        store: ChunkStore,
        embedder: Embedder,
        index: PassageIndex,
        mode: Mode = "hybrid",
        candidates: int = CANDIDATES,
        sentences: bool = True,
        weights: tuple[float, float, float] = WEIGHTS,
        keywords: KeywordSearch | None = None,
        stories: StoryIndex | None = None,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.index = index
        self.keywords: KeywordSearch = keywords or index
        self.mode = mode
        self.candidates = candidates
        self.sentences = sentences
        self.weights = weights
        self.stories = stories  # one passage per story (reprints folded) when given

    def retrieve(self, query: str, k: int, filters: Filters | None = None) -> list[Passage]:
        return self.search(query, k, filters=filters).passages

    def search(
        self,
        query: str,
        k: int,
        language: str | None = None,
        filters: Filters | None = None,
        fold: bool = True,
    ) -> Retrieval:
        """The k best passages for `query`, among those that meet `filters` (each search
        applies them itself); `fold`: each story read from one article (reprints folded)."""
        language = language or detect_language(query)
        where = filters.where() if filters else None
        vector: np.ndarray | None = None
        dense: list[Passage] = []
        sparse: list[Passage] = []
        pool = max(k, self.candidates)

        def keyword_hits() -> list[Passage]:
            hits = self.keywords.search(query, language, pool, filters)
            by_id = {c.id: c for c in self.store.get_chunks([cid for cid, _ in hits])}
            return [Passage(by_id[cid], score) for cid, score in hits if cid in by_id]

        # keyword search (SQLite) runs while the question is embedded and the vectors
        # searched: both release the GIL, and together they are most of a query's time
        keywords = _SIDE.submit(keyword_hits) if self.mode == "hybrid" else None
        if self.mode in ("hybrid", "dense"):
            vector = self.embedder.embed_queries([query])[0]
            # the passages that meet the filters, from the passage index: Chroma searches a
            # list of ids in a few ms, but reads every passage's metadata for a `where`
            among = self.index.meeting(filters) if filters else None
            dense = self.store.query(vector, pool, where, among)
        if keywords is not None:
            sparse = keywords.result()
        elif self.mode == "bm25":
            sparse = keyword_hits()
        # what an interrupted write or deletion left behind is never retrieved
        visible = {p.chunk.id for p in self.store.visible(dense + sparse)}
        dense = [p for p in dense if p.chunk.id in visible]
        sparse = [p for p in sparse if p.chunk.id in visible]
        if self.mode == "dense":
            return Retrieval(query, language, vector, dense[:k])  # ablations: ranks only
        if self.mode == "bm25":
            return Retrieval(query, language, vector, sparse[:k])
        fused = self._fuse(dense, sparse, vector)
        ranked = self._one_per_story(fused, k) if fold else fused[:k]
        if not self.sentences:  # the ablation without sentence scores still reads them
            self._read_sentences(ranked)
        return Retrieval(query, language, vector, ranked)

    def _fuse(
        self, dense: list[Passage], sparse: list[Passage], vector: np.ndarray | None
    ) -> list[Passage]:
        fused: dict[str, Passage] = {}
        for name, ranked in (("dense", dense), ("bm25", sparse)):
            for p in ranked:
                fused.setdefault(p.chunk.id, Passage(p.chunk, 0.0)).scores[name] = p.score
        if self.sentences and vector is not None and fused:
            # each candidate's best sentence: vectors computed at ingestion, read by id once
            self._read_sentences(list(fused.values()))
            q = np.asarray(vector, dtype=np.float32)
            for p in fused.values():
                if p.sentences is not None:
                    p.scores["sentence"] = float((p.sentences @ q).max())
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

    def _one_per_story(self, ranked: list[Passage], k: int) -> list[Passage]:
        """The first k passages of `ranked`, each story read from one article only: the same
        wire story reprinted by five outlets fills the places of one article, not five
        (rag.stories). Passages of one article are not reprints of each other."""
        if self.stories is None:
            return ranked[:k]
        story = self.stories.stories(list(dict.fromkeys(p.chunk.doc_id for p in ranked)))
        reader: dict[str, str] = {}  # story -> the article it is read from
        out: list[Passage] = []
        for p in ranked:
            doc = p.chunk.doc_id
            if reader.setdefault(story.get(doc, doc), doc) != doc:
                continue  # a reprint of a story already read from another article
            out.append(p)
            if len(out) == k:
                break
        return out

    def _read_sentences(self, passages: Sequence[Passage]) -> None:
        if not passages:
            return
        stored = self.index.sentences([p.chunk.id for p in passages])
        for p in passages:
            matrix = stored.get(p.chunk.id)
            if matrix is not None:
                p.sentences = matrix.astype(np.float32)


def keep_close_to_best(
    passages: Sequence[Passage], relative_score: float, minimum: int
) -> list[Passage]:
    """The ranked passages scoring at least `relative_score` times the best one, and never
    fewer than `minimum`: a 1.5B model answers better from fewer, relevant passages."""
    if not passages or relative_score <= 0:
        return list(passages)
    floor = relative_score * passages[0].score
    return [p for i, p in enumerate(passages) if i < minimum or p.score >= floor]


# A question about an entity ("Who is Benjamin Gallezot?") reads at most this many passages:
# the best one, then the others of the top ones that name the entity, in rank order (a
# passage that does not name it rarely says what it is). Each is read as its best sentence
# and one either side (rag.focus): ~80 prompt tokens.
ENTITY_PASSAGES = 3


def naming(entity: str, ranked: Sequence[Passage], read: Sequence[Passage]) -> list[Passage]:
    """For a question about `entity`: the best passage and the passages of `ranked` that name
    it (every word of it, stop words aside), ENTITY_PASSAGES at most, in rank order; `read`
    when none of them names it."""
    words = set(plain_words(entity))
    named = [
        p for p in ranked if words and words <= set(plain_words(f"{p.chunk.title}\n{p.chunk.text}"))
    ]
    if not named or not ranked:
        return list(read)
    chosen = {ranked[0].chunk.id}
    for p in named:
        if len(chosen) >= ENTITY_PASSAGES:
            break
        chosen.add(p.chunk.id)
    return [p for p in ranked if p.chunk.id in chosen]


# A "latest news" question reads, among the passages scoring at least this share of the
# best, the most recently published first.
RECENT_FLOOR = 0.5


def most_recent(passages: Sequence[Passage], k: int) -> list[Passage]:
    """Of passages best first, those close to the best, newest first (undated last)."""
    if not passages:
        return []
    floor = RECENT_FLOOR * passages[0].score
    close = [p for p in passages if p.score >= floor]
    close.sort(key=lambda p: p.chunk.published[:10] or "0000", reverse=True)
    return close[:k]


def _minmax(passages, name: str) -> dict[str, float]:
    """Scores of one retriever scaled to 0..1 over the candidates it scored (absent: 0)."""
    scored = {p.chunk.id: p.scores[name] for p in passages if name in p.scores}
    if not scored:
        return {}
    lo, hi = min(scored.values()), max(scored.values())
    return {cid: (s - lo) / (hi - lo) if hi > lo else 1.0 for cid, s in scored.items()}
