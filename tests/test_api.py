"""HTTP API with the scripted LLM and hashing embedder (fast, deterministic)."""

import re

from fastapi.testclient import TestClient

from api.app import create_app
from tests.conftest import SEED, ingest_into, make_test_service


def objectives_script(messages) -> str:
    user = messages[-1].content
    # cite the passage that holds the objectives, plus an out-of-range marker to be dropped
    blocks = re.split(r"\n\n(?=\[\d+\] )", user.split("Sources:\n", 1)[1])
    n = next(int(b[1 : b.index("]")]) for b in blocks if "quatre objectifs" in b)
    return f"The four objectives are geology and exploration [{n}], mining projects [{n}][9]."


def client_for(settings, script=None, ingest=True) -> TestClient:
    service = make_test_service(settings, script)
    if ingest:
        ingest_into(service, settings, [SEED])
    return TestClient(create_app(settings, service))


def test_ask_returns_only_cited_passages_renumbered(settings):
    client = client_for(settings, objectives_script)
    r = client.post("/v1/ask", json={"question": "What are the agreement's four objectives?"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["answer"] == (
        "The four objectives are geology and exploration [1], mining projects [1]."
    )
    assert len(body["citations"]) == 1
    c = body["citations"][0]
    assert c["n"] == 1 and c["doc_id"] == SEED.stem
    assert "quatre objectifs principaux" in c["text"]
    assert SEED.read_text()[c["start"] : c["end"]] == c["text"]
    assert body["language"] == "en" and body["abstained"] is False
    assert body["timings"]["prompt_tokens"] > 0


def test_a_made_up_number_is_dropped_and_reported(settings):
    def script(messages) -> str:
        n = objectives_or_edf(messages)
        return (
            f"EDF could build the first nuclear power plant [{n}]. "
            f"Kazakhstan has 17 million inhabitants [{n}]."
        )

    client = client_for(settings, script)
    body = client.post("/v1/ask", json={"question": "What role could EDF play?"}).json()
    assert body["answer"] == "EDF could build the first nuclear power plant [1]."
    assert body["verification"] == [
        {
            "rule": "number-in-sources",
            "claim": "Kazakhstan has 17 million inhabitants.",
            "action": "drop",
            "reason": "number 17 found in no passage",
        }
    ]


def test_abstention_cites_nothing(settings):
    client = client_for(settings, lambda m: "Les sources ne le disent pas. [2]")
    r = client.post("/v1/ask", json={"question": "Quelle est la capitale du Pérou ?"})
    body = r.json()
    assert body["answer"] == "Les sources ne le disent pas."
    assert body["citations"] == [] and body["abstained"] is True


def test_bad_questions_get_422_with_a_reason(settings):
    client = client_for(settings, ingest=False)
    for payload, reason in [
        ({"question": ""}, "empty"),
        ({"question": "   \n\t"}, "empty"),
        ({"question": "x" * 2001}, "limit is 2000"),
        ({}, "Field required"),
        ({"question": "ok?", "top_k": 0}, "greater than or equal to 1"),
    ]:
        r = client.post("/v1/ask", json=payload)
        assert r.status_code == 422, payload
        assert reason in r.text
    r = client.post("/v1/ask", content=b"not json", headers={"content-type": "application/json"})
    assert r.status_code == 422


def test_empty_corpus_gets_a_clear_answer(settings):
    client = client_for(settings, ingest=False)
    body = client.post("/v1/ask", json={"question": "Qui a signé l'accord ?"}).json()
    assert "Aucun article" in body["answer"] and body["citations"] == []


def test_health_documents_and_docs(settings):
    client = client_for(settings)
    health = client.get("/healthz").json()
    assert health["status"] == "ok" and health["documents"] == 1 and health["passages"] >= 3
    page = client.get("/v1/documents").json()
    docs = page["documents"]
    assert page["total"] == 1 and page["offset"] == 0
    assert docs[0]["doc_id"] == SEED.stem and docs[0]["passages"] == health["passages"]
    assert docs[0]["state"] == "ready" and docs[0]["source"] == str(SEED.resolve())
    full = client.get(f"/v1/documents/{SEED.stem}").json()
    assert full["text"] == SEED.read_text()
    assert client.get("/v1/documents/nope").status_code == 404
    assert client.get("/docs").status_code == 200
    assert "/v1/ask" in client.get("/openapi.json").json()["paths"]


def test_uncited_claims_get_the_passage_that_clearly_supports_them(settings):
    def script(messages) -> str:
        # no markers at all; the claim repeats the objectives paragraph in its own words
        return (
            "L’accord comprend quatre objectifs principaux, dont la coopération en géologie "
            "et exploration. Il ne précise rien sur la météo."
        )

    client = client_for(settings, script)
    body = client.post("/v1/ask", json={"question": "Que comprend l'accord ?"}).json()
    # the first claim gets its source; the second, found in no source, is dropped
    assert body["answer"] == (
        "L’accord comprend quatre objectifs principaux, dont la coopération en géologie "
        "et exploration [1]."
    )
    assert len(body["citations"]) == 1
    assert "quatre objectifs principaux" in body["citations"][0]["text"]


def test_answer_in_the_wrong_language_is_translated_keeping_markers(settings):
    def script(messages) -> str:
        if messages[0].content.startswith("Translate the user's text into English"):
            return "EDF could build the first nuclear power plant in Kazakhstan [1]."
        n = objectives_or_edf(messages)
        return f"EDF est partenaire potentiel pour la première centrale nucléaire [{n}]."

    client = client_for(settings, script)
    body = client.post("/v1/ask", json={"question": "What role could EDF play?"}).json()
    assert body["answer"] == "EDF could build the first nuclear power plant in Kazakhstan [1]."
    assert "EDF" in body["citations"][0]["text"] and body["language"] == "en"


def objectives_or_edf(messages) -> int:
    user = messages[-1].content
    blocks = re.split(r"\n\n(?=\[\d+\] )", user.split("Sources:\n", 1)[1])
    return next(int(b[1 : b.index("]")]) for b in blocks if "EDF" in b)


def test_retrieve_returns_passages_without_generating(settings):
    client = client_for(settings)
    r = client.post("/v1/retrieve", json={"question": "Quels objectifs ?", "top_k": 3})
    assert r.status_code == 200, r.text
    passages = r.json()["passages"]
    assert len(passages) == 3
    assert all(SEED.read_text()[p["start"] : p["end"]] == p["text"] for p in passages)
    assert client.post("/v1/retrieve", json={"question": " "}).status_code == 422
    assert client.app.state.service.llm.calls == []  # nothing was generated


def test_a_translation_that_drops_the_markers_gets_them_back_claim_by_claim(settings):
    def script(messages) -> str:
        if messages[0].content.startswith("Translate the user's text into English"):
            return "EDF is a potential partner. It could build the first nuclear plant."
        n = objectives_or_edf(messages)
        return (
            f"EDF est un partenaire potentiel [{n}]. "
            f"Elle pourrait construire la première centrale nucléaire [{n}]."
        )

    client = client_for(settings, script)
    body = client.post("/v1/ask", json={"question": "What role could EDF play?"}).json()
    assert body["answer"] == (
        "EDF is a potential partner [1]. It could build the first nuclear plant [1]."
    )


def test_the_model_reads_only_passages_close_to_the_best_one(settings):
    prompts: list[str] = []

    def script(messages) -> str:
        prompts.append(messages[-1].content)
        return "Les sources ne le disent pas."

    def sources_read(relative_score: float, minimum: int = 1) -> int:
        prompts.clear()
        update = {"relative_score": relative_score, "min_passages": minimum}
        client = client_for(settings.changed(**update), script)
        client.post("/v1/ask", json={"question": "Quels sont les quatre objectifs ?"})
        return len(re.findall(r"(?m)^\[\d+\] ", prompts[-1]))

    assert sources_read(0.0) == 5  # every one of top_k
    assert sources_read(1.0) == 1  # the best alone: nothing else scores as high
    assert sources_read(1.0, minimum=2) == 2  # never fewer than the minimum
