"""The engines that hold the passages."""

from __future__ import annotations

from dataclasses import dataclass

from rag.embedding import Embedder
from rag.passage_index import PassageIndex
from rag.store import ChunkStore
from rag.stories import StoryIndex


@dataclass
class Engines:
    """What holds the passages: the embedder, the vector store (Chroma: vectors, passage
    text and metadata, whole documents), the passage index (SQLite: keywords, sentence
    vectors) and the story index (SQLite: which articles are reprints of one story). One set
    per process, shared by answering and ingestion."""

    embedder: Embedder
    store: ChunkStore
    index: PassageIndex
    stories: StoryIndex | None = None  # reprints grouped into stories (SQLite, beside the index)
