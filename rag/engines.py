"""The engines that hold the passages."""

from __future__ import annotations

from dataclasses import dataclass

from rag.embedding import Embedder
from rag.passage_index import PassageIndex
from rag.store import ChunkStore


@dataclass
class Engines:
    """What holds the passages: the embedder, the vector store (Chroma: vectors, passage
    text and metadata, whole documents) and the passage index (SQLite: keywords, sentence
    vectors). One set per process, shared by answering and ingestion."""

    embedder: Embedder
    store: ChunkStore
    index: PassageIndex
