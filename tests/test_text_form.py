"""One normal form for what the embedder reads (rag.text.normal_form), recorded with the
store: a store embedded in another form is embedded again before it is used."""

from __future__ import annotations

import numpy as np

from ingest.service import IngestionService
from rag.components import make_engines
from rag.embedding import HashingEmbedder
from rag.text import TEXT_FORM, normal_form
from tests.conftest import SEED


def test_the_same_text_typed_two_ways_reads_the_same():
    pairs = [
        (
            "Quels sont les quatre objectifs de l’accord ?",
            "Quels sont les quatre objectifs de l'accord ?",
        ),
        ("« Le titane » — dit-il…", '" Le titane " - dit-il...'),
        ("2\u00a0milliards\u202fd’euros", "2 milliards d'euros"),
        ("the agreement’s aims", "the agreement's aims"),
    ]
    for typed, plain in pairs:
        assert normal_form(typed) == normal_form(plain) == plain
    embedder = HashingEmbedder()
    a, b = embedder.embed_queries([pairs[0][0], pairs[0][1]])
    assert np.array_equal(a, b)


def test_offsets_and_shown_text_stay_the_sources(settings):
    from tests.conftest import ingest_into, make_test_service

    service = make_test_service(settings)
    ingest_into(service, settings, [SEED])
    source = SEED.read_text()
    for p in service.retrieve("Quels sont les quatre objectifs de l'accord ?", 5):
        doc = service.store.get_document(p.chunk.doc_id)
        assert doc.text[p.chunk.start : p.chunk.end] == p.chunk.text
        assert "’" in source and ("’" in p.chunk.text or "'" not in p.chunk.text)


def test_a_store_of_an_older_form_is_embedded_again_once(settings):
    old_embedder = HashingEmbedder()
    old_embedder.text_form = 0  # what a store written before the normal form records
    old = make_engines(settings, old_embedder)
    IngestionService(settings, old).ingest_paths([SEED], progress=False)
    assert old.store.text_form == 0
    n = old.store.count()
    ids = set(old.store.all_ids())
    del old

    engines = make_engines(settings)  # today's embedder: form TEXT_FORM
    ingestion = IngestionService(settings, engines)
    assert engines.store.text_form == 0  # noticed, not silently mixed
    ingestion.prepare(progress=False)
    assert engines.store.text_form == TEXT_FORM
    assert ingestion.ingestor.texts_embedded >= n  # every passage, and its sentences
    assert set(engines.store.all_ids()) == ids and engines.index.ids() == ids
    again = IngestionService(settings, make_engines(settings))
    again.prepare(progress=False)
    assert again.ingestor.texts_embedded == 0  # recorded: nothing to do the second time


def test_the_cli_refuses_to_answer_from_a_store_of_an_older_form(settings, monkeypatch, capsys):
    from api.cli import main
    from rag.settings import get_settings

    old_embedder = HashingEmbedder()
    old_embedder.text_form = 0
    IngestionService(settings, make_engines(settings, old_embedder)).ingest_paths(
        [SEED], progress=False
    )
    for name, value in (
        ("RAG_DATA_DIR", str(settings.store.data_dir)),
        ("RAG_EMBEDDER", "hashing"),
        ("RAG_LLM", "scripted"),
    ):
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        assert main(["ask", "Qui est Benjamin Gallezot ?"]) == 2
    finally:
        get_settings.cache_clear()
    assert "text form 0" in capsys.readouterr().err


def test_the_model_reads_the_question_with_the_apostrophes_of_its_sources():
    from rag.text import with_apostrophes_of

    seed = "Cet accord comprend quatre objectifs. L’attraction de capitaux, l’adhésion."
    typed = "Quels sont les quatre objectifs de l'accord ?"
    assert with_apostrophes_of(typed, seed) == "Quels sont les quatre objectifs de l’accord ?"
    assert with_apostrophes_of("What are the agreement’s aims?", "it's the agreement's") == (
        "What are the agreement's aims?"
    )
    # only apostrophes inside words; as typed when the sources have none either way
    assert with_apostrophes_of("'quoted' l'accord", "l’a") == "'quoted' l’accord"
    assert with_apostrophes_of(typed, "no apostrophe here") == typed


def test_a_question_typed_either_way_reads_the_same_prompt(settings):
    from tests.conftest import ingest_into, make_test_service

    service = make_test_service(settings)
    ingest_into(service, settings, [SEED])
    prompts = []
    for question in (
        "Quels sont les quatre objectifs de l’accord ?",
        "Quels sont les quatre objectifs de l'accord ?",
    ):
        service.ask(question)
        prompts.append(service.llm.calls[-1][-1].content)
    assert prompts[0] == prompts[1]
