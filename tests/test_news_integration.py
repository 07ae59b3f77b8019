"""A feed kept current, with the real models (`-m integration`, minutes).

A local server serves an RSS feed (an aggregator's: each item names its outlet) whose entries
link to real article pages (the shared news-pages data, served from memory, never copied into
the project). `rag serve` (real embedder and LLM, RAG_ALLOW_PRIVATE_URLS=true to reach the
local server) subscribes to it: the pages are fetched, extracted and ingested; a question
about one is answered and cited with its outlet and date. Then the feed changes (one entry
added, one edited: its page and its summary) and after the next poll (POST /v1/feeds/ID/poll,
what the interval would do) the new article is answered and the edited one answers with its
new text. What was asked and answered goes to artifacts/news-integration.json.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import ROOT, SHARED_DATA, LiveServer
from tests.news_server import NewsServer, rss

PAGES = SHARED_DATA / "news-pages"
TRANSCRIPT = ROOT / "artifacts" / "news-integration.json"

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not (PAGES / "expected.json").exists(),
        reason=f"needs the real news pages of the shared data ({PAGES}; see its README): absent",
    ),
]

# page file -> (path served, outlet named by the feed item, the item's date)
ENTRIES = {
    "gala.fr.surnom.html": ("/gala/delevoye.html", "Gala", "Mon, 09 Dec 2019 10:08:21 +0100"),
    "abc7news.com-Napa.html": (
        "/abc7/margaritaville.html",
        "ABC7 News",
        "Wed, 08 Nov 2023 23:32:00 -0800",
    ),
    "dw.com-elephants.html": (
        "/dw/elephants.html",
        "Deutsche Welle",
        "Mon, 23 May 2011 12:00:00 +0200",
    ),
    "californiaglobe.com.amazon.html": (
        "/globe/amazon.html",
        "California Globe",
        "Fri, 14 Aug 2020 14:30:04 -0700",
    ),
}
FIRST = ["gala.fr.surnom.html", "abc7news.com-Napa.html", "dw.com-elephants.html"]
ADDED = "californiaglobe.com.amazon.html"
EDITED = "abc7news.com-Napa.html"


def item(news: NewsServer, page: str, summary: str = "") -> dict[str, str]:
    path, outlet, date = ENTRIES[page]
    title = json.loads((PAGES / "expected.json").read_text())[page]["title"]
    return {
        "title": title,
        "link": news.url(path),
        "guid": f"urn:revue:{page}",
        "pubDate": date,
        "description": summary or f"{title} ({outlet})",
        "source": outlet,
    }


def publish_feed(news: NewsServer, items: list[dict[str, str]]) -> str:
    return news.put("/revue.xml", rss("Revue de presse", items), "application/rss+xml")


@pytest.fixture(scope="module")
def news() -> Iterator[NewsServer]:
    with NewsServer() as server:
        for page, (path, _, _) in ENTRIES.items():
            server.put(path, (PAGES / page).read_bytes(), "text/html")
        publish_feed(server, [item(server, p) for p in FIRST])
        yield server


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[LiveServer]:
    env = {
        "RAG_LLM": "llama-cpp",
        "RAG_EMBEDDER": "sentence-transformers",
        "RAG_ALLOW_PRIVATE_URLS": "true",  # the feed and its pages are on 127.0.0.1
    }
    live = LiveServer(tmp_path_factory.mktemp("news-live"), env=env, ingest=()).wait_ready()
    health = httpx.get(f"{live.url}/healthz", timeout=10).json()
    assert health["llm"] == "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf", health
    assert health["embedder"] == "multilingual-e5-small", health
    yield live
    live.stop()


def ask(client: httpx.Client, question: str, transcript: list[dict]) -> dict:
    r = client.post("/v1/ask", json={"question": question})
    assert r.status_code == 200, r.text
    body = r.json()
    transcript.append(
        {
            "question": question,
            "answer": body["answer"],
            "abstained": body["abstained"],
            "citations": [
                {
                    k: c[k]
                    for k in (
                        "n",
                        "doc_id",
                        "title",
                        "outlet",
                        "published",
                        "authors",
                        "url",
                        "text",
                    )
                }
                for c in body["citations"]
            ],
        }
    )
    return body


def cited(body: dict, doc_id: str) -> dict:
    matching = [c for c in body["citations"] if c["doc_id"] == doc_id]
    assert matching, (doc_id, body["answer"], [c["doc_id"] for c in body["citations"]])
    return matching[0]


def test_a_subscribed_feed_is_answered_and_kept_current(server, news):
    transcript: list[dict] = []
    try:
        with httpx.Client(base_url=server.url, timeout=900) as client:
            run(client, news, transcript)
    finally:
        TRANSCRIPT.parent.mkdir(parents=True, exist_ok=True)
        TRANSCRIPT.write_text(json.dumps(transcript, ensure_ascii=False, indent=2) + "\n")


def run(client: httpx.Client, news: NewsServer, transcript: list[dict]) -> None:
    r = client.post("/v1/feeds", json={"url": news.url("/revue.xml")})
    assert r.status_code == 201, r.text
    feed = r.json()
    transcript.append({"subscribed": feed})
    assert feed["outcome"] == "ok" and feed["counts"]["added"] == 3, feed
    docs = {d["url"]: d for d in client.get("/v1/documents").json()["documents"]}
    by_page = {
        page: docs[news.url(path)] for page, (path, _, _) in ENTRIES.items() if page in FIRST
    }
    gala = by_page["gala.fr.surnom.html"]
    assert (gala["outlet"], gala["published"]) == ("Gala", "2019-12-09T10:08:21+01:00")
    assert gala["feed"] == news.url("/revue.xml") and gala["passages"] > 0

    # a question about one entry: answered, cited with its outlet and date
    body = ask(client, "Quel surnom Jacques Chirac donnait-il à Jean-Paul Delevoye ?", transcript)
    assert not body["abstained"] and "grand con" in body["answer"].lower(), body["answer"]
    citation = cited(body, gala["doc_id"])
    assert (citation["outlet"], citation["published"]) == ("Gala", "2019-12-09T10:08:21+01:00")
    assert citation["url"] == news.url("/gala/delevoye.html")
    napa = by_page[EDITED]
    question = "How much would the Margaritaville group invest at Lake Berryessa?"
    body = ask(client, question, transcript)
    assert "95" in body["answer"], body["answer"]
    assert cited(body, napa["doc_id"])["outlet"] == "ABC7 News"

    # the feed changes: one entry added, one edited (its page and its summary)
    path = ENTRIES[EDITED][0]
    news.put(path, news.resources[path].body.replace(b"95 million", b"120 million"), "text/html")
    publish_feed(
        news,
        [
            item(news, ADDED),
            item(news, "gala.fr.surnom.html"),
            item(news, EDITED, "Updated: the Margaritaville investment is now $120 million."),
            item(news, "dw.com-elephants.html"),
        ],
    )
    r = client.post(f"/v1/feeds/{feed['id']}/poll")
    assert r.status_code == 200, r.text
    polled = r.json()
    transcript.append({"polled": polled})
    assert polled["outcome"] == "ok", polled
    assert {k: polled["counts"][k] for k in ("added", "updated", "unchanged", "errors")} == {
        "added": 1,
        "updated": 1,
        "unchanged": 2,
        "errors": 0,
    }, polled

    docs = {d["url"]: d for d in client.get("/v1/documents").json()["documents"]}
    globe = docs[news.url(ENTRIES[ADDED][0])]
    assert docs[news.url(path)]["doc_id"] == napa["doc_id"]  # edited in place
    body = ask(
        client,
        "Which court ruled that Amazon can be held liable for defective products sold by "
        "third-party sellers?",
        transcript,
    )
    assert not body["abstained"] and "court of appeal" in body["answer"].lower(), body["answer"]
    citation = cited(body, globe["doc_id"])
    assert (citation["outlet"], citation["published"]) == (
        "California Globe",
        "2020-08-14T14:30:04-07:00",
    )
    body = ask(client, question, transcript)
    assert "120" in body["answer"] and "95" not in body["answer"], body["answer"]
    cited(body, napa["doc_id"])
