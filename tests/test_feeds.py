"""Feed subscriptions (ingest.feeds) against a local feed server: subscribe and first poll,
304, a new entry, an edited entry, failures and backoff, two pollers on one SQLite file,
a restart; then the HTTP API and the `rag feeds` commands."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from ingest.feeds import MAX_BACKOFF_S, FeedBusyError, FeedError, Feeds, FeedStore, backoff_s
from ingest.service import IngestionService
from tests.conftest import make_test_service
from tests.news_server import NewsServer, article_page, rss

PAGES = {
    "/tram.html": (
        "Le tramway de Brest prolongé",
        "Le Télégramme",
        "La métropole de Brest a voté jeudi soir le prolongement de la seconde ligne de tramway "
        "jusqu’au quartier de Lambézellec, pour un coût estimé à 180 millions d’euros.",
    ),
    "/ferry.html": (
        "Un nouveau ferry à Roscoff",
        "Ouest-France",
        "Le port de Roscoff accueille depuis lundi un nouveau ferry pour la ligne vers "
        "l’Irlande, plus long de trente mètres et plus sobre que le navire qu’il remplace.",
    ),
    "/phare.html": (
        "Le phare d’Ouessant restauré",
        "Le Télégramme",
        "Le phare du Créac’h, sur l’île d’Ouessant, rouvre au public après deux ans de travaux "
        "de restauration financés par l’État et la région Bretagne.",
    ),
}
FILLER = (
    "Les élus ont salué un projet attendu depuis longtemps par les habitants, qui pourront "
    "suivre les prochaines étapes lors de réunions publiques organisées chaque mois."
)


def publish(server: NewsServer, path: str, text: str | None = None) -> None:
    title, site, first = PAGES[path]
    page = article_page(
        title, [text or first, FILLER], site=site, date="2024-03-14", author="Anne Le Goff"
    )
    server.put(path, page, "text/html; charset=utf-8")


def item(server: NewsServer, path: str, day: int, summary: str = "") -> dict[str, str]:
    return {
        "title": PAGES[path][0],
        "link": server.url(path),
        "guid": f"guid{path}",
        "pubDate": f"{['Mon', 'Tue', 'Wed', 'Thu'][day % 4]}, {day:02d} Mar 2024 09:00:00 +0100",
        "description": summary or f"Résumé de {PAGES[path][0]}.",
    }


def serve_feed(server: NewsServer, items: list[dict[str, str]], **kw) -> str:
    return server.put("/feed.xml", rss("Bretagne Actu", items), "application/rss+xml", **kw)


@pytest.fixture
def news() -> Iterator[NewsServer]:
    with NewsServer() as server:
        for path in PAGES:
            publish(server, path)
        serve_feed(server, [item(server, "/tram.html", 11), item(server, "/ferry.html", 12)])
        yield server


@pytest.fixture
def allowed(settings):
    return settings.changed(allow_private_urls=True, feed_interval_minutes=30)


@pytest.fixture
def ingestion(allowed) -> IngestionService:
    return IngestionService(allowed, make_test_service(allowed).engines)


def texts(ingestion: IngestionService) -> dict[str, str]:
    store = ingestion.store
    return {d.title: store.get_document(d.doc_id).text for d in store.documents()}


def test_subscribe_poll_304_new_and_edited_entries(ingestion, news):
    feeds = ingestion.feeds
    sub, new = feeds.subscribe(news.url("/feed.xml"))
    assert new and sub.outcome == "ok" and sub.error == "" and sub.failures == 0
    assert (sub.title, sub.entries, sub.interval_minutes) == ("Bretagne Actu", 2, 30.0)
    assert sub.counts == {"entries": 2, "added": 2, "updated": 0, "unchanged": 0, "errors": 0}
    assert sub.next_poll == pytest.approx(time.time() + 30 * 60, abs=30)
    docs = {d.title: d for d in ingestion.store.documents()}
    tram = docs["Le tramway de Brest prolongé"]
    assert (tram.outlet, tram.feed, tram.url) == (
        "Bretagne Actu",
        news.url("/feed.xml"),
        news.url("/tram.html"),
    )
    assert tram.published == "2024-03-11T09:00:00+01:00"
    assert PAGES["/tram.html"][2] in texts(ingestion)[tram.title]  # the linked page's text
    # the same URL again: the same subscription, nothing fetched
    assert feeds.subscribe(news.url("/feed.xml")) == (feeds.get(sub.id), False)

    # nothing changed: a conditional GET answered 304
    polled = feeds.poll(sub.id)
    assert polled.outcome == "not modified" and news.hits("/feed.xml")[-1] == 304
    assert polled.counts["added"] == 2  # the last read's counts stay

    # one entry added, one edited (its page and its summary): the unchanged one is left
    ferry_fetches = len(news.hits("/ferry.html"))
    edited = "Le prolongement du tramway de Brest coûtera finalement 210 millions d’euros."
    publish(news, "/tram.html", edited)
    serve_feed(
        news,
        [
            item(news, "/tram.html", 11, "Le coût du tram est revu."),
            item(news, "/ferry.html", 12),
            item(news, "/phare.html", 13),
        ],
    )
    polled = feeds.poll(sub.id)
    assert polled.outcome == "ok", polled.error
    assert polled.counts == {"entries": 3, "added": 1, "updated": 1, "unchanged": 1, "errors": 0}
    assert polled.entries == 3
    assert len(news.hits("/ferry.html")) == ferry_fetches  # an unchanged entry is not read
    now = texts(ingestion)
    assert edited in now["Le tramway de Brest prolongé"]
    assert PAGES["/tram.html"][2] not in now["Le tramway de Brest prolongé"]
    assert PAGES["/phare.html"][2] in now["Le phare d’Ouessant restauré"]
    ids = {d.title: d.doc_id for d in ingestion.store.documents()}
    assert ids["Le tramway de Brest prolongé"] == tram.doc_id  # updated in place
    # no passage of the old text is left to retrieve
    chunks = [c for c in ingestion.store.all_chunks() if c.doc_id == tram.doc_id]
    assert chunks and all(PAGES["/tram.html"][2] not in c.text for c in chunks)


def test_failures_back_off_and_report_why(ingestion, news):
    feeds = ingestion.feeds
    sub, _ = feeds.subscribe(news.url("/feed.xml"), interval_minutes=10)
    serve_feed(news, [], status=500)
    failed = feeds.poll(sub.id)
    assert (failed.outcome, failed.failures) == ("failed", 1)
    assert failed.error == f"{news.url('/feed.xml')}: HTTP 500"
    assert failed.next_poll == pytest.approx(time.time() + 2 * 10 * 60, abs=30)
    news.put("/feed.xml", "<rss><channel><title>T</title></chann", "application/rss+xml")
    failed = feeds.poll(sub.id)
    assert failed.failures == 2 and "not a readable feed" in failed.error
    assert failed.next_poll == pytest.approx(time.time() + 4 * 10 * 60, abs=30)
    assert backoff_s(30 * 60, 12) == MAX_BACKOFF_S  # capped at a day
    serve_feed(news, [item(news, "/tram.html", 11), item(news, "/ferry.html", 12)])
    healed = feeds.poll(sub.id)  # the feed is back as it was when last read: 304
    assert (healed.outcome, healed.failures, healed.error) == ("not modified", 0, "")
    assert healed.next_poll == pytest.approx(time.time() + 10 * 60, abs=30)
    # an entry that cannot be read is reported; its siblings are stored
    serve_feed(
        news,
        [
            item(news, "/tram.html", 11),
            item(news, "/ferry.html", 12),
            {"title": "Vide", "guid": "vide", "link": ""},
        ],
    )
    partial = feeds.poll(sub.id)
    assert partial.outcome == "ok" and partial.error == "1 entry could not be read"
    assert len(partial.entry_errors) == 1 and "/vide': no text" in partial.entry_errors[0]


def test_a_first_poll_that_fails_keeps_no_subscription(ingestion, news, settings):
    feeds = ingestion.feeds
    news.put("/broken.xml", "<rss><channel><item>", "application/rss+xml")
    with pytest.raises(FeedError, match=r"broken\.xml: not a readable feed"):
        feeds.subscribe(news.url("/broken.xml"))
    with pytest.raises(FeedError, match="not an RSS or Atom feed but html"):
        feeds.subscribe(news.url("/tram.html"))
    news.put("/empty.xml", rss("Vide", []), "application/rss+xml")
    with pytest.raises(FeedError, match="the feed has no entries"):
        feeds.subscribe(news.url("/empty.xml"))
    with pytest.raises(FeedError, match="not a feed address"):
        feeds.subscribe("ftp://example.org/feed")
    with pytest.raises(FeedError, match="the least is 1"):
        feeds.subscribe(news.url("/feed.xml"), interval_minutes=0.5)
    assert feeds.list() == []
    refusing = IngestionService(settings, make_test_service(settings).engines)
    with pytest.raises(FeedError, match="RAG_ALLOW_PRIVATE_URLS=true"):
        refusing.feeds.subscribe(news.url("/feed.xml"))


def test_two_pollers_on_one_file_never_poll_a_feed_at_once(ingestion, allowed, news):
    sub, _ = ingestion.feeds.subscribe(news.url("/feed.xml"))
    path = allowed.store.index_path
    # a second process's poller: its own connection to the same SQLite file
    other = Feeds(path, ingestion.ingestor, ingestion.fetch_options, 30)
    serve_feed(news, [item(news, "/tram.html", 11), item(news, "/phare.html", 13)], delay=0.5)
    store = FeedStore(path)
    store._conn().execute("UPDATE feeds SET next_poll = 0")  # due now
    before = len(news.hits("/feed.xml"))
    counts: list[int] = []
    barrier = threading.Barrier(2)

    def run(feeds: Feeds) -> None:
        barrier.wait()
        counts.append(feeds.poller.poll_due())

    threads = [threading.Thread(target=run, args=(f,)) for f in (ingestion.feeds, other)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(counts) == [0, 1]  # one of them polled it, the other found it taken or done
    assert len(news.hits("/feed.xml")) == before + 1
    # while one holds the lease, "poll now" elsewhere is refused, then allowed once released
    assert store.claim(sub.id, "elsewhere:1#x", due_only=False)
    with pytest.raises(FeedBusyError, match="being polled by elsewhere:1#x"):
        other.poll(sub.id)
    store.release(sub.id, "elsewhere:1#x")
    assert other.poll(sub.id).outcome in ("ok", "not modified")


def test_a_restart_resumes_from_the_table(allowed, news):
    first = IngestionService(allowed, make_test_service(allowed).engines)
    sub, _ = first.feeds.subscribe(news.url("/feed.xml"))
    # the process dies in the middle of a poll: its lease stays behind, the feed is due
    store = FeedStore(allowed.store.index_path)
    store._conn().execute(
        "UPDATE feeds SET next_poll = 0, lease_owner = ?, lease_until = ?",
        (f"{__import__('socket').gethostname()}:999999999#dead", time.time() + 600),
    )
    serve_feed(news, [item(news, "/tram.html", 11), item(news, "/phare.html", 13)])
    restarted = Feeds(store.path, first.ingestor, first.fetch_options, 30)
    assert [s.id for s in restarted.list()] == [sub.id]
    restarted.start()  # as `rag serve` does at start-up: due feeds are polled at once
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and restarted.get(sub.id).counts.get("added") != 1:
            time.sleep(0.1)
    finally:
        restarted.stop()
    after = restarted.get(sub.id)
    assert after.outcome == "ok" and after.counts["added"] == 1, after
    assert after.next_poll > time.time() + 25 * 60
    assert store.holder(sub.id) == ""  # released


def test_the_feeds_api(allowed, news):
    keyed = allowed.changed(api_keys="k" * 20)
    service = make_test_service(keyed)
    auth = {"Authorization": "Bearer " + "k" * 20}
    with TestClient(create_app(keyed, service)) as client:
        url = news.url("/feed.xml")
        assert client.post("/v1/feeds", json={"url": url}).status_code == 401
        r = client.post("/v1/feeds", json={"url": url, "interval_minutes": 5}, headers=auth)
        assert r.status_code == 201, r.text
        feed = r.json()
        assert feed["outcome"] == "ok" and feed["counts"]["added"] == 2
        assert feed["interval_minutes"] == 5 and "etag" not in feed
        again = client.post("/v1/feeds", json={"url": url}, headers=auth)
        assert again.status_code == 200 and again.json()["id"] == feed["id"]
        assert [f["id"] for f in client.get("/v1/feeds").json()["feeds"]] == [feed["id"]]
        assert client.get(f"/v1/feeds/{feed['id']}").json()["entries"] == 2
        polled = client.post(f"/v1/feeds/{feed['id']}/poll", headers=auth)
        assert polled.status_code == 200 and polled.json()["outcome"] == "not modified"
        docs = client.get("/v1/documents").json()["documents"]
        assert {d["feed"] for d in docs} == {url} and len(docs) == 2
        bad = client.post("/v1/feeds", json={"url": news.url("/tram.html")}, headers=auth).json()
        assert bad["detail"].startswith(news.url("/tram.html")) and "not an RSS" in bad["detail"]
        r = client.post("/v1/feeds", json={"url": url, "interval_minutes": 0}, headers=auth)
        assert r.status_code == 422
        assert client.delete(f"/v1/feeds/{feed['id']}").status_code == 401
        assert client.delete(f"/v1/feeds/{feed['id']}", headers=auth).json()["deleted"]
        assert client.get(f"/v1/feeds/{feed['id']}").status_code == 404
        assert client.post(f"/v1/feeds/{feed['id']}/poll", headers=auth).status_code == 404
        assert client.get("/v1/documents").json()["total"] == 2  # the documents stay


def test_rag_feeds_commands(monkeypatch, tmp_path, news, capsys):
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
        url = news.url("/feed.xml")
        assert main(["feeds", "add", url, "--interval", "5"]) == 0
        out = capsys.readouterr().out
        assert out.startswith("subscribed: 127.0.0.1-") and "every 5 min; 2 entries stored" in out
        feed_id = out.split()[1]
        assert main(["feeds", "list"]) == 0
        listed = capsys.readouterr().out
        assert url in listed and "ok (added 2, updated 0, unchanged 0, errors 0)" in listed
        serve_feed(news, [item(news, "/tram.html", 11), item(news, "/phare.html", 13)])
        assert main(["feeds", "poll", feed_id]) == 0
        assert "added 1" in capsys.readouterr().out
        assert main(["feeds", "add", url, "--interval", "0.5"]) == 1
        assert "the least is 1" in capsys.readouterr().err
        assert main(["feeds", "add", url, "--interval", "60"]) == 0  # known: a new interval
        out = capsys.readouterr().out
        assert out.startswith("already subscribed") and "every 60 min" in out
        assert main(["feeds", "remove", feed_id]) == 0
        assert "its documents stay" in capsys.readouterr().out
        assert main(["feeds", "remove", feed_id]) == 1
        assert main(["feeds", "list"]) == 0
        assert "no feed subscriptions" in capsys.readouterr().out
        assert main(["feeds", "add", news.url("/tram.html")]) == 1
        assert "not an RSS or Atom feed" in capsys.readouterr().err
    finally:
        get_settings.cache_clear()


def test_rag_feeds_and_rag_ingest_against_a_running_server(allowed, news, capsys):
    """`--url`: the same commands through the HTTP API of a running server."""
    from api.cli import main
    from tests.conftest import serving

    app = create_app(allowed, make_test_service(allowed))
    with serving(app) as url:
        assert main(["feeds", "--url", url, "add", news.url("/feed.xml"), "--interval", "5"]) == 0
        out = capsys.readouterr().out
        assert out.startswith("subscribed: ") and "2 entries stored" in out
        feed_id = out.split()[1]
        assert main(["feeds", "--url", url, "list"]) == 0
        assert news.url("/feed.xml") in capsys.readouterr().out
        serve_feed(news, [item(news, "/tram.html", 11), item(news, "/phare.html", 13)])
        assert main(["feeds", "--url", url, "poll"]) == 0
        assert "added 1" in capsys.readouterr().out
        assert main(["feeds", "--url", url, "remove", feed_id]) == 0
        assert main(["feeds", "--url", url, "remove", feed_id]) == 1
        assert f"404 no feed with id '{feed_id}'" in capsys.readouterr().err
        assert main(["feeds", "--url", url, "add", news.url("/tram.html")]) == 1
        assert "422" in capsys.readouterr().err
        # rag ingest --url with a URL: the server fetches it
        publish(
            news, "/ferry.html", "Le ferry de Roscoff partira désormais chaque matin à sept heures."
        )
        assert main(["ingest", "--url", url, news.url("/ferry.html")]) == 0
        err = capsys.readouterr().err
        assert "added" in err and news.url("/ferry.html") in err
        assert main(["ingest", "--url", url, news.url("/nowhere.html")]) == 1
        assert "HTTP 404" in capsys.readouterr().err
