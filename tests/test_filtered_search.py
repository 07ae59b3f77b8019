"""Filtered searches through the passage index's filter index. The vector search goes through
the ids of the passages that meet the filter (Chroma's own `where` reads every passage's
metadata: 25-60 ms at 10k passages): the same passages as Chroma's filter, none when none
meets it, and Chroma's filter again when the index names a passage Chroma no longer holds.
The keyword search ranks the passages that meet it, exactly as without the filter."""

from __future__ import annotations

import sqlite3
from datetime import date

import pytest

from rag.filters import Filters
from rag.passage_index import PassageIndex
from tests.conftest import SEED, ingest_into, make_test_service
from tests.test_news_metadata import export

FILTERS = [
    Filters(date(2020, 1, 1), date(2020, 12, 31)),
    Filters(published_after=date(2021, 1, 1)),
    Filters(date(2020, 2, 14), date(2020, 2, 14)),
    Filters(outlets=("Le Télégramme",)),
    Filters(outlets=("Ouest-France", "Le Télégramme"), languages=("fr",)),
    Filters(published_before=date(2021, 12, 31), outlets=("Ouest-France",)),
]


@pytest.fixture
def engines(settings, tmp_path):
    service = make_test_service(settings)
    ingest_into(service, settings, [export(tmp_path), SEED])
    return service.engines


def test_the_ids_meeting_a_filter_are_those_chroma_filters(engines):
    store, index = engines.store, engines.index
    for filters in FILTERS:
        wanted = set(store._chunks.get(where=filters.where(), include=[])["ids"])
        assert set(index.meeting(filters)) == wanted, filters
    assert len(index.meeting(Filters(published_after=date(2000, 1, 1)))) == 2  # undated out


def test_a_search_among_those_ids_finds_what_chroma_filters_find(engines):
    store, index = engines.store, engines.index
    vector = engines.embedder.embed_queries(["Quel projet la Bretagne a-t-elle voté ?"])[0]
    for filters in FILTERS:
        by_where = store.query(vector, 10, filters.where())
        among = store.query(vector, 10, filters.where(), index.meeting(filters))
        assert [p.chunk.id for p in among] == [p.chunk.id for p in by_where] != [], filters
        assert [p.score for p in among] == pytest.approx([p.score for p in by_where])
    nothing = Filters(date(1990, 1, 1), date(1990, 12, 31))
    assert index.meeting(nothing) == [] and store.query(vector, 10, nothing.where(), []) == []


def test_a_filtered_keyword_search_ranks_those_that_meet_the_filter(engines):
    index = engines.index
    for query in ("Bretagne zinc tramway ferry Roscoff", "objectifs de l’accord uranium"):
        everything = index.search(query, "fr", 1000)
        for filters in FILTERS:
            meeting = set(index.meeting(filters))
            ranked = [hit for hit in everything if hit[0] in meeting]
            assert index.search(query, "fr", 1000, filters) == ranked, (query, filters)
            assert index.search(query, "fr", 1, filters) == ranked[:1]
    hits = index.search("zinc tramway", "fr", 10, Filters(outlets=("Ouest-France",)))
    assert len(hits) == 1  # the tramway article; the zinc one is Le Télégramme's


def test_an_id_chroma_no_longer_holds_falls_back_to_its_filter(engines):
    store, index = engines.store, engines.index
    vector = engines.embedder.embed_queries(["Le tramway de Brest"])[0]
    filters = Filters(outlets=("Ouest-France", "Le Télégramme"))
    stale = [*index.meeting(filters), "deleted-elsewhere-0"]  # Chroma refuses unknown ids
    found = store.query(vector, 10, filters.where(), stale)
    assert [p.chunk.id for p in found] == [
        p.chunk.id for p in store.query(vector, 10, filters.where())
    ]
    assert {p.chunk.outlet for p in found} == {"Ouest-France", "Le Télégramme"}


def test_the_filter_index_serves_a_window_without_reading_rows(tmp_path):
    index = PassageIndex(tmp_path / "index.sqlite3", "articles")
    conditions, params = Filters(date(2020, 1, 1), date(2020, 1, 31), outlets=("Le Monde",)).sql()
    query = f"SELECT c.chunk_id FROM kw_articles c WHERE 1{conditions}"  # as `meeting` reads
    plan = index._conn().execute(f"EXPLAIN QUERY PLAN {query}", params)
    detail = " ".join(row[3] for row in plan)
    assert "COVERING INDEX kw_articles_filters (published_day>? AND published_day<?)" in detail


def test_a_table_written_before_filters_gets_the_filter_index(tmp_path):
    path = tmp_path / "index.sqlite3"
    with sqlite3.connect(path) as conn:  # the table as it was before search filters
        conn.execute(
            "CREATE TABLE kw_articles (row INTEGER PRIMARY KEY, chunk_id TEXT NOT NULL UNIQUE, "
            "doc_id TEXT NOT NULL, tokens TEXT NOT NULL, sentences BLOB)"
        )
        conn.execute("INSERT INTO kw_articles VALUES (1, 'c1', 'd1', 'zinc', NULL)")
    index = PassageIndex(path, "articles")
    columns = [
        r[2] for r in index._conn().execute("PRAGMA index_info(kw_articles_filters)").fetchall()
    ]
    assert columns == ["published_day", "outlet", "language", "chunk_id"]
    assert index.without_filter_columns() == ["c1"]  # left for the reconciliation to fill
