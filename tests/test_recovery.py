"""What an interrupted ingestion leaves is never retrieved, and the next run completes it
(step by step here; tests/test_crash_safety.py kills real processes)."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

from ingest.pipeline import Ingestor
from ingest.readers import read_article
from ingest.service import make_ingestor
from rag.schema import Document
from rag.store import DELETING, WRITING
from tests.conftest import SEED, ingest_into, make_test_service

QUESTION = "Quels sont les quatre objectifs principaux de l’accord ?"


def snapshot(ingestor: Ingestor) -> tuple[int, int, int, set[str]]:
    store = ingestor.store
    return (
        store.document_count(),
        store.count(),
        ingestor.index.count(),
        set(store.all_ids()),
    )


def test_a_half_written_document_is_invisible_then_rolled_forward(settings, tmp_path: Path):
    service = make_test_service(settings)
    ingestor = make_ingestor(settings, service.engines)
    ingest_into(service, settings, [SEED])
    clean = snapshot(ingestor)
    ingestor.delete(SEED.stem)

    # what a process killed after writing the record and half the passages leaves
    article = replace(read_article(SEED), source=str(SEED.resolve()))
    plan_chunks = ingestor.chunker.chunk(article)
    chunks = [replace(c, doc_hash=article.content_hash) for c in plan_chunks]
    assert ingestor.store.get_document(SEED.stem) is None
    ingestor.store.put_document(
        Document(
            SEED.stem,
            article.title,
            article.text,
            article.keywords,
            article.source,
            article.language,
            article.content_hash,
            len(chunks),
            body_start=article.body_start,
        ),
        state=WRITING,
    )
    half = chunks[: len(chunks) // 2]
    ingestor.store.add(half, service.retriever.embedder.embed_passages([c.text for c in half]))
    ingestor.index.put(half, [None] * len(half))
    assert service.retrieve(QUESTION) == []  # nothing of a document being written shows

    report = make_ingestor(settings, service.engines).recover()
    assert [o.status for o in report.outcomes] == ["updated"]
    assert snapshot(ingestor) == clean
    assert service.retrieve(QUESTION)


def test_an_interrupted_deletion_is_invisible_then_finished(settings):
    service = make_test_service(settings)
    ingestor = make_ingestor(settings, service.engines)
    ingest_into(service, settings, [SEED])
    ingestor.store.set_state(SEED.stem, DELETING)  # killed right after marking it
    assert service.retrieve(QUESTION) == []
    ingestor.recover()
    assert snapshot(ingestor)[:3] == (0, 0, 0)


def test_stale_passages_of_an_older_version_are_never_retrieved(settings, tmp_path: Path):
    service = make_test_service(settings)
    path = tmp_path / "article.txt"
    shutil.copy(SEED, path)
    ingest_into(service, settings, [path])
    old = {c.id: c for c in service.store.get_chunks(sorted(service.store.all_ids()))}
    path.write_text(path.read_text().replace("quatre objectifs", "cinq objectifs"))
    ingest_into(service, settings, [path])
    stale_ids = set(old) - set(service.store.all_ids())
    assert stale_ids
    # a crash before the stale passages were deleted would leave them: put one back
    stale = old[sorted(stale_ids)[0]]
    service.store.add([stale], service.retriever.embedder.embed_passages([stale.text]))
    service.retriever.index.put([stale], [None])
    found = {p.chunk.id for p in service.retriever.retrieve(stale.text, 10)}
    assert stale.id not in found  # its version is not the record's: offsets would be wrong


def test_the_passage_index_is_reconciled_with_the_vectors(settings):
    service = make_test_service(settings)
    ingestor = make_ingestor(settings, service.engines)
    ingest_into(service, settings, [SEED])
    clean = snapshot(ingestor)
    ids = sorted(ingestor.store.all_ids())
    ingestor.index.delete(ids[:2])  # killed between the two writes
    ghost = [replace(c, id="ghost:1") for c in ingestor.store.get_chunks(ids[:1])]
    ingestor.index.put(ghost, [None])
    assert ingestor.reconcile_index() == (2, 1)
    assert snapshot(ingestor) == clean


def test_a_store_from_the_previous_version_is_migrated(settings):
    """Records without `state`, passages without `doc_hash` (schema 1) stay answerable."""
    service = make_test_service(settings)
    ingest_into(service, settings, [SEED])
    store = service.store
    # rewrite everything as the previous version stored it
    got = store._chunks.get(include=["metadatas"])
    old = [{k: v for k, v in m.items() if k != "doc_hash"} for m in got["metadatas"]]
    store._chunks.delete(ids=got["ids"])
    chunks = service.store.get_chunks(got["ids"])
    assert chunks == []
    originals = make_ingestor(settings, service.engines).chunker.chunk(
        replace(read_article(SEED), doc_id=SEED.stem)
    )
    assert [m["start"] for m in old] == [c.start for c in originals]
    store._chunks.add(
        ids=[c.id for c in originals],
        documents=[c.text for c in originals],
        metadatas=old,
        embeddings=service.retriever.embedder.embed_passages([c.text for c in originals]),
    )
    docs = store._docs.get(include=["metadatas", "documents"])
    store._docs.delete(ids=docs["ids"])
    store._docs.add(
        ids=docs["ids"],
        documents=docs["documents"],
        embeddings=[[1.0]] * len(docs["ids"]),
        metadatas=[{k: v for k, v in m.items() if k != "state"} for m in docs["metadatas"]],
    )
    store._docs.modify(metadata={"schema": 1})
    assert service.retrieve(QUESTION) == []  # unversioned passages are not trusted as is

    fresh = make_test_service(settings)  # opening it migrates
    assert fresh.store._docs.metadata["schema"] == 2
    assert fresh.retrieve(QUESTION)
    assert ingest_into(fresh, settings, [SEED]).unchanged == 1
