"""Time in questions and search filters, end to end with the stand-ins: a window read from
the question or given as a filter limits the vector and keyword searches themselves, the
answer reports it, an empty window says so and names it, and a corpus without publication
dates is searched as before."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient

from api.app import create_app
from rag.filters import Filters
from tests.conftest import SEED, ingest_into, make_test_service
from tests.test_news_metadata import export
from tests.test_streaming import parse_sse

NOW = "2021-06-10T12:00:00+02:00"


def _client(settings, tmp_path, script=None):
    service = make_test_service(settings, script or (lambda m: "Les sources ne le disent pas."))
    ingest_into(service, settings, [export(tmp_path)])
    return TestClient(create_app(settings, service)), service


def _titles(r) -> list[str]:
    return [p["title"] for p in r.json()["passages"]]


def test_filters_limit_the_searches_themselves(settings, tmp_path):
    client, _ = _client(settings, tmp_path)
    question = {"question": "Quel projet la Bretagne a-t-elle voté ?", "top_k": 5}
    assert len(_titles(client.post("/v1/retrieve", json=question))) == 3
    for filters, titles in [
        ({"outlets": ["Ouest-France"]}, ["Le tramway de Brest"]),
        ({"published_before": "2020-12-31"}, ["Le zinc breton"]),
        (
            {"published_after": "2021-01-01", "published_before": "2021-12-31"},
            ["Le tramway de Brest"],
        ),
        ({"languages": ["en"]}, []),
    ]:
        r = client.post("/v1/retrieve", json={**question, "filters": filters})
        assert r.status_code == 200 and _titles(r) == titles, (filters, r.json())
    bad = client.post(
        "/v1/retrieve",
        json={
            **question,
            "filters": {"published_after": "2021-01-01", "published_before": "2020-01-01"},
        },
    )
    assert bad.status_code == 422 and "published_after" in bad.text


def test_a_window_in_the_question_limits_the_search_and_is_reported(settings, tmp_path):
    seen = []

    def cite_first(messages) -> str:
        seen.append(messages[-1].content)
        return "La métropole de Brest a voté le prolongement du tramway [1]."

    client, _ = _client(settings, tmp_path, cite_first)
    body = client.post(
        "/v1/ask", json={"question": "Qu'a voté la Bretagne en juin dernier ?", "now": NOW}
    ).json()
    assert body["window"]["applied"] and body["window"]["expression"] == "en juin dernier"
    assert (body["window"]["after"], body["window"]["before"]) == ("2020-06-01", "2020-06-30")
    # June 2020 holds no article: said so, the window named, nothing read
    assert body["abstained"] and "juin 2020" in body["answer"], body
    assert [v["rule"] for v in body["verification"]] == ["nothing-in-window"] and seen == []
    body = client.post(
        "/v1/ask", json={"question": "Qu'a voté la métropole de Brest ce mois-ci ?", "now": NOW}
    ).json()
    assert body["window"]["before"] == "2021-06-10" and not body["abstained"], body
    assert [c["title"] for c in body["citations"]] == ["Le tramway de Brest"]
    assert "Say the date of each source you use." in seen[-1]  # the model is asked to date it
    # it did not: the answer dates what it relies on from the article's metadata
    assert body["answer"].startswith("La métropole de Brest a voté le prolongement du tramway")
    assert "Publié par Ouest-France le " in body["answer"] and body["answer"].endswith(" [1]."), (
        body["answer"]
    )
    asked = {"question": "Qu'a voté la métropole de Brest ce mois-ci ?", "now": NOW}
    streamed = client.post("/v1/ask", json={**asked, "stream": True}).text
    tokens = [d["text"] for name, d in parse_sse(streamed) if name == "token"]
    assert "".join(tokens) == body["answer"]  # streamed as answered


def test_the_latest_news_come_first(settings, tmp_path):
    _, service = _client(settings, tmp_path)
    from rag.answer.question import question_of

    q = question_of(
        [{"role": "user", "content": "Quelles sont les dernières nouvelles de Bretagne ?"}],
        date(2021, 6, 10),
    )
    found = service.search(q)
    assert found.recency and found.passages[0].chunk.title == "Le tramway de Brest"


def test_a_corpus_without_dates_is_searched_as_before(settings):
    service = make_test_service(settings)
    ingest_into(service, settings, [SEED])
    from rag.answer.question import question_of

    plain = question_of(
        [{"role": "user", "content": "Qu'a signé Emmanuel Macron en novembre 2023 ?"}]
    )
    timed = question_of((*plain.history, {"role": "user", "content": plain.text}), date(2026, 1, 1))
    a, b = service.search(plain), service.search(timed)
    assert timed.time.window is not None and b.window is None and not b.filters
    assert [p.chunk.id for p in a.passages] == [p.chunk.id for p in b.passages]


def test_filters_combine_with_the_window():
    f = Filters(date(2020, 1, 1), date(2020, 12, 31), ("Le Monde",))
    narrowed = f.narrowed(date(2020, 6, 1), date(2021, 6, 30))
    assert (narrowed.published_after, narrowed.published_before) == (
        date(2020, 6, 1),
        date(2020, 12, 31),
    )
    assert narrowed.where() == {
        "$and": [
            {"published_day": {"$gte": 20200601}},
            {"published_day": {"$lte": 20201231}},
            {"outlet": {"$in": ["Le Monde"]}},
        ]
    }


def test_an_outlet_named_in_the_question_limits_the_search(settings, tmp_path):
    from rag.answer.question import question_of
    from rag.answer.who import outlets_named

    known = ["Le Monde", "Le Monde diplomatique", "Ouest-France", "Le Télégramme"]
    assert outlets_named("Qu'a écrit Le Monde sur la retraite ?", known) == ("Le Monde",)
    assert outlets_named("Selon le Monde diplomatique, que dit-il ?", known) == (
        "Le Monde diplomatique",
    )
    assert outlets_named("Que dit le Telegramme du zinc ?", known) == ("Le Télégramme",)
    # a common phrase is not a name: its capitals must be written
    assert outlets_named("Le projet le plus cher du monde entier ?", known) == ()
    assert outlets_named("qu'a dit ouest-france ?", known) == ()

    client, service = _client(settings, tmp_path)
    question = "Quel projet la Bretagne a-t-elle voté selon Ouest-France ?"
    body = client.post("/v1/ask", json={"question": question}).json()
    assert body["outlets"] == ["Ouest-France"], body
    asked = question_of([{"role": "user", "content": question}])
    assert {p.chunk.outlet for p in service.search(asked, 5).passages} == {"Ouest-France"}
    # filters given with the request win over the name in the question
    given = service.search(asked, 5, Filters(outlets=("Le Télégramme",)))
    assert {p.chunk.outlet for p in given.passages} == {"Le Télégramme"}
