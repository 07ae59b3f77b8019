"""Chunk and document storage in Chroma (embedded `PersistentClient` or a `chroma run` server).

Two collections: `<name>` holds chunk vectors; `<name>__docs` holds whole articles, so a
citation can be shown highlighted inside its source text. Vectors are always ours
(`embedding_function=None`): Chroma's default embedder would try to download a model.

Crash safety comes from one rule: a chunk is visible only when its document record is
`ready` and records the same content hash as the chunk (`doc_hash`). A write marks the record
`writing` first and `ready` last; a deletion marks it `deleting` first. So a process killed at
any moment leaves nothing visible that its record does not describe, and the next ingestion
(or server start) rolls the pending record forward (rag/ingest pipeline `recover`).
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
import uuid
from collections.abc import Iterable, Sequence
from functools import partial
from pathlib import Path

import numpy as np

from rag.schema import AUTHORS_SEPARATOR, Chunk, Document, Passage, published_day, split_authors

log = logging.getLogger(__name__)
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

SCHEMA = 2  # 2: records carry `state`, chunks carry `doc_hash`
HNSW_KEYS = ("max_neighbors", "ef_construction", "ef_search")
REBUILD_SUFFIX = "__rebuild"
READY, WRITING, DELETING = "ready", "writing", "deleting"


class EmbedderMismatchError(RuntimeError):
    pass


class StoreLockedError(RuntimeError):
    """Another process holds the embedded store (an embedded Chroma is single-process)."""


_held_locks: dict[Path, int] = {}
_held_guard = threading.Lock()


def lock_embedded(path: Path) -> None:
    """One process at a time per embedded store: a second one would keep a stale in-memory
    index and race on the same files. The lock dies with its process (kill -9 included)."""
    lock_path = path / "ragkit.lock"
    with _held_guard:
        if lock_path in _held_locks:
            return
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise StoreLockedError(
                f"the embedded store {path} is in use by another process (pid {owner}), "
                "probably `rag serve`: add documents through its HTTP API "
                "(`rag ingest --url http://HOST:PORT ...` or POST /v1/documents), or stop it "
                "first; several processes need a Chroma server (RAG_VECTOR_STORE=chroma-http)"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        _held_locks[lock_path] = fd


class ChunkStore:
    def __init__(
        self,
        client,
        collection: str,
        embedder_name: str,
        dim: int,
        hnsw: dict[str, int] | None = None,
        text_form: int = 0,
    ) -> None:
        self._client = client
        self.name = collection
        self._finish_rebuild()
        # `hnsw` (max_neighbors, ef_construction, ef_search) shapes a new collection's graph;
        # an existing collection keeps its own
        self._chunks = client.get_or_create_collection(
            collection,
            metadata={"embedder": embedder_name, "dim": dim, "text_form": text_form},
            configuration={"hnsw": {"space": "cosine", **(hnsw or {})}},
            embedding_function=None,
        )
        meta = self._chunks.metadata or {}
        if meta.get("embedder", embedder_name) != embedder_name:
            raise EmbedderMismatchError(
                f"Collection {collection!r} was built with embedder {meta.get('embedder')!r}, "
                f"not {embedder_name!r}: use another RAG_COLLECTION or re-ingest into a new one"
            )
        self._docs = client.get_or_create_collection(
            f"{collection}__docs", metadata={"schema": SCHEMA}, embedding_function=None
        )
        self._log = client.get_or_create_collection(
            f"{collection}__log", metadata={"schema": SCHEMA}, embedding_function=None
        )
        # the normal form its vectors were embedded in (rag.text.TEXT_FORM; none recorded: 0)
        self.text_form = int(meta.get("text_form", 0))
        self.batch = max(1, min(client.get_max_batch_size(), 5000))
        if (self._docs.metadata or {}).get("schema") != SCHEMA:
            self._migrate()

    def set_text_form(self, form: int) -> None:
        """Record that every vector is now embedded in `form` (after embedding them again)."""
        meta = {k: v for k, v in (self._chunks.metadata or {}).items() if not k.startswith("hnsw:")}
        self._chunks.modify(metadata={**meta, "text_form": form})
        self.text_form = form

    # --- the vector graph ---------------------------------------------------------------
    def graph(self) -> dict[str, int]:
        """The HNSW shape the chunk collection was built with."""
        config = self._chunks.configuration_json.get("hnsw") or {}
        return {k: int(config[k]) for k in HNSW_KEYS if k in config}

    def rebuild_graph(self, hnsw: dict[str, int], progress=None) -> int:
        """Copy the chunks, stored vectors included (nothing is embedded again), into a new
        collection shaped by `hnsw`, then put it in place of the old one. Chroma cannot
        reshape an existing graph. A crash before the swap leaves the old collection in
        use; one during the swap is finished by the next open (`_finish_rebuild`)."""
        temp = f"{self.name}{REBUILD_SUFFIX}"
        if temp in {c.name for c in self._client.list_collections()}:
            self._client.delete_collection(temp)  # an earlier rebuild that did not finish
        started = time.time()
        # legacy "hnsw:*" keys would fight the configuration that now holds the shape
        meta = {k: v for k, v in (self._chunks.metadata or {}).items() if not k.startswith("hnsw:")}
        target = self._client.create_collection(
            temp,
            metadata={**meta, "rebuild_complete": False},
            configuration={"hnsw": {"space": "cosine", **hnsw}},
            embedding_function=None,
        )
        total, done = self.count(), 0
        for offset in range(0, total, self.batch):
            got = self._chunks.get(
                include=["embeddings", "documents", "metadatas"], limit=self.batch, offset=offset
            )
            target.add(
                ids=got["ids"],
                embeddings=got["embeddings"],
                documents=got["documents"],
                metadatas=got["metadatas"],
            )
            done += len(got["ids"])
            if progress:
                progress(done, total)
        if self.changes_since(started) or target.count() != self.count():
            self._client.delete_collection(temp)
            raise RuntimeError(
                "documents changed while the graph was rebuilt (another process wrote to the "
                "store): nothing was replaced; run it again while no one adds or deletes"
            )
        target.modify(metadata={**meta, "rebuild_complete": True})
        self._client.delete_collection(self.name)
        self._finish_rebuild()
        self._chunks = self._client.get_collection(self.name, embedding_function=None)
        return done

    def _finish_rebuild(self) -> None:
        """A rebuild killed between dropping the old collection and renaming the new one
        leaves only the complete copy: put it in place."""
        names = {c.name for c in self._client.list_collections()}
        temp = f"{self.name}{REBUILD_SUFFIX}"
        if self.name in names or temp not in names:
            return
        copy = self._client.get_collection(temp, embedding_function=None)
        meta = dict(copy.metadata or {})
        if meta.pop("rebuild_complete", False):
            copy.modify(name=self.name, metadata=meta)

    # --- chunks -------------------------------------------------------------------------
    def count(self) -> int:
        return self._chunks.count()

    def is_empty(self) -> bool:
        return not self._chunks.get(limit=1, include=[])["ids"]

    def all_ids(self) -> list[str]:
        ids: list[str] = []
        for offset in range(0, self.count(), self.batch):
            ids += self._chunks.get(include=[], limit=self.batch, offset=offset)["ids"]
        return ids

    def chunk_hashes(self, doc_ids: Sequence[str]) -> dict[str, dict[str, str]]:
        """doc_id -> {chunk id: the doc_hash it was written with}, for every given document."""
        out: dict[str, dict[str, str]] = {d: {} for d in doc_ids}
        for i in range(0, len(doc_ids), 200):
            part = list(doc_ids[i : i + 200])
            got = self._chunks.get(where={"doc_id": {"$in": part}}, include=["metadatas"])
            for cid, meta in zip(got["ids"], got["metadatas"], strict=True):
                out.setdefault(str(meta["doc_id"]), {})[cid] = str(meta.get("doc_hash", ""))
        return out

    def chunk_ids(self, doc_id: str) -> set[str]:
        return set(self.chunk_hashes([doc_id])[doc_id])

    def add(self, chunks: Sequence[Chunk], vectors: Sequence[Sequence[float]]) -> None:
        for i in range(0, len(chunks), self.batch):
            part = chunks[i : i + self.batch]
            self._chunks.upsert(
                ids=[c.id for c in part],
                documents=[c.text for c in part],
                metadatas=[c.metadata() for c in part],
                embeddings=np.asarray(vectors[i : i + self.batch], dtype=np.float32),
            )

    def update_metadata(self, chunks: Sequence[Chunk]) -> None:
        for i in range(0, len(chunks), self.batch):
            part = chunks[i : i + self.batch]
            self._chunks.update(ids=[c.id for c in part], metadatas=[c.metadata() for c in part])

    def delete(self, ids: Iterable[str]) -> None:
        ids = list(ids)
        for i in range(0, len(ids), self.batch):
            self._chunks.delete(ids=ids[i : i + self.batch])

    def get_chunks(self, ids: Sequence[str]) -> list[Chunk]:
        if not ids:
            return []
        got = self._chunks.get(ids=list(ids), include=["documents", "metadatas"])
        by_id = {
            cid: Chunk.from_record(cid, text, meta)
            for cid, text, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True)
        }
        return [by_id[i] for i in ids if i in by_id]

    def all_chunks(self) -> list[Chunk]:
        chunks: list[Chunk] = []
        for offset in range(0, self.count(), self.batch):
            got = self._chunks.get(
                include=["documents", "metadatas"], limit=self.batch, offset=offset
            )
            chunks += [
                Chunk.from_record(cid, text, meta)
                for cid, text, meta in zip(
                    got["ids"], got["documents"], got["metadatas"], strict=True
                )
            ]
        return chunks

    def query(
        self,
        vector: Sequence[float],
        k: int,
        where: dict | None = None,
        among: Sequence[str] | None = None,
    ) -> list[Passage]:
        """The k passages nearest to `vector`; `where` (rag.filters) limits the search itself.
        `among`: the ids of the passages that meet `where` (rag.passage_index `meeting`),
        searched instead of it: Chroma evaluates a `where` by reading every passage's metadata
        (25-60 ms at 10k passages), a list of ids through its index (docs/EVALUATION.md,
        "Filtered retrieval")."""
        # no count() first: it costs 7 ms at 109k passages, a seventh of a query, and Chroma
        # returns fewer than k results (or none) from a smaller (or empty) collection
        if k <= 0 or (among is not None and not among):
            return []
        from chromadb.errors import ChromaError

        query = partial(
            self._chunks.query,
            query_embeddings=np.asarray([vector], dtype=np.float32),
            n_results=k,
            include=["documents", "metadatas", "distances"],
        )
        if among is None:
            got = query(where=where)
        else:
            try:
                got = query(ids=list(among))
            except ChromaError as err:
                # an id Chroma no longer holds (a deletion the passage index has not seen
                # yet) fails the whole query: Chroma's own filter, slower but never wrong
                log.info("vector search through Chroma's where: %s", err)
                got = query(where=where)
        return [
            Passage(Chunk.from_record(cid, text, meta), 1.0 - float(dist))
            for cid, text, meta, dist in zip(
                got["ids"][0],
                got["documents"][0],
                got["metadatas"][0],
                got["distances"][0],
                strict=True,
            )
        ]

    def has_dated(self, where: dict | None = None) -> bool:
        """Whether some passage has a publication day (and meets `where`)."""
        dated = {"published_day": {"$gte": 0}}
        got = self._chunks.get(
            where={"$and": [dated, where]} if where else dated, limit=1, include=[]
        )
        return bool(got["ids"])

    def visible(self, passages: Sequence[Passage]) -> list[Passage]:
        """The passages whose document is ready and at the version they were cut from: what
        an interrupted write or deletion left behind is never retrieved."""
        doc_ids = list(dict.fromkeys(p.chunk.doc_id for p in passages))
        if not doc_ids:
            return []
        got = self._docs.get(ids=doc_ids, include=["metadatas"])
        ready = {
            i: str(m.get("content_hash", ""))
            for i, m in zip(got["ids"], got["metadatas"], strict=True)
            if m.get("state") == READY
        }
        return [p for p in passages if ready.get(p.chunk.doc_id) == p.chunk.doc_hash]

    # --- documents ----------------------------------------------------------------------
    def put_document(self, doc: Document, state: str = READY) -> None:
        self.put_documents([doc], state)

    def put_documents(self, docs: Sequence[Document], state: str = READY) -> None:
        for i in range(0, len(docs), self.batch):
            part = docs[i : i + self.batch]
            self._docs.upsert(
                ids=[d.doc_id for d in part],
                documents=[d.text for d in part],
                embeddings=[[1.0]] * len(part),  # lookup by id only; Chroma wants a vector
                metadatas=[{**_doc_metadata(d), "state": state} for d in part],
            )

    def set_state(self, doc_id: str, state: str) -> None:
        self.set_states([doc_id], state)

    def set_states(self, doc_ids: Sequence[str], state: str) -> None:
        for i in range(0, len(doc_ids), self.batch):
            part = list(doc_ids[i : i + self.batch])
            self._docs.update(ids=part, metadatas=[{"state": state}] * len(part))

    def set_source(self, doc_id: str, source: str) -> None:
        self._docs.update(ids=[doc_id], metadatas=[{"source": source}])

    def get_document(self, doc_id: str, include_text: bool = True) -> Document | None:
        include = ["documents", "metadatas"] if include_text else ["metadatas"]
        got = self._docs.get(ids=[doc_id], include=include)
        if not got["ids"]:
            return None
        text = got["documents"][0] if include_text else ""
        return _document(got["ids"][0], text, got["metadatas"][0])

    def get_documents(self, doc_ids: Sequence[str]) -> dict[str, Document]:
        """Records (without their text) by id; absent ids are left out."""
        out: dict[str, Document] = {}
        for i in range(0, len(doc_ids), self.batch):
            got = self._docs.get(ids=list(doc_ids[i : i + self.batch]), include=["metadatas"])
            out |= {
                d: _document(d, "", m) for d, m in zip(got["ids"], got["metadatas"], strict=True)
            }
        return out

    def documents_where(self, where: dict) -> list[Document]:
        got = self._docs.get(where=where, include=["metadatas"])
        return [_document(i, "", m) for i, m in zip(got["ids"], got["metadatas"], strict=True)]

    def document_count(self) -> int:
        return self._docs.count()

    def documents(self) -> list[Document]:
        """Every record (without text), ready or not, sorted by title."""
        docs: list[Document] = []
        for offset in range(0, self.document_count(), self.batch):
            got = self._docs.get(include=["metadatas"], limit=self.batch, offset=offset)
            docs += [_document(i, "", m) for i, m in zip(got["ids"], got["metadatas"], strict=True)]
        return sorted(docs, key=lambda d: (d.title.casefold(), d.doc_id))

    def remove_document(self, doc_id: str) -> None:
        self._docs.delete(ids=[doc_id])

    # --- change log ---------------------------------------------------------------------
    # Every document change is logged where every host sees it, so a host whose passage index
    # (SQLite, local) did not make the change catches up within seconds (ingest.follower).
    def log_change(self, doc_id: str, op: str, origin: str) -> None:
        self.log_changes([doc_id], op, origin)

    def log_changes(self, doc_ids: Sequence[str], op: str, origin: str) -> None:
        now, stamp = time.time(), time.time_ns()
        for i in range(0, len(doc_ids), self.batch):
            part = doc_ids[i : i + self.batch]
            self._log.add(
                ids=[f"{stamp:020d}-{uuid.uuid4().hex[:12]}" for _ in part],
                embeddings=[[1.0]] * len(part),
                metadatas=[{"doc_id": d, "op": op, "origin": origin, "at": now} for d in part],
            )

    def changes_since(self, at: float) -> list[tuple[str, str, str, float]]:
        """(entry id, doc_id, origin, time) of the changes logged after `at`, oldest first."""
        got = self._log.get(where={"at": {"$gt": at}}, include=["metadatas"])
        rows = [
            (i, str(m["doc_id"]), str(m.get("origin", "")), float(m["at"]))
            for i, m in zip(got["ids"], got["metadatas"], strict=True)
        ]
        return sorted(rows, key=lambda r: r[3])

    def prune_changes(self, older_than: float) -> None:
        self._log.delete(where={"at": {"$lt": older_than}})

    # --- schema -------------------------------------------------------------------------
    def _migrate(self) -> None:
        """Stores written before schema 2: every record is ready, every chunk belongs to its
        record's current version (those writers never left a half-written record visible
        to us anyway: their passages without a record stay invisible)."""
        hashes = {d.doc_id: d.content_hash for d in self.documents()}
        for doc_id in hashes:
            self.set_state(doc_id, READY)
        for offset in range(0, self.count(), self.batch):
            got = self._chunks.get(include=["metadatas"], limit=self.batch, offset=offset)
            legacy = [
                (cid, {"doc_hash": hashes[str(meta.get("doc_id"))]})
                for cid, meta in zip(got["ids"], got["metadatas"], strict=True)
                if "doc_hash" not in meta and str(meta.get("doc_id")) in hashes
            ]
            if legacy:
                ids, metas = zip(*legacy, strict=True)
                self._chunks.update(ids=list(ids), metadatas=list(metas))
        self._docs.modify(metadata={"schema": SCHEMA})


def _doc_metadata(doc: Document) -> dict[str, str | int | float | None]:
    return {
        "title": doc.title,
        "keywords": ", ".join(doc.keywords),
        "source": doc.source,
        "language": doc.language,
        "content_hash": doc.content_hash,
        "n_chunks": doc.n_chunks,
        "body_start": doc.body_start,
        "added_at": doc.added_at,
        "published": doc.published,
        "outlet": doc.outlet,
        "authors": AUTHORS_SEPARATOR.join(doc.authors),
        "url": doc.url,
        "feed": doc.feed,
        "published_day": published_day(doc.published) or None,  # None: no date (removed)
    }


def _document(doc_id: str, text: str, meta: dict) -> Document:
    keywords = tuple(k.strip() for k in str(meta.get("keywords", "")).split(",") if k.strip())
    return Document(
        doc_id=doc_id,
        title=str(meta.get("title", "")),
        text=text or "",
        keywords=keywords,
        source=str(meta.get("source", "")),
        language=str(meta.get("language", "fr")),
        content_hash=str(meta.get("content_hash", "")),
        n_chunks=int(meta.get("n_chunks", 0)),
        state=str(meta.get("state", READY)),
        body_start=int(meta.get("body_start", 0)),
        added_at=float(meta.get("added_at", 0.0)),
        published=str(meta.get("published", "")),
        outlet=str(meta.get("outlet", "")),
        authors=split_authors(meta.get("authors", "")),
        url=str(meta.get("url", "")),
        feed=str(meta.get("feed", "")),
    )
