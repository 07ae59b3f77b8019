"""Quote-first drafts show only their answer; sentence-focused context keeps the best sentence."""

from __future__ import annotations

import numpy as np
import pytest

from rag.focus import focus_texts
from rag.prompting import NO_ANSWER, build_messages
from rag.quote import QuoteFilter
from rag.schema import Chunk, Passage


def _feed(pieces: list[str]) -> tuple[str, QuoteFilter]:
    f = QuoteFilter()
    shown = "".join(f.feed(p) for p in pieces) + f.flush()
    return shown, f


def test_the_quote_is_held_and_the_answer_streams():
    f = QuoteFilter()
    pieces = [
        "Qu",
        "ote [2",
        "]: La ligne ouvrira",
        " en mars.",
        "\nAns",
        "wer",
        ":",
        " La",
        " ligne",
    ]
    shown = [f.feed(p) for p in pieces]
    assert shown[:-2] == [""] * (len(pieces) - 2)  # nothing before "Answer:" is visible
    assert "".join(shown) == "La ligne"  # and the blank after the label is dropped
    assert f.feed(" ouvrira en mars [2].") == " ouvrira en mars [2]."
    assert f.quote == "Quote [2]: La ligne ouvrira en mars."


@pytest.mark.parametrize(
    "draft",
    ["Les sources ne le disent pas.", "The sources do not say.", "Le 3 mars [1]."],
)
def test_a_draft_without_a_quote_passes_through(draft):
    assert _feed([draft[:3], draft[3:]])[0] == draft


def test_a_french_answer_label_is_understood():
    shown, f = _feed(["Citation [1] : Il a 3 ans.\n", "Réponse : Trois ans [1]."])
    assert shown == "Trois ans [1]."
    assert f.quote.startswith("Citation [1]")


def test_a_quote_never_answered_becomes_the_cited_answer():
    assert _feed(["Quote [3]: Le pont mesure 40 m."])[0] == "Le pont mesure 40 m. [3]"


def test_quote_style_prompt_demonstrates_the_format():
    messages = build_messages("Quand ?", [], "fr", style="quote")
    assert "Quote [n]:" in messages[0]["content"]
    assert any(m["content"].startswith("Quote [2]:") for m in messages if m["role"] == "assistant")


def test_two_quote_demonstrations_keep_the_french_quote_and_abstention():
    messages = build_messages("Quand ?", [], "fr", style="quote", examples=2)
    answers = [m["content"] for m in messages if m["role"] == "assistant"]
    assert answers == [NO_ANSWER["fr"], answers[1]]
    assert answers[1].startswith("Quote [2]: Une nouvelle ligne de bus")


def _passage(text: str, chunk_id: str = "d#0") -> Passage:
    chunk = Chunk(id=chunk_id, doc_id="d", title="T", text=text, start=0, end=len(text))
    return Passage(chunk, 1.0)


def test_focus_keeps_the_best_sentence_and_its_neighbours():
    sentences = [f"Phrase numéro {i} ici." for i in range(6)]
    p = _passage(" ".join(sentences))
    vectors = np.zeros((6, 4), dtype=np.float16)
    vectors[3, 0] = 1.0  # sentence 3 is the one closest to the question
    (text,) = focus_texts([p], [1.0, 0.0, 0.0, 0.0], {"d#0": vectors}, window=1)
    assert text == "… Phrase numéro 2 ici. Phrase numéro 3 ici. Phrase numéro 4 ici. …"


def test_focus_can_show_less_of_the_passages_after_the_best_one():
    sentences = [f"Phrase numéro {i} ici." for i in range(6)]
    first, second = _passage(" ".join(sentences)), _passage(" ".join(sentences), "d#1")
    vectors = np.zeros((6, 4), dtype=np.float16)
    vectors[3, 0] = 1.0
    texts = focus_texts(
        [first, second], [1.0, 0.0, 0.0, 0.0], {"d#0": vectors, "d#1": vectors}, 1, 0
    )
    assert texts == [
        "… Phrase numéro 2 ici. Phrase numéro 3 ici. Phrase numéro 4 ici. …",
        "… Phrase numéro 3 ici. …",
    ]


def test_focus_keeps_short_or_unvectored_passages_whole():
    short = _passage("Une phrase. Deux phrases. Trois.")
    long = _passage("A un. B deux. C trois. D quatre. E cinq.")
    texts = focus_texts(
        [short, long], [1.0, 0.0], {"d#0": np.ones((3, 2), dtype=np.float16)}, window=1
    )
    assert texts == [short.chunk.text, long.chunk.text]  # 3 sentences; 3 vectors for 5 sentences


def test_fewer_demonstrations_drop_the_first_ones():
    full = build_messages("Quand ?", [], "fr")
    two = build_messages("Quand ?", [], "fr", examples=2)
    none = build_messages("Quand ?", [], "fr", examples=0)
    assert len(full) - len(two) == 2 and len(none) == 2  # system + the question
    assert two[1:] == full[3:]  # the English list demonstration went first


