"""Articles from URLs, served by a local http.server: `IngestionService.ingest_url`,
`POST /v1/documents {"url"}`, `rag ingest URL`. Loopback addresses are refused unless
RAG_ALLOW_PRIVATE_URLS, and every error names the URL and the reason."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from ingest.service import IngestionService
from tests.conftest import make_test_service
from tests.news_server import NewsServer, article_page, rss

TRAM = [
    "La métropole de Brest a voté jeudi soir le prolongement de la seconde ligne de tramway "
    "jusqu’au quartier de Lambézellec, pour un coût estimé à 180 millions d’euros.",
    "Les travaux commenceront au printemps 2025 et dureront trois ans, selon le vice-président "
    "chargé des mobilités, qui promet une rame toutes les six minutes.",
]
FERRY = [
    "Le port de Roscoff accueille depuis lundi un nouveau ferry pour la ligne vers l’Irlande, "
    "plus long de trente mètres et plus sobre que le navire qu’il remplace.",
    "La compagnie compte transporter cent mille passagers de plus chaque année, selon son "
    "directeur général, qui a présenté le navire aux élus de la région.",
]


@pytest.fixture(scope="module")
def news() -> Iterator[NewsServer]:
    with NewsServer() as server:
        server.put(
            "/tram.html",
            article_page(
                "Le tramway de Brest prolongé",
                TRAM,
                site="Le Télégramme",
                date="2024-03-14T18:30:00+01:00",
                author="Anne Le Goff",
            ),
            "text/html; charset=utf-8",
        )
        server.put(
            "/ferry.html",
            article_page(
                "Un nouveau ferry à Roscoff",
                FERRY,
                site="Ouest-France",
                date="2024-03-11",
                author="Yann Kerjean",
            ),
            "text/html",
        )
        server.put("/menu.html", "<html><body><nav>Accueil Sport</nav></body></html>", "text/html")
        server.put(
            "/feed.xml",
            rss(
                "Bretagne Actu",
                [
                    {
                        "title": "Le tramway de Brest prolongé",
                        "link": server.url("/tram.html"),
                        "guid": "tram-1",
                        "pubDate": "Thu, 14 Mar 2024 18:30:00 +0100",
                        "description": "Le tram ira à Lambézellec.",
                    },
                    {
                        "title": "Un nouveau ferry à Roscoff",
                        "link": server.url("/ferry.html"),
                        "guid": "ferry-1",
                        "pubDate": "Mon, 11 Mar 2024 08:00:00 +0100",
                        "description": "Un ferry plus sobre.",
                    },
                ],
            ),
            "application/rss+xml",
        )
        rows = [{"title": "Grève", "text": "Les cheminots ont cessé le travail mardi matin."}]
        server.put("/export.jsonl", "\n".join(json.dumps(r) for r in rows), "application/x-ndjson")
        server.put("/image.png", b"\x89PNG", "image/png")
        yield server


@pytest.fixture
def allowed(settings):
    return settings.changed(allow_private_urls=True)


def test_a_page_a_feed_and_an_export_by_url(allowed, news):
    service = make_test_service(allowed)
    ingestion = IngestionService(allowed, service.engines)
    page = ingestion.ingest_url(news.url("/tram.html"), progress=False)
    assert [o.status for o in page.outcomes] == ["added"], page.outcomes
    doc = service.engines.store.get_document(page.outcomes[0].doc_id)
    assert doc.doc_id.startswith("127.0.0.1-") and doc.url == news.url("/tram.html")
    assert (doc.outlet, doc.published) == ("Le Télégramme", "2024-03-14T18:30:00+01:00")
    assert doc.text[doc.body_start :].startswith(TRAM[0])
    # a feed read once: each entry's linked page is fetched (the entries carry a summary)
    feed = ingestion.ingest_url(news.url("/feed.xml"), progress=False)
    statuses = sorted((o.status, o.doc_id) for o in feed.outcomes)
    assert [s for s, _ in statuses] == ["added", "added"], feed.outcomes
    ferry = next(
        service.engines.store.get_document(o.doc_id)
        for o in feed.outcomes
        if service.engines.store.get_document(o.doc_id).title.startswith("Un nouveau ferry")
    )
    assert FERRY[1] in ferry.text  # the page's text, not the feed's summary
    assert (ferry.outlet, ferry.feed) == ("Bretagne Actu", news.url("/feed.xml"))
    assert ferry.published == "2024-03-11T08:00:00+01:00"  # the entry's date and zone
    # the page of the tram is the feed's tram entry too, under another id: the entry's own
    assert {o.doc_id for o in feed.outcomes}.isdisjoint({doc.doc_id})
    export = ingestion.ingest_url(news.url("/export.jsonl"), progress=False)
    assert [o.status for o in export.outcomes] == ["added"]
    again = ingestion.ingest_url(news.url("/tram.html"), progress=False)
    assert [o.status for o in again.outcomes] == ["unchanged"]


def test_private_addresses_are_refused_without_the_setting(settings, news):
    service = make_test_service(settings)
    asked = len(news.hits("/tram.html"))
    report = IngestionService(settings, service.engines).ingest_url(news.url("/tram.html"))
    (outcome,) = report.outcomes
    assert outcome.status == "error" and outcome.name == news.url("/tram.html")
    assert "127.0.0.1 is a loopback address" in outcome.detail
    assert "RAG_ALLOW_PRIVATE_URLS=true" in outcome.detail
    # refused before connecting: the server never saw the request; nothing stored
    assert len(news.hits("/tram.html")) == asked and service.engines.store.document_count() == 0


def test_post_a_url_and_the_errors_that_name_it(allowed, settings, news):
    service = make_test_service(allowed)
    with TestClient(create_app(allowed, service)) as client:
        r = client.post("/v1/documents", json={"url": news.url("/ferry.html"), "doc_id": "ferry"})
        assert r.status_code == 200, r.text
        assert [(o["status"], o["doc_id"]) for o in r.json()["outcomes"]] == [("added", "ferry")]
        doc = client.get("/v1/documents/ferry").json()
        assert (doc["outlet"], doc["published"], doc["url"]) == (
            "Ouest-France",
            "2024-03-11",
            news.url("/ferry.html"),
        )
        # replace by URL: PUT with {"url"}
        r = client.put("/v1/documents/ferry", json={"url": news.url("/tram.html")})
        assert r.status_code == 200 and r.json()["outcomes"][0]["status"] == "updated"
        for path, reason in [
            ("/missing.html", "HTTP 404"),
            ("/menu.html", "no article text found"),
            ("/image.png", "content type image/png is not a page, feed or export"),
        ]:
            r = client.post("/v1/documents", json={"url": news.url(path)})
            assert r.status_code == 422, r.text
            (error,) = r.json()["detail"]
            assert error["loc"] == ["body", "url"]
            assert error["msg"].startswith(news.url(path)) and reason in error["msg"]
        r = client.post("/v1/documents", json={"url": "file:///etc/passwd"})
        assert r.status_code == 422 and "only http and https" in r.json()["detail"][0]["msg"]
        r = client.post("/v1/documents", json={"url": news.url("/feed.xml"), "doc_id": "one"})
        assert r.status_code == 422 and "names one article" in r.json()["detail"][0]["msg"]
    with TestClient(create_app(settings, make_test_service(settings))) as client:
        r = client.post("/v1/documents", json={"url": news.url("/ferry.html")})
        assert r.status_code == 422
        assert "RAG_ALLOW_PRIVATE_URLS=true" in r.json()["detail"][0]["msg"]


def test_uploads_of_pages_feeds_and_exports(allowed, news):
    service = make_test_service(allowed)
    with TestClient(create_app(allowed, service)) as client:
        feed = news.resources["/feed.xml"].body
        export = b'{"title": "A", "text": "Un texte assez long."}\n{"title": "sans texte"}\n'
        page = news.resources["/tram.html"].body
        r = client.post(
            "/v1/documents",
            files=[
                ("files", ("bretagne.xml", feed, "text/xml")),
                ("files", ("export.jsonl", export, "application/octet-stream")),
                ("files", ("tram.html", page, "text/html")),
            ],
        )
        assert r.status_code == 200, r.text
        outcomes = r.json()["outcomes"]
        assert sorted(o["status"] for o in outcomes) == ["added"] * 4 + ["error"]
        (error,) = [o for o in outcomes if o["status"] == "error"]
        assert error["name"] == "export.jsonl" and error["detail"].startswith("export.jsonl:2: ")
        added = {o["doc_id"]: o["name"] for o in outcomes if o["status"] == "added"}
        assert added["tram"] == "tram.html" and "export-1" in added
        tram = client.get("/v1/documents/tram").json()
        assert tram["outlet"] == "Le Télégramme" and tram["source"] == "upload:tram.html"


def test_rag_ingest_url(monkeypatch, tmp_path, news, capsys):
    from api.cli import main
    from rag.settings import get_settings

    for key, value in {
        "RAG_DATA_DIR": str(tmp_path / "data"),
        "RAG_EMBEDDER": "hashing",
        "RAG_LLM": "scripted",
        "RAG_ALLOW_PRIVATE_URLS": "true",
    }.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    try:
        assert main(["ingest", "-q", news.url("/feed.xml"), news.url("/tram.html")]) == 0
        err = capsys.readouterr().err
        assert "2 file(s): 3 added" in err
        assert main(["ingest", "-q", news.url("/missing.html")]) == 1
        err = capsys.readouterr().err
        assert f"error: {news.url('/missing.html')}: HTTP 404" in err
    finally:
        get_settings.cache_clear()


NESTED = {
    "items": [
        {
            "story": {"headline": "Le marché couvert rouvre", "body_text": TRAM[0]},
            "meta": {"ts": "2021-03-04T08:15:00+01:00", "site": "Le Journal du Port"},
        }
    ]
}
MAPPING = {
    "text": "story.body_text",
    "title": "story.headline",
    "published": "meta.ts",
    "outlet": "meta.site",
}


def test_an_export_mapping_names_the_fields_common_names_miss(
    allowed, news, monkeypatch, tmp_path, capsys
):
    from api.cli import main
    from rag.settings import get_settings

    export = tmp_path / "nested.json"
    export.write_text(json.dumps(NESTED, ensure_ascii=False))
    for key, value in {
        "RAG_DATA_DIR": str(tmp_path / "data"),
        "RAG_EMBEDDER": "hashing",
        "RAG_LLM": "scripted",
    }.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    try:
        assert main(["ingest", "-q", str(export)]) == 1  # the common names find no text
        assert "nested.json[0]: no text" in capsys.readouterr().err
        assert main(["ingest", "-q", "--map", "bogus=x", str(export)]) == 2
        assert "unknown field(s) bogus" in capsys.readouterr().err
        args = [a for k, v in MAPPING.items() for a in ("--map", f"{k}={v}")]
        assert main(["ingest", "-q", *args, str(export)]) == 0
        assert "1 added" in capsys.readouterr().err
    finally:
        get_settings.cache_clear()

    news.put("/nested.json", json.dumps(NESTED), "application/json")
    service = make_test_service(allowed)
    with TestClient(create_app(allowed, service)) as client:
        r = client.post(
            "/v1/documents",
            files=[("files", ("nested.json", json.dumps(NESTED).encode(), "application/json"))],
            data={"mapping": json.dumps(MAPPING)},
        )
        assert r.status_code == 200, r.text
        (outcome,) = r.json()["outcomes"]
        doc = client.get(f"/v1/documents/{outcome['doc_id']}").json()
        assert (doc["title"], doc["published"], doc["outlet"]) == (
            "Le marché couvert rouvre",
            "2021-03-04T08:15:00+01:00",
            "Le Journal du Port",
        )
        r = client.post(
            "/v1/documents",
            json={"url": news.url("/nested.json"), "mapping": {"text": "story.body_text"}},
        )
        # the same object (same stem and position: nested-0) with another title: never
        # overwritten by POST
        assert r.status_code == 200, r.text
        assert [(o["status"], o["doc_id"]) for o in r.json()["outcomes"]] == [
            ("conflict", "nested-0")
        ]
        for bad in ('{"txt": "body"}', "[1]", "{not json"):
            r = client.post(
                "/v1/documents",
                files=[("files", ("n.json", b"[]", "application/json"))],
                data={"mapping": bad},
            )
            assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "mapping"]
        r = client.post("/v1/documents", json={"url": news.url("/x"), "mapping": {"txt": "a"}})
        assert r.status_code == 422 and "unknown field(s) txt" in r.json()["detail"][0]["msg"]
