"""Article metadata end to end with the stand-ins: stored with the document and each passage,
read back from stores written before it existed, shown to the model on the source's header
line, returned in every citation, and in the document list (sorted and filtered)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from fastapi.testclient import TestClient

from api.app import create_app
from ingest.service import make_ingestor
from rag.prompting import format_sources
from rag.schema import Chunk, Passage
from tests.conftest import SEED, ingest_into, make_test_service

ARTICLES = [
    {
        "title": "Le zinc breton",
        "content": "La mine de Plouguerneau rouvrira en 2027 pour extraire du zinc, selon la "
        "préfecture du Finistère, qui a publié un long rapport sur le gisement.",
        "publishedAt": "2020-02-14T09:30:00+01:00",
        "source": {"name": "Le Télégramme"},
        "author": "Anne Le Goff",
        "url": "https://www.letelegramme.fr/zinc.html",
    },
    {
        "title": "Le tramway de Brest",
        "content": "La métropole de Brest a voté le prolongement de la seconde ligne de "
        "tramway jusqu’au quartier de Lambézellec, pour 180 millions d’euros.",
        "date": "2021-06-01",
        "source": "Ouest-France",
        "url": "https://www.ouest-france.fr/tram.html",
    },
    {
        "title": "Un article sans date",
        "content": "Le port de Roscoff accueille un nouveau ferry pour la ligne vers "
        "l’Irlande, plus long et plus sobre que le précédent.",
        "source": "Le Télégramme",
        "url": "https://www.letelegramme.fr/ferry.html",
    },
]


def export(tmp_path: Path, articles=ARTICLES) -> Path:
    path = tmp_path / "bretagne.jsonl"
    path.write_text("\n".join(json.dumps(a, ensure_ascii=False) for a in articles) + "\n")
    return path


def test_metadata_is_stored_with_the_document_and_every_passage(settings, tmp_path):
    service = make_test_service(settings)
    report = ingest_into(service, settings, [export(tmp_path)])
    assert report.count("added") == 3, report.outcomes
    store = service.engines.store
    docs = {d.title: d for d in store.documents()}
    zinc = store.get_document(docs["Le zinc breton"].doc_id)
    assert (zinc.published, zinc.outlet, zinc.authors, zinc.url) == (
        "2020-02-14T09:30:00+01:00",
        "Le Télégramme",
        ("Anne Le Goff",),
        "https://www.letelegramme.fr/zinc.html",
    )
    chunks = store.all_chunks()
    by_title = {c.title: c for c in chunks}
    chunk = by_title["Le zinc breton"]
    assert (chunk.published, chunk.outlet, chunk.url, chunk.authors) == (
        zinc.published,
        zinc.outlet,
        zinc.url,
        zinc.authors,
    )
    assert zinc.text[chunk.start : chunk.end] == chunk.text  # offsets into the stored text
    # Chroma filters on numbers: the article's own day; none for an undated article
    raw = store._chunks.get(where={"published_day": {"$gte": 20210101}}, include=["metadatas"])
    assert {m["title"] for m in raw["metadatas"]} == {"Le tramway de Brest"}
    undated = store._chunks.get(where={"doc_id": docs["Un article sans date"].doc_id})
    assert all("published_day" not in m for m in undated["metadatas"])
    # the same again: unchanged; a corrected date: updated, the passages' day with it
    ingestor = make_ingestor(settings, service.engines)
    assert ingestor.ingest_paths([export(tmp_path)], progress=False).count("unchanged") == 3
    fixed = [dict(ARTICLES[0], publishedAt="2020-02-15"), *ARTICLES[1:]]
    again = ingestor.ingest_paths([export(tmp_path, fixed)], progress=False)
    assert again.count("updated") == 1 and again.count("unchanged") == 2
    assert again.added == 0  # the same text: nothing embedded again
    got = store._chunks.get(where={"doc_id": zinc.doc_id}, include=["metadatas"])
    assert {(m["published"], m["published_day"]) for m in got["metadatas"]} == {
        ("2020-02-15", 20200215)
    }
    # the date removed: the day goes too (a filter must not keep matching it)
    dateless = [{k: v for k, v in ARTICLES[0].items() if k != "publishedAt"}, *ARTICLES[1:]]
    ingestor.ingest_paths([export(tmp_path, dateless)], progress=False)
    got = store._chunks.get(where={"doc_id": zinc.doc_id}, include=["metadatas"])
    assert all(m["published"] == "" and "published_day" not in m for m in got["metadatas"])


def test_records_written_before_metadata_read_with_defaults():
    legacy = {"doc_id": "a", "start": 0, "end": 4, "title": "T", "source": "/x.txt"}
    chunk = Chunk.from_record("a:1", "Text", legacy)
    assert (chunk.published, chunk.outlet, chunk.url, chunk.authors) == ("", "", "", ())
    assert chunk.metadata()["published_day"] is None


def test_the_prompt_header_names_outlet_and_day_only_when_known():
    plain = Chunk("a:1", "a", "Texte.", 0, 6, "Titre")
    dated = replace(plain, outlet="Le Monde", published="2020-02-14T09:30:00+01:00")
    only_day = replace(plain, published="2020-02-14")
    only_outlet = replace(plain, outlet="Le Monde")
    shown = format_sources([Passage(c, 1.0) for c in (plain, dated, only_day, only_outlet)])
    assert shown.split("\n\n") == [
        "[1] Titre\nTexte.",  # exactly as before metadata existed
        "[2] Titre — Le Monde, 2020-02-14\nTexte.",
        "[3] Titre — 2020-02-14\nTexte.",
        "[4] Titre — Le Monde\nTexte.",
    ]


def test_citations_carry_the_metadata_and_the_model_reads_it(settings, tmp_path):
    prompts: list[str] = []

    def cite_zinc(messages) -> str:
        user = messages[-1].content
        prompts.append(user)
        for block in user.split("Sources:\n", 1)[-1].split("\n\n"):
            if block.startswith("[") and "Plouguerneau" in block:
                return f"Le Télégramme l’a annoncé le 14 février 2020 [{block[1]}]."
        return "Les sources ne le disent pas."

    service = make_test_service(settings, cite_zinc)
    ingest_into(service, settings, [export(tmp_path)])
    with TestClient(create_app(settings, service)) as client:
        r = client.post("/v1/ask", json={"question": "Qui a annoncé la réouverture de la mine ?"})
        assert r.status_code == 200, r.text
        body = r.json()
    assert "[1] Le zinc breton — Le Télégramme, 2020-02-14\n" in prompts[-1]
    citation = body["citations"][0]
    assert body["answer"].startswith("Le Télégramme")
    assert (citation["outlet"], citation["published"], citation["url"], citation["authors"]) == (
        "Le Télégramme",
        "2020-02-14T09:30:00+01:00",
        "https://www.letelegramme.fr/zinc.html",
        ["Anne Le Goff"],
    )


def test_the_document_list_sorts_and_filters_by_date_and_outlet(settings, tmp_path):
    service = make_test_service(settings)
    ingest_into(service, settings, [export(tmp_path), SEED])
    with TestClient(create_app(settings, service)) as client:

        def titles(**params) -> list[str]:
            r = client.get("/v1/documents", params=params)
            assert r.status_code == 200, r.text
            return [d["title"] for d in r.json()["documents"]]

        by_date = titles(sort="published")
        assert by_date[:2] == ["Le zinc breton", "Le tramway de Brest"]  # undated ones last
        assert titles(sort="published", order="desc")[:2] == by_date[:2][::-1]
        assert titles(outlet="le télégramme") == ["Le zinc breton", "Un article sans date"]
        assert set(titles(outlet=["Ouest-France", "Le Télégramme"])) == {
            "Le zinc breton",
            "Le tramway de Brest",
            "Un article sans date",
        }
        assert titles(published_after="2020-02-14", published_before="2020-02-14") == [
            "Le zinc breton"
        ]
        assert titles(published_after="2020-03-01") == ["Le tramway de Brest"]
        listed = client.get("/v1/documents", params={"outlet": "Ouest-France"}).json()
        assert listed["total"] == 1
        tram = listed["documents"][0]
        assert (tram["published"], tram["url"], tram["outlet"]) == (
            "2021-06-01",
            "https://www.ouest-france.fr/tram.html",
            "Ouest-France",
        )
        full = client.get(f"/v1/documents/{tram['doc_id']}").json()
        assert full["text"].startswith("Le tramway de Brest\n\n") and full["published"]
        bad = client.get("/v1/documents", params={"published_after": "14/02/2020"})
        assert bad.status_code == 422 and bad.json()["detail"][0]["loc"][-1] == "published_after"
        assert client.get("/v1/documents", params={"sort": "size"}).status_code == 422


def test_a_when_answer_is_grounded_in_the_header_date(settings, tmp_path):
    """The day and year in "le 9 février 2020" are held by the header's "2020-02-09"."""

    def when(messages) -> str:
        user = messages[-1].content
        sources = user.split("Sources:\n", 1)[-1]
        n = next(b[1] for b in sources.split("\n\n") if b.startswith("[") and "Plouguerneau" in b)
        return f"Le Télégramme a publié cet article le 9 février 2020 [{n}]."

    dated = [dict(ARTICLES[0], publishedAt="2020-02-09T08:00:00+01:00")]
    service = make_test_service(settings, when)
    ingest_into(service, settings, [export(tmp_path, dated)])
    with TestClient(create_app(settings, service)) as client:
        body = client.post("/v1/ask", json={"question": "Quand la mine a-t-elle été annoncée ?"})
    answer = body.json()
    assert not answer["abstained"], answer
    assert answer["answer"] == "Le Télégramme a publié cet article le 9 février 2020 [1]."
    assert answer["citations"][0]["published"] == "2020-02-09T08:00:00+01:00"
