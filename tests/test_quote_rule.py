"""The `quote` rule (rag.verify.quoted): a quote-first draft's quote must copy a sentence of
the sources, and (with `quote_min_similarity`) one that is about the question."""

from __future__ import annotations

import numpy as np

from rag.schema import Chunk, Passage
from rag.settings import VerifySettings
from rag.verify import verify
from rag.verify.quoted import quoted_sentence

SOURCES = [
    "Le conseil municipal s’est réuni lundi. La nouvelle ligne de tram coûtera 240 millions "
    "d’euros et ouvrira en 2027.",
    "Le maire a inauguré une école. Les travaux ont duré deux ans.",
]
QUESTION = "Combien coûtera la ligne de tram ?"


def passages() -> list[Passage]:
    return [
        Passage(Chunk(f"c{i}", f"d{i}", t, 0, len(t), f"T{i}", language="fr"), 1.0)
        for i, t in enumerate(SOURCES, 1)
    ]


class _TopicEmbedder:
    """A vector per topic word: the tram question is close to the tram sentence only."""

    topics = ("tram", "école", "maire")

    def embed_queries(self, texts):
        rows = [[float(w in t.lower()) for w in self.topics] for t in texts]
        m = np.asarray(rows, dtype=np.float32) + 1e-6
        return m / np.linalg.norm(m, axis=1, keepdims=True)

    embed_passages = embed_queries


def check(quote: str, draft: str, **settings):
    return verify(
        draft, passages(), QUESTION, "fr", VerifySettings(**settings), _TopicEmbedder(), quote
    )


def test_the_quoted_sentence_is_found_in_the_sources():
    sentence, share = quoted_sentence(
        "Quote [1]: La nouvelle ligne de tram coûtera 240 millions d’euros", SOURCES
    )
    assert sentence.startswith("La nouvelle ligne de tram") and share == 1.0


def test_a_quote_of_the_answering_sentence_lets_the_answer_through():
    v = check(
        "Quote [1]: La nouvelle ligne de tram coûtera 240 millions d’euros et ouvrira en 2027.",
        "La ligne de tram coûtera 240 millions d’euros [1].",
        quote_min_similarity=0.9,
    )
    assert not v.abstained and v.text == "La ligne de tram coûtera 240 millions d’euros [1]."
    assert [d.action for d in v.decisions if d.rule == "quote"] == ["keep"]


def test_a_quote_the_sources_do_not_hold_abstains():
    # a 1.5B model "quotes" a figure it made up, then answers from it
    v_off = frozenset({"number-in-sources", "number-in-cited-passage"})
    v = check(
        "Quote [1]: Le tram coûtera 300 millions selon la région, qui finance le projet.",
        "La ligne de tram coûtera 300 millions [1].",
        rules_off=v_off,
        quote_found=0.8,
    )
    assert v.abstained and v.text == "Les sources ne le disent pas."
    assert [d.rule for d in v.decisions if d.action == "abstain"] == ["quote"]
    default = check(v.quote, "La ligne de tram coûtera 300 millions [1].", rules_off=v_off)
    assert not default.abstained  # quote_found 0 (the default): not checked


def test_a_quote_not_about_the_question_abstains_when_asked_to():
    quote = "Quote [2]: Le maire a inauguré une école."
    draft = "Le maire a inauguré une école [2]."
    strict = check(quote, draft, quote_min_similarity=0.5)
    assert strict.abstained and "not about the question" in strict.decisions[-1].reason
    assert not check(quote, draft).abstained  # 0: similarity not checked
    off = check(quote, draft, quote_min_similarity=0.5, rules_off=frozenset({"quote"}))
    assert not off.abstained


def test_the_service_declines_before_showing_an_answer_to_an_off_topic_quote(settings):
    from tests.conftest import SEED, ingest_into, make_test_service

    def script(messages) -> str:
        return "Quote [1]: Le président a reçu une délégation.\nAnswer: Une délégation [1]."

    checked = {"prompt_style": "quote", "verify_quote_found": 0.8}
    service = make_test_service(settings.model_copy(update=checked), script)
    ingest_into(service, settings, [SEED])
    streamed = []
    answer = None
    for event in service.stream([{"role": "user", "content": "Combien coûte le projet ?"}]):
        if event.kind == "token":
            streamed.append(event.text)
        if event.kind == "done":
            answer = event.answer
    assert answer is not None and answer.abstained
    assert "".join(streamed) == answer.answer == "Les sources ne le disent pas."
    assert any(d["rule"] == "quote" and d["action"] == "abstain" for d in answer.verification)
