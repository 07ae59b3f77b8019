"""Every citation names the sentences of its passage that support the claims citing it."""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.app import create_app
from tests.conftest import SEED, ingest_into, make_test_service
from tests.test_api import objectives_or_edf


def client_for(settings, script) -> TestClient:
    service = make_test_service(settings, script)
    ingest_into(service, settings, [SEED])
    return TestClient(create_app(settings, service))


def passage_number(messages, needle: str) -> int:
    import re

    user = messages[-1].content
    blocks = re.split(r"\n\n(?=\[\d+\] )", user.split("Sources:\n", 1)[1])
    return next(int(b[1 : b.index("]")]) for b in blocks if needle in b)


def test_each_claim_highlights_the_sentence_that_says_it(settings):
    def script(messages) -> str:
        n = passage_number(messages, "quatre objectifs")
        return (
            f"L’accord comprend quatre objectifs, dont la coopération en géologie et "
            f"exploration [{n}]. Les autres sont les projets miniers conjoints et l’attraction "
            f"de capitaux [{n}]."
        )

    client = client_for(settings, script)
    body = client.post("/v1/ask", json={"question": "Que comprend l'accord ?"}).json()
    (citation,) = body["citations"]
    source = SEED.read_text()
    marked = [source[h["start"] : h["end"]] for h in citation["highlights"]]
    assert len(marked) == 2, marked
    assert marked[0].startswith("Cet accord comprend quatre objectifs principaux")
    assert marked[1].startswith("Les autres objectifs incluent")
    for h in citation["highlights"]:  # inside the passage, and whole sentences
        assert citation["start"] <= h["start"] < h["end"] <= citation["end"]
        assert source[h["end"] - 1] in ".!?…"


def test_a_passage_cited_by_one_claim_highlights_one_sentence(settings):
    def script(messages) -> str:
        n = objectives_or_edf(messages)
        return f"EDF est un partenaire potentiel pour la première centrale nucléaire [{n}]."

    body = client_for(settings, script).post("/v1/ask", json={"question": "Quel rôle pour EDF ?"})
    (citation,) = body.json()["citations"]
    (h,) = citation["highlights"]
    assert "EDF" in SEED.read_text()[h["start"] : h["end"]]


def test_an_abstention_has_no_citation_to_highlight(settings):
    body = client_for(settings, lambda m: "Les sources ne le disent pas.").post(
        "/v1/ask", json={"question": "Quelle est la capitale du Pérou ?"}
    )
    assert body.json()["citations"] == []
