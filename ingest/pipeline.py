"""Ingestion: read -> chunk -> embed only new passages -> write to the store.

Idempotent by construction: chunk ids hash their content, so an unchanged file writes nothing,
and a changed file adds its new passages before removing the stale ones (a crash in between
leaves extra passages, never missing ones; the next run cleans up).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from ingest.chunking import Chunker, whitespace_tokenize
from ingest.readers import Article, ReadError, find_files, read_article
from rag.embedding import Embedder
from rag.schema import Chunk, Document
from rag.settings import Settings
from rag.store import ChunkStore

log = logging.getLogger(__name__)


@dataclass
class IngestReport:
    files: int = 0
    unchanged: int = 0
    added: int = 0
    removed: int = 0
    moved: int = 0
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{self.files} file(s): {self.unchanged} unchanged, {self.added} passage(s) added, "
            f"{self.removed} removed, {self.moved} re-located, {len(self.errors)} error(s)"
        )


def embed_text(chunk: Chunk) -> str:
    # The title gives a paragraph the context of its article.
    return f"{chunk.title}\n{chunk.text}"


def make_chunker(settings: Settings, embedder: Embedder) -> Chunker:
    tokenize = whitespace_tokenize
    if settings.embedder == "sentence-transformers":
        from tokenizers import Tokenizer

        # The embedder's own tokenizer, so chunk sizes are counted in the tokens it sees.
        tok = Tokenizer.from_file(str(settings.embed_model_path / "tokenizer.json"))
        tok.no_truncation()
        tokenize = lambda text: tok.encode(text, add_special_tokens=False).ids  # noqa: E731
    return Chunker(settings.chunk_size, settings.chunk_overlap, tokenize)


class Ingestor:
    def __init__(self, store: ChunkStore, embedder: Embedder, chunker: Chunker) -> None:
        self.store = store
        self.embedder = embedder
        self.chunker = chunker

    def ingest_paths(self, paths: Sequence[Path], progress: bool = True) -> IngestReport:
        report = IngestReport()
        try:
            files = find_files(list(paths))
        except ReadError as err:
            report.errors.append(str(err))
            return report
        articles: list[Article] = []
        for f in files:
            try:
                articles.append(read_article(f))
            except ReadError as err:
                report.errors.append(str(err))
        report.files = len(files)
        self.ingest_articles(articles, report, progress)
        return report

    def ingest_articles(
        self,
        articles: Sequence[Article],
        report: IngestReport | None = None,
        progress: bool = True,
    ) -> IngestReport:
        report = report or IngestReport(files=len(articles))
        plans = []
        for article in articles:
            chunks = self.chunker.chunk(article)
            existing = self.store.chunk_ids(article.doc_id)
            stored = self.store.get_document(article.doc_id)
            if (
                stored is not None
                and stored.content_hash == article.content_hash
                and existing == {c.id for c in chunks}
            ):
                report.unchanged += 1
                continue
            plans.append((article, chunks, existing))
        todo = sum(len([c for c in ch if c.id not in ex]) for _, ch, ex in plans)
        bar = tqdm(
            total=todo,
            desc="Embedding passages",
            unit="passage",
            disable=not progress or todo == 0,
            file=sys.stderr,
        )
        with bar:
            for article, chunks, existing in plans:
                new = [c for c in chunks if c.id not in existing]
                kept = [c for c in chunks if c.id in existing]
                vectors = self.embedder.embed_passages([embed_text(c) for c in new], bar.update)
                self.store.add(new, vectors)
                if kept:
                    self.store.update_metadata(kept)  # offsets may have moved
                stale = existing - {c.id for c in chunks}
                self.store.delete(stale)
                self.store.put_document(
                    Document(
                        doc_id=article.doc_id,
                        title=article.title,
                        text=article.text,
                        keywords=article.keywords,
                        source=article.source,
                        language=article.language,
                        content_hash=article.content_hash,
                        n_chunks=len(chunks),
                    )
                )
                report.added += len(new)
                report.removed += len(stale)
                report.moved += len(kept)
                log.info("ingested %s: %d new, %d stale", article.doc_id, len(new), len(stale))
        return report
