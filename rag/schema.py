"""Plain data passed between components."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# Authors are one metadata string in Chroma (it keeps no lists): names joined by this.
AUTHORS_SEPARATOR = "; "


def split_authors(value: object) -> tuple[str, ...]:
    return tuple(a.strip() for a in str(value or "").split(";") if a.strip())


def published_day(published: str) -> int:
    """YYYYMMDD of an ISO 8601 date or date-time as written (its own zone's day), 0 if none."""
    digits = published[:10].replace("-", "")
    return int(digits) if len(digits) == 8 and digits.isdigit() else 0


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
    # the article's metadata (rag.schema.Document), for retrieval filters and citations
    published: str = ""
    outlet: str = ""
    url: str = ""
    authors: tuple[str, ...] = ()

    def metadata(self) -> dict[str, str | int | None]:
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
            "published": self.published,
            "outlet": self.outlet,
            "url": self.url,
            "authors": AUTHORS_SEPARATOR.join(self.authors),
            # Chroma filters compare numbers: YYYYMMDD of the article's own date, only when
            # known (None removes a value an earlier version of the article had)
            "published_day": published_day(self.published) or None,
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
            published=str(meta.get("published", "")),
            outlet=str(meta.get("outlet", "")),
            url=str(meta.get("url", "")),
            authors=split_authors(meta.get("authors", "")),
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
    # ISO 8601: "2020-02-14" when only the day is known, "2020-02-14T09:30:00+01:00" with the
    # time (and the zone when the source gives one); "" when unknown
    published: str = ""
    outlet: str = ""  # who published it (site name, feed title, export's source)
    authors: tuple[str, ...] = ()
    url: str = ""  # the original article's address
    feed: str = ""  # the address of the feed it came from

    def metadata(self) -> dict[str, str | tuple[str, ...]]:
        """What is shown of the article beside its text (and covered by its content hash)."""
        return {
            "published": self.published,
            "outlet": self.outlet,
            "authors": self.authors,
            "url": self.url,
            "feed": self.feed,
        }


@dataclass
class Passage:
    """A retrieved chunk with its retrieval score (higher is better) and, once retrieval has
    read them, the vectors of its sentences (one row per `rag.text.sentence_spans` sentence,
    computed at ingestion): focusing, verifying and highlighting read them from here."""

    chunk: Chunk
    score: float
    scores: dict[str, float] = field(default_factory=dict)
    sentences: np.ndarray | None = field(default=None, repr=False)
