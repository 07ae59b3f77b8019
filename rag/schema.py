"""Plain data passed between components."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Chunk:
    """A passage of a source text; `text == source_text[start:end]` always holds."""

    id: str
    doc_id: str
    text: str
    start: int
    end: int
    title: str
    keywords: tuple[str, ...] = ()
    source: str = ""
    language: str = "fr"
    index: int = 0
    doc_hash: str = ""  # content hash of the document version this chunk was cut from

    def metadata(self) -> dict[str, str | int]:
        return {
            "doc_id": self.doc_id,
            "doc_hash": self.doc_hash,
            "start": self.start,
            "end": self.end,
            "title": self.title,
            "keywords": ", ".join(self.keywords),
            "source": self.source,
            "language": self.language,
            "index": self.index,
        }

    @classmethod
    def from_record(cls, chunk_id: str, text: str, meta: dict) -> Chunk:
        keywords = tuple(k.strip() for k in str(meta.get("keywords", "")).split(",") if k.strip())
        return cls(
            id=chunk_id,
            doc_id=str(meta["doc_id"]),
            text=text,
            start=int(meta["start"]),
            end=int(meta["end"]),
            title=str(meta.get("title", "")),
            keywords=keywords,
            source=str(meta.get("source", "")),
            language=str(meta.get("language", "fr")),
            index=int(meta.get("index", 0)),
            doc_hash=str(meta.get("doc_hash", "")),
        )


@dataclass(frozen=True)
class Document:
    """A whole article: what a reader makes of a file or a request (state "new"), what the
    store keeps (so a citation can be shown inside its context), what a job carries."""

    doc_id: str
    title: str
    text: str  # the whole stored text; passages' offsets point into it
    keywords: tuple[str, ...] = ()
    source: str = ""  # a file's absolute path, `upload:NAME` or `api:ID`
    language: str = "fr"
    content_hash: str = ""
    n_chunks: int = 0
    state: str = "ready"  # "writing" or "deleting" while a change is under way
    body_start: int = 0  # where the paragraphs begin in `text` (after title and keywords)
    added_at: float = 0.0  # unix time of the last change


@dataclass
class Passage:
    """A retrieved chunk with its retrieval score (higher is better) and, once retrieval has
    read them, the vectors of its sentences (one row per `rag.text.sentence_spans` sentence,
    computed at ingestion): focusing, verifying and highlighting read them from here."""

    chunk: Chunk
    score: float
    scores: dict[str, float] = field(default_factory=dict)
    sentences: np.ndarray | None = field(default=None, repr=False)
