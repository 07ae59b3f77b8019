"""What the model reads: each passage's best sentence and its neighbours, in rank order, after
one demonstrated turn."""

from __future__ import annotations

import re

import numpy as np

from rag.focus import focus_texts
from rag.prompting import build_messages
from rag.schema import Chunk, Passage


def _passage(text: str, chunk_id: str = "d#0", sentences: np.ndarray | None = None) -> Passage:
    chunk = Chunk(id=chunk_id, doc_id="d", title="T", text=text, start=0, end=len(text))
    return Passage(chunk, 1.0, sentences=sentences)


def test_focus_keeps_the_best_sentence_and_its_neighbours():
    sentences = [f"Phrase numéro {i} ici." for i in range(6)]
    vectors = np.zeros((6, 4), dtype=np.float32)
    vectors[3, 0] = 1.0  # sentence 3 is the one closest to the question
    p = _passage(" ".join(sentences), sentences=vectors)
    (text,) = focus_texts([p], [1.0, 0.0, 0.0, 0.0], window=1)
    assert text == "… Phrase numéro 2 ici. Phrase numéro 3 ici. Phrase numéro 4 ici. …"


def test_focus_keeps_short_or_unvectored_passages_whole():
    short = _passage("Une phrase. Deux phrases. Trois.", sentences=np.ones((3, 2), np.float32))
    long = _passage("A un. B deux. C trois. D quatre. E cinq.", "d#1")
    unaligned = _passage("A un. B deux. C trois. D quatre. E cinq.", "d#2", np.ones((3, 2)))
    texts = focus_texts([short, long, unaligned], [1.0, 0.0], window=1)
    # 3 sentences; no vectors; 3 vectors for 5 sentences
    assert texts == [short.chunk.text, long.chunk.text, unaligned.chunk.text]


def test_one_french_demonstration_precedes_the_question():
    messages = build_messages("Quand ?", [], "fr")
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    assert messages[2]["content"] == "La nouvelle ligne de bus ouvrira en mars [2]."
    assert "Answer in French" in messages[-1]["content"]


def test_a_question_is_embedded_once_per_answer(settings):
    """Focused context reads the question's vector again after retrieval: retrieval hands it
    over with the passages, so each answer embeds the question once."""
    from tests.conftest import SEED, ingest_into, make_test_service

    service = make_test_service(settings)
    ingest_into(service, settings, [SEED])
    embedded: list[str] = []
    embed = service.retriever.embedder.embed_queries

    def counting(texts):
        embedded.extend(texts)
        return embed(texts)

    service.retriever.embedder.embed_queries = counting
    question = "Quels sont les quatre objectifs de l’accord ?"
    service.ask(question)
    assert embedded.count(question) == 1
    service.ask(question)
    assert embedded.count(question) == 2


def test_the_eval_logs_the_draft_as_the_model_numbered_it(settings):
    """`rag bench reverify` checks a logged draft again against the logged passages: it needs
    the model's numbering. The model cites the last passage shown, which the client numbering
    calls [1]."""
    from evaluation.runner import OursInProcess
    from tests.conftest import SEED, ingest_into, make_test_service

    def cite_last(messages) -> str:
        """Copies the last source's first words, citing it: the passage that holds them."""
        blocks = re.findall(r"^\[(\d+)\] [^\n]*\n(.*)$", messages[-1].content, flags=re.M)
        number, body = blocks[-1]
        words = " ".join(body.replace("…", "").split()[:8])
        return f"{words} [{number}]."

    service = make_test_service(settings, cite_last)
    ingest_into(service, settings, [SEED])
    out = OursInProcess("ours", service).answer("Quels sont les quatre objectifs de l’accord ?")
    shown = len(out["passages"])
    assert shown >= 2
    assert out["model_draft"].endswith(f"[{shown}].") and out["answer"].endswith("[1].")


def test_the_best_passage_is_read_first(settings):
    from tests.conftest import SEED, ingest_into, make_test_service

    service = make_test_service(settings, lambda m: "The sources do not say.")
    ingest_into(service, settings, [SEED])
    for question in (
        "What are the four objectives of the agreement?",
        "Quels sont les quatre objectifs de l’accord ?",
    ):
        passages = service.context(question)
        service.ask(question)
        prompt = service.llm.calls[-1][-1].content
        first = re.split(r"\n\n(?=\[\d+\] )", prompt.split("Sources:\n", 1)[1])[0]
        assert first.split("\n", 2)[1][:40] in passages[0].chunk.text
