"""Ingestion: read -> chunk -> embed only new passages -> write vectors and keywords.

One code path for `rag ingest`, the HTTP API and the evaluation. Idempotent by construction:
chunk ids hash their content, so an unchanged document writes nothing, and a changed one
embeds only its new passages. Crash-safe by the store's rule (rag/store.py): a document's
record is marked `writing` before its passages change and `ready` after, so a process
killed at any moment leaves nothing retrievable that its record does not describe;
`recover` rolls such a record forward from the text it holds.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Literal

import numpy as np
from tqdm import tqdm

from ingest.chunking import Chunker, whitespace_tokenize
from ingest.locking import WriteLock
from ingest.readers import ReadError, find_files, read_file, slug
from rag.engines import Engines
from rag.schema import Chunk, Document
from rag.settings import IngestSettings, ModelSettings
from rag.store import DELETING, READY, WRITING
from rag.text import sentence_spans

log = logging.getLogger(__name__)

Status = Literal["added", "updated", "unchanged", "deleted", "error", "conflict"]
# Passages embedded in one call, across files: large enough to keep the model busy, small
# enough to bound memory and to commit documents as they are done.
EMBED_GROUP = 256


@dataclass
class Outcome:
    """What happened to one file or document."""

    name: str
    status: Status
    doc_id: str | None = None
    passages: int = 0
    embedded: int = 0
    detail: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class IngestReport:
    outcomes: list[Outcome] = field(default_factory=list)
    files: int = 0
    removed: int = 0  # stale passages deleted
    moved: int = 0  # kept passages whose offsets were rewritten

    def count(self, status: Status) -> int:
        return sum(o.status == status for o in self.outcomes)

    @property
    def unchanged(self) -> int:
        return self.count("unchanged")

    @property
    def added(self) -> int:
        """Passages embedded and stored."""
        return sum(o.embedded for o in self.outcomes)

    @property
    def errors(self) -> list[str]:
        return [o.detail for o in self.outcomes if o.status in ("error", "conflict")]

    def summary(self) -> str:
        parts = [f"{self.count(s)} {s}" for s in ("added", "updated", "unchanged", "deleted")]
        return (
            f"{self.files} file(s): {', '.join(parts)}; {self.added} passage(s) embedded, "
            f"{self.removed} removed, {self.moved} re-located, {len(self.errors)} error(s)"
        )


def embed_text(chunk: Chunk) -> str:
    # The title gives a paragraph the context of its article.
    return f"{chunk.title}\n{chunk.text}"


def make_chunker(ingest: IngestSettings, models: ModelSettings) -> Chunker:
    tokenize = whitespace_tokenize
    if models.embedder == "sentence-transformers":
        from tokenizers import Tokenizer

        # The embedder's own tokenizer, so chunk sizes are counted in the tokens it sees.
        tok = Tokenizer.from_file(str(models.embed_model_path / "tokenizer.json"))
        tok.no_truncation()
        tokenize = lambda text: tok.encode(text, add_special_tokens=False).ids  # noqa: E731
    return Chunker(ingest.chunk_size, ingest.chunk_overlap, tokenize)


@dataclass
class _Plan:
    article: Document
    chunks: list[Chunk]
    existing: dict[str, str]  # chunk id -> doc_hash, as stored
    status: Status
    note: str = ""  # what the reader lost (a date it could not read, only a summary)

    @property
    def new(self) -> list[Chunk]:
        return [c for c in self.chunks if c.id not in self.existing]


class Ingestor:
    """Writes documents into the vector store and the passage index (keywords, sentence
    vectors), one writer per process (`lock`). Each sentence is embedded on its own with its
    article's title: vectors pooled from the passage's own forward pass were cheaper but lost
    0.008 R@5 and 0.013 MRR on PIAF (docs/EVALUATION.md, sentence vectors)."""

    def __init__(self, engines: Engines, chunker: Chunker, lock: WriteLock | None = None) -> None:
        self.store = engines.store
        self.index = engines.index
        self.stories = engines.stories
        self.embedder = engines.embedder
        self.chunker = chunker
        self.lock = lock or WriteLock(None)
        # which passage index this ingestor writes: changes from another one must be followed
        self.origin = f"{socket.gethostname()}:{self.index.path.resolve()}#{self.index.name}"
        self.texts_embedded = 0  # passages and sentences sent to the model, since creation

    # --- files ----------------------------------------------------------------------------
    def ingest_paths(
        self,
        paths: Sequence[Path],
        progress: bool = True,
        sync: bool = False,
        fetch_page: Callable[[str], bytes | None] | None = None,
        mapping: dict[str, str] | None = None,
    ) -> IngestReport:
        """Files and folders, of every supported format (a feed or an export file gives
        several documents; `fetch_page` fetches the page of a feed entry without content;
        `mapping` names export fields, see ingest.readers.read_source). With `sync`,
        documents that came from a given folder and whose file is gone are deleted, so the
        store mirrors the folder."""
        report = IngestReport()
        try:
            # a file named twice (itself and through its folder) is read once
            files = list({f.resolve(): f for f in find_files(list(paths))}.values())
        except ReadError as err:
            report.outcomes.append(Outcome(str(err).split(":")[0], "error", detail=str(err)))
            return report
        report.files = len(files)
        single: dict[Path, Document] = {}  # a file, an article: its id follows the file
        several: list[Document] = []  # the entries of a feed, the objects of an export
        notes: dict[Path | str, str] = {}
        for f in files:
            result = read_file(f, fetch_page, mapping)
            report.outcomes += [Outcome(str(f), "error", detail=e) for e in result.errors]
            for document, warnings in zip(result.documents, result.warnings, strict=True):
                key: Path | str = f if result.single else document.doc_id
                if result.single:
                    single[f] = document
                else:
                    several.append(document)
                if warnings:
                    notes[key] = "; ".join(warnings)
        with self.lock:
            ids = self.file_ids(single)
            articles = [
                replace(a, doc_id=ids[f], source=str(f.resolve())) for f, a in single.items()
            ]
            by_id = {ids[f]: note for f, note in notes.items() if isinstance(f, Path)}
            by_id |= {k: note for k, note in notes.items() if isinstance(k, str)}
            self.ingest_articles([*articles, *several], report, progress=progress, notes=by_id)
            if sync:
                present = {str(f.resolve()) for f in files}
                for folder in (Path(p).resolve() for p in paths if Path(p).is_dir()):
                    self._mirror(folder, present, report)
        return report

    def file_ids(self, articles: dict[Path, Document]) -> dict[Path, str]:
        """Document ids for files: the id it already has when this file was ingested before
        (same absolute path); else its name's stem, or the stem and a hash of its path when
        another document already holds that stem (two `a.txt` in two folders)."""
        sources = {f: str(f.resolve()) for f in articles}
        known: dict[str, str] = {}
        unique = list(dict.fromkeys(sources.values()))
        for i in range(0, len(unique), 200):
            where = {"source": {"$in": unique[i : i + 200]}}
            known |= {d.source: d.doc_id for d in self.store.documents_where(where)}
        stems = {f: slug(f.stem) for f in articles}
        holders = self.store.get_documents(list(dict.fromkeys(stems.values())))
        taken = set(known.values())
        out: dict[Path, str] = {}
        for f, article in articles.items():
            src = sources[f]
            stem, holder = stems[f], holders.get(stems[f])
            if src in known:
                out[f] = known[src]
            elif stem not in taken and (holder is None or _same_file(holder, f, article)):
                out[f] = stem
            else:
                out[f] = f"{stem}-{hashlib.sha1(src.encode()).hexdigest()[:8]}"
            taken.add(out[f])
        return out

    def _mirror(self, folder: Path, present: set[str], report: IngestReport) -> None:
        prefix = str(folder) + os.sep
        for doc in self.store.documents():
            if doc.source.startswith(prefix) and doc.source not in present:
                removed = self.delete(doc.doc_id)
                report.outcomes.append(Outcome(doc.source, "deleted", doc.doc_id, removed))

    # --- documents ------------------------------------------------------------------------
    def ingest_articles(
        self,
        articles: Sequence[Document],
        report: IngestReport | None = None,
        progress: bool = True,
        replace: bool = True,
        on_progress: Callable[[int, int], None] | None = None,
        notes: Mapping[str, str] | None = None,
    ) -> IngestReport:
        """Add or update documents. With `replace=False`, a document whose id already holds
        different content is refused (`conflict`) instead of replaced. `notes`: what a
        reader lost of a document (doc_id -> text), reported in its outcome's detail."""
        report = report or IngestReport(files=len(articles))
        with self.lock:
            plans = self._plan(articles, report, replace, notes or {})
            todo = sum(len(p.new) for p in plans)
            done = 0
            bar = tqdm(
                total=todo,
                desc="Embedding passages",
                unit="passage",
                disable=not progress or todo == 0,
                file=sys.stderr,
            )
            # A group is written while the next one is embedded (one writer, one group
            # ahead at most): the model rarely waits for Chroma and SQLite.
            pending: tuple[Future[list[Outcome]], int] | None = None

            def settle() -> None:
                nonlocal done, pending
                if pending is not None:
                    future, n = pending
                    pending = None
                    report.outcomes.extend(future.result())
                    done += n
                    if on_progress:
                        on_progress(done, todo)

            # leaving the executor waits for a write under way, an error or not
            with bar, ThreadPoolExecutor(1, thread_name_prefix="ingest-writer") as writer:
                group: list[_Plan] = []
                for i, plan in enumerate(plans):
                    group.append(plan)
                    last = i == len(plans) - 1
                    if last or sum(len(p.new) for p in group) >= EMBED_GROUP:
                        new = [c for p in group for c in p.new]
                        vectors, sentences = self.embed(new, bar.update)
                        settle()
                        future = writer.submit(self._commit, group, vectors, sentences, report)
                        pending, group = (future, len(new)), []
                settle()
        return report

    def _plan(
        self,
        articles: Sequence[Document],
        report: IngestReport,
        replace: bool,
        notes: Mapping[str, str],
    ) -> list[_Plan]:
        ids = list(dict.fromkeys(a.doc_id for a in articles))
        records = self.store.get_documents(ids)
        stored_chunks = self.store.chunk_hashes(ids)
        plans: list[_Plan] = []
        seen: set[str] = set()
        for a in articles:
            if a.doc_id in seen:
                detail = f"{_name(a)}: document id {a.doc_id!r} given twice in one request"
                report.outcomes.append(Outcome(_name(a), "error", a.doc_id, detail=detail))
                continue
            seen.add(a.doc_id)
            record = records.get(a.doc_id)
            chunks = [_versioned(c, a.content_hash) for c in self.chunker.chunk(a)]
            existing = stored_chunks.get(a.doc_id, {})
            if record is not None and record.content_hash != a.content_hash and not replace:
                detail = (
                    f"{_name(a)}: another article is already stored as {a.doc_id!r}; replace "
                    f"it (PUT /v1/documents/{a.doc_id}) or give this one another name"
                )
                report.outcomes.append(Outcome(_name(a), "conflict", a.doc_id, detail=detail))
                continue
            if (
                record is not None
                and record.state == READY
                and record.content_hash == a.content_hash
                and existing == {c.id: a.content_hash for c in chunks}
            ):
                if a.source != record.source and Path(a.source).is_absolute():
                    # the same text, now from this file: later runs find it by its path
                    self.store.set_source(a.doc_id, a.source)
                note = notes.get(a.doc_id, "")
                report.outcomes.append(
                    Outcome(_name(a), "unchanged", a.doc_id, len(chunks), detail=note)
                )
                continue
            status: Status = "added" if record is None else "updated"
            plans.append(_Plan(a, chunks, existing, status, notes.get(a.doc_id, "")))
        return plans

    def embed(
        self, chunks: Sequence[Chunk], progress: Callable[[int], None] | None = None
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Each chunk's vector and its sentences' vectors (every text embedded is counted by
        `progress`, in chunks)."""
        texts = [embed_text(c) for c in chunks]
        spans = [sentence_spans(c.text) for c in chunks]
        # one call for passages and sentences: the model sorts them all by length together;
        # a one-sentence passage's sentence text is its own text, embedded once
        every = list(texts)  # passages first, then the sentences not already among them
        position: dict[str, int] = {}
        for i, text in enumerate(texts):
            position.setdefault(text, i)
        rows: list[list[int]] = []
        for c, sp in zip(chunks, spans, strict=True):
            rows.append([])
            for a, b in sp:
                text = f"{c.title}\n{c.text[a:b]}" if c.title else c.text[a:b]
                if text not in position:
                    position[text] = len(every)
                    every.append(text)
                rows[-1].append(position[text])
        vectors = np.asarray(self.embedder.embed_passages(every), dtype=np.float32)
        self.texts_embedded += len(every)
        if progress:
            progress(len(chunks))
        return vectors[: len(chunks)], [vectors[r] for r in rows]

    def _commit(
        self,
        plans: Sequence[_Plan],
        vectors: np.ndarray,
        sentences: list[np.ndarray],
        report: IngestReport,
    ) -> list[Outcome]:
        """Write documents (their new passages embedded in `plans` order): records marked
        `writing`, passages and index rows written, stale passages out, records `ready`.
        Each step is one round trip for all of them, and idempotent: a re-run after a crash
        completes it."""
        now = time.time()
        docs = [replace(p.article, n_chunks=len(p.chunks), added_at=now) for p in plans]
        new = [c for p in plans for c in p.new]
        kept = [c for p in plans for c in p.chunks if c.id in p.existing]
        stale = {cid for p in plans for cid in set(p.existing) - {c.id for c in p.chunks}}
        self.store.put_documents(docs, state=WRITING)
        self.store.add(new, vectors)
        if kept:
            self.store.update_metadata(kept)  # offsets and version may have moved
        # a changed title changes every passage's keywords; kept passages keep their sentences
        self.index.put([*new, *kept], [*sentences, *[None] * len(kept)])
        if stale:
            self.index.delete(stale)
            self.store.delete(stale)
        ids = [d.doc_id for d in docs]
        self.store.set_states(ids, READY)
        self.store.log_changes(ids, "put", self.origin)
        if self.stories is not None:  # a reprint joins its story (rag.stories)
            for d in docs:
                self.stories.add(d.doc_id, d.text[d.body_start :])
        report.removed += len(stale)
        report.moved += len(kept)
        log.info("ingested %d document(s): %d new, %d stale", len(ids), len(new), len(stale))
        return [
            Outcome(_name(p.article), p.status, p.article.doc_id, len(p.chunks), len(p.new), p.note)
            for p in plans
        ]

    def delete(self, doc_id: str, wait: float | None = None) -> int:
        """Delete a document and its passages; returns how many passages went (-1: no such
        document). The record is marked first, so its passages vanish from retrieval at once.
        `wait`: seconds to wait for another ingestion (WriteLockTimeoutError after)."""
        self.lock.acquire(wait)
        try:
            if self.store.get_document(doc_id, include_text=False) is None:
                return -1
            self.store.set_state(doc_id, DELETING)
            ids = self.store.chunk_ids(doc_id)
            self.index.delete(ids)
            self.store.delete(ids)
            self.store.remove_document(doc_id)
            self.store.log_change(doc_id, "delete", self.origin)
            if self.stories is not None:
                self.stories.remove(doc_id)
            log.info("deleted %s: %d passages", doc_id, len(ids))
            return len(ids)
        finally:
            self.lock.release()

    # --- recovery -------------------------------------------------------------------------
    def recover(self, progress: bool = False) -> IngestReport:
        """Finish what an interrupted process left: deletions are completed, writes rolled
        forward from the text their record holds; then the keyword index is reconciled with
        the vector store by id."""
        report = IngestReport()
        with self.lock:
            pending = self.store.documents_where({"state": {"$ne": READY}})
            for doc in pending:
                if doc.state == DELETING:
                    removed = self.delete(doc.doc_id)
                    report.outcomes.append(Outcome(doc.source, "deleted", doc.doc_id, removed))
                    continue
                full = self.store.get_document(doc.doc_id)
                if full is None:
                    continue
                self.ingest_articles([full], report, progress=progress)
            if pending:
                log.warning("recovered %d interrupted document change(s)", len(pending))
            self.reconcile_index()
        return report

    def embed_again(self, progress: bool = True) -> int:
        """Embed every stored passage and its sentences again, in the embedder's text form
        (rag.text.TEXT_FORM), when the store was embedded in another: vectors of two forms are
        never compared. Ids, text and keywords stay; an interrupted run starts over (the
        store records the new form only at the end). Returns the passages embedded."""
        store = self.store
        if store.text_form == self.embedder.text_form:
            return 0
        with self.lock:
            ids = store.all_ids()
            log.warning(
                "the store was embedded in text form %d, the embedder reads form %d: embedding "
                "its %d passages again",
                store.text_form,
                self.embedder.text_form,
                len(ids),
            )
            bar = tqdm(
                total=len(ids),
                desc="Embedding passages again (new text form)",
                unit="passage",
                disable=not progress or not ids,
                file=sys.stderr,
            )
            with bar:
                for i in range(0, len(ids), EMBED_GROUP):
                    chunks = store.get_chunks(ids[i : i + EMBED_GROUP])
                    vectors, sentences = self.embed(chunks, bar.update)
                    store.add(chunks, vectors)
                    self.index.put(chunks, sentences)
            store.set_text_form(self.embedder.text_form)
            return len(ids)

    def follow(self, doc_ids: Sequence[str]) -> None:
        """Bring these documents' rows of the passage index in step with the vector store
        (changes another host made): add what is missing, with sentence vectors; drop what
        is gone."""
        stored = self.store.chunk_hashes(list(doc_ids))
        indexed = self.index.ids_by_doc(list(doc_ids))
        for doc_id in doc_ids:
            have, want = indexed.get(doc_id, set()), set(stored.get(doc_id, {}))
            if have - want:
                self.index.delete(have - want)
            missing = sorted(want - have)
            for i in range(0, len(missing), EMBED_GROUP):
                chunks = self.store.get_chunks(missing[i : i + EMBED_GROUP])
                _, sentences = self.embed(chunks)
                self.index.put(chunks, sentences)
            if self.stories is not None:  # this host's story index follows too
                doc = self.store.get_document(doc_id)
                if doc is None:
                    self.stories.remove(doc_id)
                elif missing or have - want:
                    self.stories.add(doc_id, doc.text[doc.body_start :])

    def reconcile_index(self) -> tuple[int, int]:
        """Make the passage index hold exactly the vector store's passages, each with its
        sentence vectors (computed here, never at query time)."""
        stored = set(self.store.all_ids())
        indexed = self.index.ids()
        extra = indexed - stored
        if extra:
            self.index.delete(extra)
        missing = sorted((stored - indexed) | (set(self.index.without_sentences()) & stored))
        for i in range(0, len(missing), EMBED_GROUP):
            chunks = self.store.get_chunks(missing[i : i + EMBED_GROUP])
            _, sentences = self.embed(chunks)
            self.index.put(chunks, sentences)
        # documents written before stories were kept: each joins its story now
        if self.stories is not None and self.stories.count() < self.store.document_count():
            for doc in self.store.documents():
                if doc.state == READY and self.stories.story(doc.doc_id) is None:
                    full = self.store.get_document(doc.doc_id)
                    if full is not None:
                        self.stories.add(full.doc_id, full.text[full.body_start :])
        # rows written before the search filters' columns: filled from the store's metadata
        unfiltered = sorted(set(self.index.without_filter_columns()) & stored)
        for i in range(0, len(unfiltered), 1000):
            chunks = self.store.get_chunks(unfiltered[i : i + 1000])
            self.index.put(chunks, [None] * len(chunks))  # sentence vectors kept
        if missing or extra or unfiltered:
            log.warning(
                "passage index: %d rows (re)built, %d removed, %d given filter columns",
                len(missing),
                len(extra),
                len(unfiltered),
            )
        return len(missing), len(extra)


def _name(article: Document) -> str:
    """How an outcome names a document: its path, its upload's file name, or `api:ID`."""
    return article.source.removeprefix("upload:")


def _versioned(chunk: Chunk, doc_hash: str) -> Chunk:
    return replace(chunk, doc_hash=doc_hash)


def _same_file(holder: Document, path: Path, article: Document) -> bool:
    """The record holding this file's stem is this file's: it holds the same text, or an
    earlier version recorded this file by a relative path."""
    if holder.content_hash == article.content_hash:
        return True
    source = Path(holder.source)
    relative = not holder.source.startswith(("upload:", "api:")) and not source.is_absolute()
    return relative and source.resolve() == path.resolve()
