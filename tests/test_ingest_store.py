"""Ingestion against a real embedded Chroma, with the hashing embedder."""

import shutil
from pathlib import Path

from rag.components import make_embedder, make_store
from tests.conftest import SEED, ingest_into, make_test_service


def test_reingesting_unchanged_files_writes_nothing(settings, tmp_path: Path):
    service = make_test_service(settings)
    first = ingest_into(service, settings, [SEED])
    n = service.store.count()
    assert first.added == n > 0 and not first.errors
    second = ingest_into(service, settings, [SEED, SEED.parent])  # the same file, twice
    assert second.files == second.unchanged == 1 and second.added == 0 and second.removed == 0
    assert service.store.count() == n
    # a new process sees the same store
    store = make_store(settings.store, make_embedder(settings.models))
    assert store.count() == n
    doc = store.get_document(SEED.stem)
    assert doc is not None and doc.text == SEED.read_text() and doc.n_chunks == n


def test_changed_file_replaces_its_old_chunks(settings, tmp_path: Path):
    service = make_test_service(settings)
    path = tmp_path / "article.txt"
    shutil.copy(SEED, path)
    ingest_into(service, settings, [path])
    before = service.store.chunk_ids("article")
    text = path.read_text()
    path.write_text(text.replace("Newsletter", "Lettre").replace("2 milliards", "3 milliards"))
    report = ingest_into(service, settings, [path])
    after = service.store.chunk_ids("article")
    assert report.added == 2 and report.removed == 2
    assert len(after) == len(before) and after != before
    chunks = service.store.get_chunks(sorted(after))
    new_text = path.read_text()
    assert all(new_text[c.start : c.end] == c.text for c in chunks)
    assert any("3 milliards" in c.text for c in chunks)
    assert not any("2 milliards" in c.text for c in chunks)


def test_bad_file_is_reported_and_the_store_is_untouched(settings, tmp_path: Path):
    service = make_test_service(settings)
    ingest_into(service, settings, [SEED])
    n = service.store.count()
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"Titre\n\xff\xfe\n")
    report = ingest_into(service, settings, [bad, SEED])
    assert len(report.errors) == 1 and "bad.txt:2" in report.errors[0]
    assert report.unchanged == 1
    assert service.store.count() == n


def test_bad_files_through_the_cli_path(settings, tmp_path: Path, monkeypatch):
    import ingest.readers

    service = make_test_service(settings)
    ingest_into(service, settings, [SEED])
    before = (service.store.count(), service.store.document_count())
    folder = tmp_path / "incoming"
    folder.mkdir()
    (folder / "empty.txt").write_text(" \n")
    (folder / "binary.txt").write_bytes(b"Titre\n\x00\x01\x02")
    (folder / "latin1.txt").write_bytes("Titre\n\nÉté à Montréal".encode("latin-1"))
    (folder / "big.txt").write_text("Titre\n\n" + "mot " * 400)
    (folder / "title-only.md").write_text("# Un titre\n")
    (folder / "title-only.txt").write_text("Un titre sans texte\n")
    monkeypatch.setattr(ingest.readers, "MAX_BYTES", 1000)
    report = ingest_into(service, settings, [folder])
    reasons = sorted(report.errors)
    assert len(reasons) == 6 and report.files == 6
    for name, reason in [
        ("big.txt", "larger than the 1,000-byte limit"),
        ("binary.txt:2", "NUL bytes"),
        ("empty.txt:1", "empty file"),
        ("latin1.txt:3", "not valid UTF-8"),
        ("title-only.md", "no text after the title"),
        ("title-only.txt:2", "no text after the title"),
    ]:
        assert any(name in r and reason in r for r in reasons), (name, reasons)
    assert (service.store.count(), service.store.document_count()) == before


