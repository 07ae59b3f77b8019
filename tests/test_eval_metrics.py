"""The evaluation instrument itself, on hand-made cases: if these fail, no number can be trusted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evaluation.datasets import load_dataset, paragraph_id, sample
from evaluation.metrics import (
    CitedPassage,
    contains_answer,
    looks_like_abstention,
    markers,
    normalize,
    percentile,
    rank_of,
    recall_at,
    reciprocal_rank,
    score_answer,
    summarize_ranks,
    token_f1,
)
from evaluation.runner import summarize_answers

GOLD = CitedPassage("p-gold", "Le traité a été signé à Versailles le 28 juin 1919.")
OTHER = CitedPassage("p-other", "La conférence de la paix s'ouvre en janvier 1919.")


def test_normalisation_folds_case_accents_punctuation_and_articles():
    assert normalize("L’Élysée, à Paris !") == "elysee paris"  # "à" folds to the article "a"
    assert normalize("les États-Unis d'Amérique") == "etats unis amerique"
    assert normalize("The United States [1].") == "united states"
    assert normalize("«  Une  »   réponse…") == "reponse"


def test_containment_matches_whole_words_only():
    assert contains_answer("Il a été signé à Versailles [1].", ["versailles"])
    assert contains_answer("En l'an 1919, à VERSAILLES.", ["le 1919", "Versailles"])
    assert not contains_answer("Il a été signé à Versaillesville.", ["Versailles"])
    assert not contains_answer("Aucune idée.", ["Versailles"])
    assert not contains_answer("N'importe quoi", [""])


def test_token_f1_is_squad_f1_with_our_folding():
    assert token_f1("le 28 juin 1919", ["28 juin 1919"]) == 1.0
    assert token_f1("Paris", ["Versailles"]) == 0.0
    # 2 common tokens, precision 2/4, recall 2/2
    assert token_f1("signé 28 juin Versailles", ["28 juin"]) == pytest.approx(2 / 3)
    assert token_f1("x", ["wrong", "x"]) == 1.0  # best over the references


def test_ranks_recall_and_mrr():
    assert rank_of(["a", "b", "gold", "gold"], "gold") == 3
    assert rank_of(["a", "b"], "gold") is None
    assert recall_at(3, 3) == 1.0 and recall_at(3, 2) == 0.0 and recall_at(None, 10) == 0.0
    assert reciprocal_rank(4) == 0.25 and reciprocal_rank(None) == 0.0
    s = summarize_ranks([1, 2, None, 11], ks=(1, 5, 10), depth=10)
    assert s.recall == {1: 0.25, 5: 0.5, 10: 0.5}
    assert s.mrr == pytest.approx((1 + 0.5) / 4)


def test_markers_are_all_found():
    assert markers("a [1] b [2, 3] c [Source 4] d [1][2] e 【5】") == [1, 2, 3, 4, 1, 2, 5]
    assert markers("sans marqueur, en 1919") == []


def test_a_perfect_answer():
    s = score_answer("Il a été signé à Versailles [1].", ["Versailles"], [GOLD], 1, "p-gold")
    assert (s.contains, s.f1 > 0, s.cites_gold) == (1.0, True, 1.0)
    assert (s.n_markers, s.invalid_markers, s.cited_with_answer, s.cited) == (1, 0, 1, 1)


def test_a_wrong_answer_citing_the_wrong_passage():
    s = score_answer("Elle s'ouvre à Paris [1].", ["Versailles"], [OTHER], 1, "p-gold")
    assert (s.contains, s.f1, s.cites_gold) == (0.0, 0.0, 0.0)
    assert (s.cited_with_answer, s.cited, s.invalid_markers) == (0, 1, 0)


def test_an_invalid_marker_is_counted():
    s = score_answer("À Versailles [1][3].", ["Versailles"], [GOLD], 2, "p-gold")
    assert (s.n_markers, s.invalid_markers) == (2, 1)
    s = score_answer("À Versailles [0].", ["Versailles"], [], 1, "p-gold")
    assert (s.n_markers, s.invalid_markers, s.cites_gold) == (1, 1, 0.0)


def test_an_abstention_scores_zero_even_when_it_contains_the_reference():
    s = score_answer("The sources do not say.", ["not"], [], 0, "p-gold", abstained=True)
    assert (s.contains, s.f1, s.cites_gold, s.n_markers) == (0.0, 0.0, 0.0, 0)


def test_abstentions_are_recognised():
    assert looks_like_abstention("The sources do not say.")
    assert looks_like_abstention("Les sources ne le disent pas.")
    assert looks_like_abstention("None of the sources are helpful for this query.")
    assert looks_like_abstention("")
    assert not looks_like_abstention("Le traité a été signé à Versailles [1].")


def _record(**kw):
    base = {
        "references": ["Versailles"],
        "gold": "p-gold",
        "unanswerable": False,
        "abstained": False,
        "contains": 1.0,
        "f1": 1.0,
        "cites_gold": 1.0,
        "gold_in_context": 1.0,
        "n_markers": 1,
        "invalid_markers": 0,
        "cited_with_answer": 1,
        "cited": 1,
        "total_ms": 1000.0,
        "retrieval_ms": 10.0,
        "first_token_ms": 500.0,
        "prompt_tokens": 300,
    }
    return {**base, **kw}


def test_answer_summary_on_a_perfect_a_wrong_an_invalid_and_an_abstention():
    records = [
        _record(),  # perfect
        _record(contains=0.0, f1=0.0, cites_gold=0.0, cited_with_answer=0),  # wrong
        _record(n_markers=2, invalid_markers=1),  # one invalid marker out of two
        _record(
            references=[],
            unanswerable=True,
            abstained=True,
            n_markers=0,
            cited=0,
            cited_with_answer=0,
            cites_gold=None,
            contains=0.0,
            f1=0.0,
        ),  # declined well
    ]
    s = summarize_answers(records)
    assert s["answerable"] == 3 and s["unanswerable"] == 1
    assert s["contains_answer"] == pytest.approx(2 / 3)
    assert s["cites_gold"] == pytest.approx(2 / 3)
    assert s["markers"] == 4 and s["invalid_markers"] == 1
    assert s["valid_marker_share"] == pytest.approx(3 / 4)
    assert s["cited_with_answer"] == pytest.approx(2 / 3)
    assert s["abstention_correct"] == 1.0 and s["false_abstention"] == 0.0
    assert s["prompt_tokens_mean"] == 300


def test_percentile_nearest_rank():
    assert percentile([5, 1, 3, 2, 4], 50) == 3
    assert percentile(list(range(1, 101)), 95) == 95
    assert percentile([], 50) is None


def test_loaders_squad_and_jsonl(tmp_path: Path):
    squad = {
        "version": "1.1",
        "data": [
            {
                "title": "Traité_de_Versailles",
                "paragraphs": [
                    {
                        "context": GOLD.text,
                        "qas": [
                            {
                                "id": "q1",
                                "question": "Où fut signé le traité ?",
                                "answers": [{"text": "Versailles", "answer_start": 30}] * 2,
                            },
                            {
                                "id": "q2",
                                "question": "Qui l'a signé ?",
                                "answers": [],
                                "is_impossible": True,
                            },
                        ],
                    }
                ],
            }
        ],
    }
    path = tmp_path / "set.json"
    path.write_text(json.dumps(squad))
    ds = load_dataset(path)
    assert ds.language == "fr" and len(ds.paragraphs) == 1
    assert ds.paragraphs[0].title == "Traité de Versailles"
    q1, q2 = ds.questions
    assert q1.answers == ("Versailles",) and q1.gold == paragraph_id(GOLD.text)
    assert q2.unanswerable and not q2.answers

    rows = [
        {
            "question": "Where was it signed?",
            "answers": ["Versailles"],
            "gold_passage": "The treaty was signed at Versailles.",
            "title": "Treaty",
        },
        {"question": "Who is the king of Mars?", "answers": []},
        {"question": "What happened?"},
    ]
    path = tmp_path / "set.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    ds = load_dataset(path)
    assert ds.language == "en" and [p.title for p in ds.paragraphs] == ["Treaty"]
    a, b, c = ds.questions
    assert a.gold and not a.unanswerable
    assert b.unanswerable and b.gold is None
    assert not c.unanswerable and not c.answers


def test_sampling_is_fixed_by_the_seed():
    items = list(range(100))
    assert sample(items, 10, seed=1) == sample(items, 10, seed=1)
    assert sample(items, 10, seed=1) != sample(items, 10, seed=2)
    assert sample(items, None) == items


def _passage(doc_id: str, text: str):
    from rag.schema import Chunk, Passage

    return Passage(Chunk(doc_id, doc_id, text, 0, len(text), "Traité"), 1.0)


def test_prompt_tokens_read_exclude_the_prefix_shared_with_the_previous_prompt():
    from llama_index.core.base.llms.types import ChatMessage

    from evaluation.baseline import CountingLLM
    from rag.llm import ScriptedLLM

    class TokenizingLLM(ScriptedLLM):
        def prompt_ids(self, messages):  # what llama.cpp would read: one token per word
            return " ".join(m.content for m in messages).split()

    llm = CountingLLM(TokenizingLLM(lambda messages: "ok"))
    system = ChatMessage(role="system", content="one two three four")
    llm.chat([system, ChatMessage(content="first question")])
    total, read = llm.take_prompt_tokens()
    assert total == read > 0  # nothing cached before the first prompt
    llm.chat([system, ChatMessage(content="second one, longer")])
    total2, read2 = llm.take_prompt_tokens()
    assert total2 > read2 and total2 - read2 >= 4  # the system turn was already read
    assert llm.take_prompt_tokens() == (None, None)


def test_extra_questions_are_asked_once_and_never_take_a_sampled_place(tmp_path: Path):
    from evaluation.runner import EvalConfig, load, select_questions

    squad = {
        "version": "1.1",
        "data": [
            {
                "title": "T",
                "paragraphs": [
                    {
                        "context": GOLD.text,
                        "qas": [
                            {
                                "id": f"q{i}",
                                "question": f"Question {i} ?",
                                "answers": [{"text": "Versailles", "answer_start": 30}],
                            }
                            for i in range(20)
                        ],
                    }
                ],
            }
        ],
    }
    (tmp_path / "set.json").write_text(json.dumps(squad))
    (tmp_path / "extra.jsonl").write_text(
        "\n".join(
            json.dumps({"id": f"x{i}", "question": f"Hors sujet {i} ?", "answers": []})
            for i in range(5)
        )
    )
    config = EvalConfig(
        dataset=tmp_path / "set.json", answer_limit=10, extra=tmp_path / "extra.jsonl"
    )
    dataset, extra = load(config)
    retrieval, answer = select_questions(dataset, config, extra)
    ids = [q.id for q in answer]
    assert len(ids) == len(set(ids)) == 15
    assert sum(i.startswith("q") for i in ids) == 10 and len(retrieval) == 20


def test_a_variant_value_may_hold_commas():
    from evaluation.cli import parse_variant

    assert parse_variant("both:RAG_VERIFY_NAMES_LANGUAGES=fr,en, RAG_TOP_K=3") == (
        "both",
        {"verify_names_languages": "fr,en", "top_k": "3"},
    )
    with pytest.raises(SystemExit, match="expected NAME"):
        parse_variant("bad:TOP_K=3")


def test_declines_are_told_apart_by_what_the_draft_held():
    """A decline costs an answer only when the draft it replaced held a reference."""
    refs = {"references": ["en mars"]}
    records = [
        _record(**refs, abstained=True, contains=0.0, draft="La ligne ouvrira en mars [2]."),
        _record(**refs, abstained=True, contains=0.0, draft="Elle ouvrira en juin [1]."),
        _record(**refs, abstained=True, contains=0.0, draft=""),  # declined before the model
        _record(**refs, draft="La ligne ouvrira en mars [2]."),
    ]
    s = summarize_answers(records)
    assert s["false_abstention"] == pytest.approx(3 / 4)
    assert s["declined_with_reference"] == pytest.approx(1 / 4)
