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
    store = make_store(settings, make_embedder(settings))
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
