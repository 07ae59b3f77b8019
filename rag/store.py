"""Chunk and document storage in Chroma (embedded `PersistentClient` or a `chroma run` server).

Two collections: `<name>` holds chunk vectors; `<name>__docs` holds whole articles, so a
citation can be shown highlighted inside its source text. Vectors are always ours
(`embedding_function=None`): Chroma's default embedder would try to download a model.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence

from rag.schema import Chunk, Document, Passage
from rag.settings import Settings

os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

_MAX_BATCH = 4000  # Chroma refuses more than ~5,461 records per call


class EmbedderMismatchError(RuntimeError):
    pass


def make_client(settings: Settings):
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if settings.vector_store == "chroma-http":
        return chromadb.HttpClient(
            host=settings.chroma_host, port=settings.chroma_port, settings=chroma_settings
        )
    path = settings.data_dir / "chroma"
    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path), settings=chroma_settings)


class ChunkStore:
    def __init__(self, client, collection: str, embedder_name: str, dim: int) -> None:
        self._client = client
        self.name = collection
        self._chunks = client.get_or_create_collection(
            collection,
            metadata={"hnsw:space": "cosine", "embedder": embedder_name, "dim": dim},
            embedding_function=None,
        )
        meta = self._chunks.metadata or {}
        if meta.get("embedder", embedder_name) != embedder_name:
            raise EmbedderMismatchError(
                f"Collection {collection!r} was built with embedder {meta.get('embedder')!r}, "
                f"not {embedder_name!r}: use another RAG_COLLECTION or re-ingest into a new one"
            )
        self._docs = client.get_or_create_collection(f"{collection}__docs", embedding_function=None)

    # --- chunks -------------------------------------------------------------------------
    def count(self) -> int:
        return self._chunks.count()

    def all_ids(self) -> list[str]:
        return list(self._chunks.get(include=[])["ids"])

    def chunk_ids(self, doc_id: str) -> set[str]:
        got = self._chunks.get(where={"doc_id": doc_id}, include=[])
        return set(got["ids"])

    def add(self, chunks: Sequence[Chunk], vectors: Sequence[Sequence[float]]) -> None:
        for i in range(0, len(chunks), _MAX_BATCH):
            part = chunks[i : i + _MAX_BATCH]
            self._chunks.upsert(
                ids=[c.id for c in part],
                documents=[c.text for c in part],
                metadatas=[c.metadata() for c in part],
                embeddings=[list(v) for v in vectors[i : i + _MAX_BATCH]],
            )

    def update_metadata(self, chunks: Sequence[Chunk]) -> None:
        for i in range(0, len(chunks), _MAX_BATCH):
            part = chunks[i : i + _MAX_BATCH]
            self._chunks.update(ids=[c.id for c in part], metadatas=[c.metadata() for c in part])

    def delete(self, ids: Iterable[str]) -> None:
        ids = list(ids)
        for i in range(0, len(ids), _MAX_BATCH):
            self._chunks.delete(ids=ids[i : i + _MAX_BATCH])

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
        total = self._chunks.count()
        for offset in range(0, total, _MAX_BATCH):
            got = self._chunks.get(
                include=["documents", "metadatas"], limit=_MAX_BATCH, offset=offset
            )
            chunks += [
                Chunk.from_record(cid, text, meta)
                for cid, text, meta in zip(
                    got["ids"], got["documents"], got["metadatas"], strict=True
                )
            ]
        return chunks

    def query(self, vector: Sequence[float], k: int) -> list[Passage]:
        if k <= 0 or self.count() == 0:
            return []
        got = self._chunks.query(
            query_embeddings=[list(vector)],
            n_results=min(k, self.count()),
            include=["documents", "metadatas", "distances"],
        )
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

    # --- documents ----------------------------------------------------------------------
    def put_document(self, doc: Document) -> None:
        self._docs.upsert(
            ids=[doc.doc_id],
            documents=[doc.text],
            embeddings=[[1.0]],  # lookup by id only; Chroma still wants a vector
            metadatas=[
                {
                    "title": doc.title,
                    "keywords": ", ".join(doc.keywords),
                    "source": doc.source,
                    "language": doc.language,
                    "content_hash": doc.content_hash,
                    "n_chunks": doc.n_chunks,
                }
            ],
        )

    def get_document(self, doc_id: str) -> Document | None:
        got = self._docs.get(ids=[doc_id], include=["documents", "metadatas"])
        if not got["ids"]:
            return None
        return _document(got["ids"][0], got["documents"][0], got["metadatas"][0])

    def documents(self) -> list[Document]:
        got = self._docs.get(include=["metadatas"])
        return sorted(
            (_document(i, "", m) for i, m in zip(got["ids"], got["metadatas"], strict=True)),
            key=lambda d: d.title.lower(),
        )

    def delete_document(self, doc_id: str) -> None:
        self.delete(self.chunk_ids(doc_id))
        self._docs.delete(ids=[doc_id])


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
    )