def test_a_second_process_is_told_the_embedded_store_is_taken(settings, tmp_path: Path):
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    make_test_service(settings)  # this process now holds the embedded store, as `rag serve` would
    env = {**os.environ, "RAG_DATA_DIR": str(settings.store.data_dir), "RAG_EMBEDDER": "hashing"}
    run = subprocess.run(
        [sys.executable, "-m", "api.cli", "ingest", str(SEED)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 2
    assert f"in use by another process (pid {os.getpid()})" in run.stderr
    assert "rag ingest --url" in run.stderr


def test_a_new_passage_collection_gets_the_configured_graph(settings, tmp_path: Path):
    import chromadb

    tuned = settings.changed(hnsw_ef_search=321)
    store = make_store(tuned.store, make_embedder(tuned.models))
    hnsw = store._chunks.configuration["hnsw"]
    assert hnsw["space"] == "cosine"
    assert (hnsw["max_neighbors"], hnsw["ef_construction"], hnsw["ef_search"]) == (32, 200, 321)
    store._client.clear_system_cache()

    # a collection an earlier version made keeps its graph, and its passages stay answerable
    path = tmp_path / "old"
    client = chromadb.PersistentClient(path=str(path / "chroma"))
    client.get_or_create_collection(
        "articles", metadata={"hnsw:space": "cosine", "embedder": "hashing", "dim": 256}
    )
    client.clear_system_cache()
    old = settings.changed(data_dir=path)
    service = make_test_service(old)
    ingest_into(service, old, [SEED])
    hnsw = service.store._chunks.configuration["hnsw"]
    assert (hnsw["space"], hnsw["max_neighbors"]) == ("cosine", 16)
    assert service.retriever.retrieve("objectifs de l’accord", 3)

    # `rag reindex` reshapes it from the stored vectors: same passages, same answers
    before = [p.chunk.id for p in service.retriever.retrieve("objectifs de l’accord", 3)]
    ids, n = set(service.store.all_ids()), service.store.count()
    wanted = {"max_neighbors": 32, "ef_construction": 200, "ef_search": 500}
    assert service.store.rebuild_graph(wanted) == n
    assert service.store.graph() == wanted
    assert set(service.store.all_ids()) == ids
    assert service.store._chunks.metadata == {
        "embedder": "hashing",
        "dim": 256,
    }
    after = [p.chunk.id for p in service.retriever.retrieve("objectifs de l’accord", 3)]
    assert after == before


def test_a_rebuild_killed_during_the_swap_is_finished_by_the_next_open(settings):
    from rag.store import REBUILD_SUFFIX

    service = make_test_service(settings)
    ingest_into(service, settings, [SEED])
    store, n = service.store, service.store.count()
    client = store._client
    # what a process killed after dropping the old collection, before renaming the copy, leaves
    got = store._chunks.get(include=["embeddings", "documents", "metadatas"])
    copy = client.create_collection(
        f"articles{REBUILD_SUFFIX}",
        metadata={**store._chunks.metadata, "rebuild_complete": True},
        configuration={"hnsw": {"space": "cosine", "max_neighbors": 24}},
        embedding_function=None,
    )
    copy.add(
        ids=got["ids"],
        embeddings=got["embeddings"],
        documents=got["documents"],
        metadatas=got["metadatas"],
    )
    client.delete_collection("articles")
    reopened = make_store(settings.store, make_embedder(settings.models))
    assert reopened.count() == n and reopened.graph()["max_neighbors"] == 24
    assert "rebuild_complete" not in (reopened._chunks.metadata or {})
    assert {c.name for c in client.list_collections()} == {
        "articles",
        "articles__docs",
        "articles__log",
    }

    # an unfinished copy (killed while copying) is never put in place, and the next rebuild
    # starts it over
    client.create_collection(
        f"articles{REBUILD_SUFFIX}", metadata={"rebuild_complete": False}, embedding_function=None
    )
    again = make_store(settings.store, make_embedder(settings.models))
    assert again.count() == n
    again.rebuild_graph({"max_neighbors": 16, "ef_construction": 100, "ef_search": 100})
    assert again.count() == n and again.graph()["max_neighbors"] == 16
