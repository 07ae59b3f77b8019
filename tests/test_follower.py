"""Two hosts share a vector store, each with its own passage index (SQLite): changes made
through one are followed by the other through the change log."""

from __future__ import annotations

from ingest.follower import IndexFollower
from ingest.pipeline import Ingestor, make_chunker
from rag.engines import Engines
from rag.passage_index import PassageIndex
from rag.retrieval import HybridRetriever
from tests.conftest import SEED, make_test_service

QUESTION = "Quels sont les quatre objectifs principaux de l’accord ?"


def test_a_second_host_follows_additions_and_deletions(settings, tmp_path):
    service = make_test_service(settings)  # host A: the service's own index
    store, embedder = service.store, service.retriever.embedder
    chunker = make_chunker(settings.ingest, settings.models)
    host_a = Ingestor(service.engines, chunker)
    index_b = PassageIndex(tmp_path / "host-b.sqlite3", settings.store.collection)
    host_b = Ingestor(Engines(embedder, store, index_b), chunker)
    follower = IndexFollower(host_b)
    retriever_b = HybridRetriever(store, embedder, index_b, mode="bm25")
    assert host_a.origin != host_b.origin

    host_a.ingest_paths([SEED], progress=False)
    assert retriever_b.retrieve(QUESTION, 3) == []  # B's keyword index knows nothing yet
    assert follower.step() == [SEED.stem]
    found = retriever_b.retrieve(QUESTION, 3)
    assert found and "quatre objectifs principaux" in found[0].chunk.text
    assert index_b.ids() == service.retriever.index.ids()
    assert set(index_b.sentences(sorted(index_b.ids()))) == index_b.ids()  # vectors too
    assert follower.step() == []  # each change is applied once

    host_a.delete(SEED.stem)
    assert follower.step() == [SEED.stem]
    assert index_b.count() == 0 and retriever_b.retrieve(QUESTION, 3) == []

    host_b.ingest_paths([SEED], progress=False)  # B's own change, already in B's index
    assert follower.step() == []  # B skips what it made itself
    assert IndexFollower(host_a).step() == [SEED.stem]  # A follows it