def test_a_question_is_embedded_once_per_answer(settings):
    """Focused context reads the question's vector again after retrieval: it is reused."""
    from tests.conftest import SEED, ingest_into, make_test_service

    service = make_test_service(settings.model_copy(update={"context": "sentences"}))
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
    service.ask(question)  # asked again: its vector is still known
    assert embedded.count(question) == 1


def test_demonstrations_can_follow_the_questions_language():
    fr_for_all = build_messages("When?", [], "en", examples=2)
    english = build_messages("When?", [], "en", examples=2, demos="question")
    assert "Qui est le maire ?" in fr_for_all[1]["content"]
    assert "Who is the mayor?" in english[1]["content"]
    assert "A new bus line will open in March." in english[1]["content"]
    assert english[2]["content"] == "The sources do not say."
    # a French question keeps the French turns either way
    assert build_messages("Quand ?", [], "fr", demos="question") == build_messages(
        "Quand ?", [], "fr"
    )


def test_short_answers_demonstrate_the_answering_words_alone():
    default = build_messages("Quand ?", [], "fr", examples=1)
    short = build_messages("Quand ?", [], "fr", examples=1, answers="short")
    assert default[2]["content"] == "La nouvelle ligne de bus ouvrira en mars [2]."
    assert short[2]["content"] == "En mars [2]."
    assert "Answer briefly in French" in short[-1]["content"]
    assert "Answer in French" in default[-1]["content"]
    # quote style keeps its own demonstrations: it already answers briefly after the quote
    quote = build_messages("Quand ?", [], "fr", "quote", examples=1, answers="short")
    assert quote == build_messages("Quand ?", [], "fr", "quote", examples=1)


def test_the_best_passage_can_sit_last_and_its_citation_still_points_to_it(settings):
    """A French question with `RAG_PROMPT_BEST_LAST=fr` reads the passages in reverse
    rank order, numbered as shown: a marker of the last number is the top-ranked passage, in
    the prompt and in the citations. Without the setting, the best passage comes first."""
    import re

    from tests.conftest import SEED, ingest_into, make_test_service

    def cite_last(messages) -> str:
        numbers = re.findall(r"^\[(\d+)\] ", messages[-1].content, flags=re.M)
        return f"L’accord comprend quatre objectifs [{numbers[-1]}]."

    question = "Quels sont les quatre objectifs de l’accord ?"
    ranked = {}
    for order, languages in (("best-first", ""), ("best-last", "fr")):
        update = {"prompt_best_last": languages}
        service = make_test_service(settings.model_copy(update=update), cite_last)
        if order == "best-first":
            ingest_into(service, settings, [SEED])
        passages = service.context(question)
        assert len(passages) >= 2
        ranked[order] = passages
        answer = service.ask(question)
        prompt = service.llm.calls[-1][-1].content
        blocks = re.split(r"\n\n(?=\[\d+\] )", prompt.split("Sources:\n", 1)[1])
        shown_last = blocks[-1].split("\n", 2)[1][:40]  # the first words of the last passage
        if order == "best-last":
            assert shown_last in passages[0].chunk.text  # the top-ranked one, next to the question
            (citation,) = answer.citations
            assert (citation.start, citation.end) == (
                passages[0].chunk.start,
                passages[0].chunk.end,
            )
        else:
            assert shown_last in passages[-1].chunk.text
    assert [p.chunk.id for p in ranked["best-first"]] == [p.chunk.id for p in ranked["best-last"]]


def test_the_eval_logs_the_draft_as_the_model_numbered_it(settings):
    """`rag bench reverify` checks a logged draft again against the logged passages: it needs
    the model's numbering. With the best passage last the model cites the last number, which
    the client numbering calls [1]."""
    import re

    from evaluation.runner import OursInProcess
    from tests.conftest import SEED, ingest_into, make_test_service

    def cite_last(messages) -> str:
        numbers = re.findall(r"^\[(\d+)\] ", messages[-1].content, flags=re.M)
        return f"L’accord comprend quatre objectifs [{numbers[-1]}]."

    service = make_test_service(settings.model_copy(update={"prompt_best_last": "fr"}), cite_last)
    ingest_into(service, settings, [SEED])
    out = OursInProcess("ours", service).answer("Quels sont les quatre objectifs de l’accord ?")
    shown = len(out["passages"])
    assert shown >= 2
    assert out["model_draft"].endswith(f"[{shown}].") and out["draft"].endswith("[1].")


def test_an_english_question_reads_the_best_passage_first(settings):
    import re

    from pydantic import ValidationError

    from rag.settings import Settings
    from tests.conftest import SEED, ingest_into, make_test_service

    service = make_test_service(settings, lambda m: "The sources do not say.")
    ingest_into(service, settings, [SEED])
    question = "What are the four objectives of the agreement?"
    passages = service.context(question)
    service.ask(question)
    prompt = service.llm.calls[-1][-1].content
    first = re.split(r"\n\n(?=\[\d+\] )", prompt.split("Sources:\n", 1)[1])[0]
    assert first.split("\n", 2)[1][:40] in passages[0].chunk.text
    with pytest.raises(ValidationError, match="unknown language"):
        Settings(prompt_best_last="fr,de")
