"""Retrieval: dense multilingual-e5 vectors from Chroma, BM25 over the same chunks, fused by RRF.

Dense search carries cross-lingual questions (English question, French article); BM25 catches
rare exact words (names, numbers) that small embedders blur.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
import unicodedata
from collections.abc import Sequence
from functools import lru_cache

from rag.embedding import Embedder
from rag.language import detect_language
from rag.schema import Chunk, Passage
from rag.store import ChunkStore

logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs every index build at DEBUG
_TOKEN = re.compile(r"\w+", re.UNICODE)
_STOP = {
    "fr": set(
        "ai as au aura auront aux avaient avait avec avez avons c ce celle celui ces cet cette "
        "ceux combien comment d dans de des dont du elle en es est et eu eux fus fut il ils j "
        "je l la laquelle le lequel les leur lui m ma mais me mes moi mon même n ne nos notre "
        "nous on ont ou où par pas pour pourquoi qu quand que quel quelle quelles quels qui s "
        "sa se sera serai serait seront ses sommes son sont suis sur t ta te tes toi ton tu un "
        "une vos votre vous y à étaient étais était étant été étée étées étés êtes ".split()
    ),
    "en": set(
        "a an and are as at be been being but by can could did do does for from had has have "
        "he her his how i if in is it its many may me might much must my no not of on or our "
        "shall she should than that the their them then there these they this those to was we "
        "were what when where which who whom whose why will with would you your ".split()
    ),
}


def fold(text: str) -> str:
    """Lowercase and strip accents, so 'Éléments' and 'elements' meet."""
    text = unicodedata.normalize("NFKD", text.lower().replace("’", "'"))
    return "".join(c for c in text if not unicodedata.combining(c))


_STOP = {lang: {fold(w) for w in words} for lang, words in _STOP.items()}


@lru_cache(maxsize=4)
def _stemmer(language: str):
    import Stemmer  # PyStemmer, installed with bm25s

    return Stemmer.Stemmer({"fr": "french", "en": "english"}[language])


def analyse(text: str, language: str) -> list[str]:
    stop = _STOP["en"] | _STOP.get(language, set())
    words = [w for w in _TOKEN.findall(fold(text)) if (w not in stop and len(w) > 1) or w.isdigit()]
    return _stemmer(language).stemWords(words)


class BM25Index:
    def __init__(self, chunks: Sequence[Chunk]) -> None:
        import bm25s

        self.chunks = list(chunks)
        corpus = [analyse(f"{c.title}\n{c.text}", c.language) for c in self.chunks]
        self._bm25 = bm25s.BM25()
        vocab: dict[str, int] = {}
        ids = [[vocab.setdefault(t, len(vocab)) for t in doc] for doc in corpus]
        self._vocab = vocab
        self._bm25.index(bm25s.tokenization.Tokenized(ids=ids, vocab=vocab), show_progress=False)

    def search(self, query: str, language: str, k: int) -> list[Passage]:
        tokens = [t for t in analyse(query, language) if t in self._vocab]
        if not tokens or not self.chunks:
            return []
        scores = self._bm25.get_scores(tokens)
        top = sorted(range(len(scores)), key=lambda i: -scores[i])[:k]
        return [Passage(self.chunks[i], float(scores[i])) for i in top if scores[i] > 0]


class HybridRetriever:
    def __init__(
        self,
        store: ChunkStore,
        embedder: Embedder,
        mode: str = "hybrid",
        candidates: int = 30,
        rrf_k: int = 60,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.mode = mode
        self.candidates = candidates
        self.rrf_k = rrf_k
        self._bm25: BM25Index | None = None
        self._bm25_key = ""
        self._checked_at = 0.0
        self._lock = threading.Lock()

    def _bm25_index(self) -> BM25Index:
        # The store can change under us (`rag ingest` in another process): rebuild on change.
        with self._lock:
            now = time.monotonic()
            if self._bm25 is None or now - self._checked_at > 2.0:
                self._checked_at = now
                ids = self.store.all_ids()
                key = hashlib.sha1("\n".join(sorted(ids)).encode()).hexdigest()
                if key != self._bm25_key or self._bm25 is None:
                    self._bm25 = BM25Index(self.store.all_chunks())
                    self._bm25_key = key
            return self._bm25

    def retrieve(self, query: str, k: int) -> list[Passage]:
        language = detect_language(query)
        dense: list[Passage] = []
        sparse: list[Passage] = []
        pool = max(k, self.candidates)
        if self.mode in ("hybrid", "dense"):
            vector = self.embedder.embed_queries([query])[0]
            dense = self.store.query(vector, pool)
        if self.mode in ("hybrid", "bm25"):
            sparse = self._bm25_index().search(query, language, pool)
        if self.mode == "dense":
            return dense[:k]
        if self.mode == "bm25":
            return sparse[:k]
        return self._fuse(dense, sparse)[:k]

    def _fuse(self, dense: list[Passage], sparse: list[Passage]) -> list[Passage]:
        fused: dict[str, Passage] = {}
        for name, ranked in (("dense", dense), ("bm25", sparse)):
            for rank, p in enumerate(ranked):
                entry = fused.setdefault(p.chunk.id, Passage(p.chunk, 0.0))
                entry.score += 1.0 / (self.rrf_k + rank + 1)
                entry.scores[name] = p.score
        return sorted(fused.values(), key=lambda p: -p.score)
