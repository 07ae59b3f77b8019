"""Questions about the collection (« Quels médias ont parlé de … ? », "How many articles
mention …?") are answered from the articles themselves, without the model: every article
that speaks of the topic is listed with its outlet and date and cited by its passage, reprints
included; a topic no article speaks of says so."""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.app import create_app
from rag.answer.collection import COLLECTION, CollectionAsk, collection_ask
from rag.answer.when import day_in_words
from tests.conftest import SEED, ingest_into, make_test_service
from tests.test_reprints_in_answers import _export


def test_collection_questions_are_recognised_in_french_and_english():
    assert collection_ask("Combien d'articles mentionnent EDF ?", "fr") == CollectionAsk(
        "how_many", "EDF"
    )
    assert collection_ask("Quels médias ont parlé de l’accord ?", "fr") == CollectionAsk(
        "outlets", "l’accord", "de"
    )
    assert collection_ask("Quels articles parlent du titane ?", "fr") == CollectionAsk(
        "which", "titane", "du"
    )
    assert collection_ask("Which outlets reported the agreement?", "en") == CollectionAsk(
        "outlets", "the agreement"
    )
    assert collection_ask("How many articles mention EDF?", "en").kind == "how_many"
    # questions about the news, not the collection, and a list with no topic
    for question, language in [
        ("Quel est le rôle du délégué interministériel ?", "fr"),
        ("Quels sont les quatre objectifs de l'accord ?", "fr"),
        ("Quels articles parlent ?", "fr"),
        ("Which minerals does the agreement cover?", "en"),
    ]:
        assert collection_ask(question, language) is None, question


def test_the_answer_says_the_topic_in_good_french():
    said = {
        "Combien d'articles mentionnent EDF ?": "d’EDF",
        "Combien d'articles parlent des éléphants ?": "des éléphants",
        "Quels articles portent sur le titane ?": "du titane",
        "Listez les articles sur la guerre": "de la guerre",
        "Quels médias ont parlé de l'accord ?": "de l'accord",
    }
    for question, words in said.items():
        assert collection_ask(question, "fr").of_topic() == words, question


def test_dates_are_written_in_the_question_language():
    assert day_in_words("2024-03-01", "fr") == "1er mars 2024"
    assert day_in_words("2024-03-01T10:00:00+00:00", "en") == "1 March 2024"
    assert day_in_words("", "fr") == ""


def _never(messages) -> str:
    raise AssertionError("a question about the collection does not need the model")


def test_outlets_are_listed_with_their_passages_reprints_included(settings, tmp_path):
    service = make_test_service(settings, _never)
    ingest_into(service, settings, [_export(tmp_path), SEED])
    with TestClient(create_app(settings, service)) as client:
        asked = {"question": "Quels médias ont parlé de la mine de zinc de Plouguerneau ?"}
        body = client.post("/v1/ask", json=asked).json()
        outlets = {c["outlet"] for c in body["citations"]}
        assert outlets == {"Le Télégramme", "Ouest-France"}, body
        assert "Le Télégramme" in body["answer"] and "Ouest-France" in body["answer"]
        assert all("Plouguerneau" in c["text"] for c in body["citations"])
        assert [v["rule"] for v in body["verification"]] == [COLLECTION], body

        counted = client.post(
            "/v1/ask", json={"question": "Combien d'articles parlent du ferry de Roscoff ?"}
        ).json()
        assert counted["answer"].startswith("1 article parle du ferry de Roscoff"), counted
        (cited,) = counted["citations"]
        assert "7 mars 2024" in counted["answer"] and "Roscoff" in cited["text"]

        # articles with no outlet are listed by title; a person is found by their name
        named = client.post(
            "/v1/ask", json={"question": "Quels médias ont parlé de Monsieur Gallezot ?"}
        ).json()
        assert named["answer"].startswith("Les articles qui parlent de Monsieur Gallezot : «")
        assert "Gallezot" in named["citations"][0]["text"]
        both = client.post(
            "/v1/ask", json={"question": "Quels médias ont parlé de minerai ?"}
        ).json()
        assert "sans média indiqué" in both["answer"] and "Ouest-France" in both["answer"], both

        none = client.post(
            "/v1/ask", json={"question": "Quels articles parlent du cobalt congolais ?"}
        ).json()
        assert none["answer"] == "Aucun article ne parle du cobalt congolais."
        assert none["citations"] == []
