"""Facts a right answer must hold, `rag eval --corpus` over article files, and the seed
regression set (evaluation/data/seed-regression.jsonl)."""

from __future__ import annotations

import json
import re

import pytest

from evaluation.datasets import DatasetError, load_dataset
from evaluation.metrics import missing_facts, normalize
from evaluation.runner import summarize_answers
from tests.conftest import ROOT, SEED

SEED_SET = ROOT / "evaluation" / "data" / "seed-regression.jsonl"
OBJECTIVES = [
    ["géologie", "geology"],
    ["minier", "minière", "mining"],
    ["capitaux", "capital"],
    ["développement durable", "sustainable"],
]


def test_a_fact_is_held_with_the_folding_of_contains_answer():
    answer = (
        "L’accord vise la coopération en GÉOLOGIE [1], des projets miniers conjoints, "
        "l'attraction de capitaux [1] et le développement durable."
    )
    facts = [*OBJECTIVES[:1], ["miniers"], *OBJECTIVES[2:]]
    assert missing_facts(answer, facts) == []
    # either apostrophe, elisions and accents fold the same way
    fund = [["2 milliards d’euros", "€2 billion"]]
    assert missing_facts("Un fonds de 2 milliards d'euros [1].", fund) == []
    assert missing_facts("Un fonds de 2 Milliards d’Euros.", fund) == []
    assert missing_facts("A €2 billion fund [2].", fund) == []
    assert missing_facts("Un fonds de 20 milliards d’euros.", fund) == ["2 milliards d’euros"]


def test_each_missing_fact_is_named_and_a_decline_holds_none():
    answer = "The objectives are geology and exploration [1] and mining projects [1]."
    assert missing_facts(answer, OBJECTIVES) == ["capitaux", "développement durable"]
    assert missing_facts("geologyst, capitalism", OBJECTIVES[::2]) == ["géologie", "capitaux"]
    assert missing_facts("géologie", OBJECTIVES[:1], abstained=True) == ["géologie"]


def _record(**kw) -> dict:
    base = {
        "references": ["x"],
        "gold": "doc",
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
        "total_ms": 1.0,
        "retrieval_ms": 1.0,
        "first_token_ms": 1.0,
        "prompt_tokens": 1,
        "missing_facts": None,
        "facts_held": None,
    }
    return {**base, **kw}


def test_facts_held_is_the_share_of_rows_with_facts_holding_them_all():
    records = [
        _record(missing_facts=[], facts_held=1.0),
        _record(missing_facts=["capitaux"], facts_held=0.0),
        _record(missing_facts=[], facts_held=1.0),
        _record(),  # no facts: not counted
        _record(references=[], unanswerable=True, abstained=True, cites_gold=None),
    ]
    assert summarize_answers(records)["facts_held"] == pytest.approx(2 / 3)
    assert summarize_answers([_record()])["facts_held"] is None


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"question": "Q ?", "answers": ["a"], "facts": "géologie"}, "list of facts"),
        ({"question": "Q ?", "answers": ["a"], "facts": [["géologie", 3]]}, "fact 1"),
        ({"question": "Q ?", "answers": ["a"], "facts": [[]]}, "fact 1"),
        ({"question": "Q ?", "answers": [], "facts": [["x"]]}, "unanswerable"),
        ({"question": "Q ?", "gold_doc": "d", "gold_passage": "P."}, "not both"),
        ({"question": "Q ?", "gold_doc": 7}, "document id"),
    ],
)
def test_bad_facts_and_gold_docs_are_refused_naming_the_line(tmp_path, row, message):
    path = tmp_path / "set.jsonl"
    path.write_text('{"question": "ok ?"}\n' + json.dumps(row) + "\n")
    with pytest.raises(DatasetError, match=rf"set\.jsonl:2: .*{message}"):
        load_dataset(path)


def test_facts_and_gold_doc_are_read(tmp_path):
    path = tmp_path / "set.jsonl"
    row = {"question": "Q ?", "answers": ["a"], "facts": [["a", "b"], "c"], "gold_doc": "d1"}
    path.write_text(json.dumps(row) + "\n")
    (q,) = load_dataset(path).questions
    assert q.facts == (("a", "b"), ("c",)) and q.gold == "d1"


# --- rag eval --corpus ---------------------------------------------------------------------

OTHER_ARTICLE = """Le conseil municipal de Lannilis vote le budget de la piscine
Lannilis, piscine, budget

Le conseil municipal de Lannilis a voté le 12 mars un budget de 4,2 millions d’euros pour \
rénover la piscine municipale, fermée depuis deux ans.
"""


def script_by_question(messages) -> str:
    """The fund question: the seed's fund sentence, cited; the pool question: a partial answer
    (no amount); anything else: the fund sentence too, when its passage was read."""
    user = messages[-1].content
    if "Sources:\n" not in user:
        return "Les sources ne le disent pas."
    sources, question = user.split("Sources:\n", 1)[1].split("\n\nQuestion: ", 1)
    blocks = {int(b[1 : b.index("]")]): b for b in re.split(r"\n\n(?=\[\d+\] )", sources)}
    fund = next((n for n, b in blocks.items() if "2 milliards" in b), None)
    pool = next((n for n, b in blocks.items() if "piscine" in b), None)
    if "piscine" in question and pool:
        return f"Le conseil municipal de Lannilis a voté un budget pour la piscine [{pool}]."
    if fund:
        return f"Un fonds d’investissement de 2 milliards d’euros a été lancé en France [{fund}]."
    return "Les sources ne le disent pas."


def corpus_eval(tmp_path, monkeypatch, rows: list[dict], script=script_by_question) -> dict:
    from api.cli import main
    from rag.llm import ScriptedLLM

    corpus = tmp_path / "articles"
    corpus.mkdir()
    (corpus / SEED.name).write_text(SEED.read_text(encoding="utf-8"), encoding="utf-8")
    (corpus / "lannilis.txt").write_text(OTHER_ARTICLE, encoding="utf-8")
    questions = tmp_path / "questions.jsonl"
    questions.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    monkeypatch.setenv("RAG_EMBEDDER", "hashing")
    monkeypatch.setenv("RAG_LLM", "scripted")
    monkeypatch.setattr("rag.components.make_llm", lambda settings: ScriptedLLM(script))
    out = tmp_path / "report"
    argv = ["eval", str(questions), "--corpus", str(corpus), "--no-baseline", "-q"]
    argv += ["--data-dir", str(tmp_path / "data"), "--out", str(out)]
    assert main(argv) == 0
    report = json.loads((out / "report.json").read_text())
    report["markdown"] = (out / "report.md").read_text()
    return report


def test_corpus_of_files_scores_facts_and_the_cited_document(tmp_path, monkeypatch):
    rows = [
        {
            "id": "fund",
            "question": "Quel est le montant du fonds d’investissement lancé en France ?",
            "answers": ["2 milliards d’euros"],
            "facts": [["2 milliards d’euros", "€2 billion"]],
            "gold_doc": SEED.stem,
        },
        {
            "id": "pool",
            "question": "Quel budget Lannilis a-t-il voté pour la piscine ?",
            "answers": ["4,2 millions d’euros"],
            "facts": [["4,2 millions d’euros"], ["piscine"]],
            "gold_doc": "lannilis",
        },
        {"id": "price", "question": "Quel est le prix du titane ?", "answers": []},
    ]
    report = corpus_eval(tmp_path, monkeypatch, rows)
    ours = report["questions"]["ours"]
    assert report["dataset"]["paragraphs"] == 2  # two documents, not gold passages
    assert ours["fund"]["missing_facts"] == [] and ours["fund"]["facts_held"] == 1.0
    assert ours["fund"]["cites_gold"] == 1.0 and ours["fund"]["cited_docs"] == [SEED.stem]
    assert ours["pool"]["missing_facts"] == ["4,2 millions d’euros"]  # "piscine" is held
    assert ours["pool"]["cites_gold"] == 1.0 and ours["pool"]["cited_docs"] == ["lannilis"]
    assert ours["price"]["missing_facts"] is None
    answers = report["pipelines"][0]["answers"]
    assert answers["facts_held"] == 0.5
    # retrieval ranks the document a row names
    assert ours["fund"]["rank"] == 1 and ours["pool"]["rank"] == 1
    md = report["markdown"]
    assert "| contains answer | facts held |" in md
    assert "- `pool` Quel budget Lannilis a-t-il voté pour la piscine ? misses « 4,2 mill" in md
    assert "`fund`" not in md.split("## Facts missing")[1]
    answered_price = "`price` Quel est le prix du titane ? answered, should decline" in md
    assert answered_price == (not ours["price"]["abstained"])


def test_a_gold_doc_outside_the_corpus_is_a_clear_error(tmp_path, monkeypatch, capsys):
    from api.cli import main

    corpus = tmp_path / "articles"
    corpus.mkdir()
    (corpus / SEED.name).write_text(SEED.read_text(encoding="utf-8"), encoding="utf-8")
    questions = tmp_path / "q.jsonl"
    questions.write_text(json.dumps({"question": "Q ?", "answers": ["a"], "gold_doc": "nope"}))
    monkeypatch.setenv("RAG_EMBEDDER", "hashing")
    argv = ["eval", str(questions), "--corpus", str(corpus), "--data-dir", str(tmp_path / "d")]
    assert main([*argv, "--no-baseline", "-q"]) == 2
    err = capsys.readouterr().err
    assert "'nope'" in err and "not in --corpus" in err and SEED.stem in err


# --- the seed regression set ----------------------------------------------------------------


def seed_rows() -> list[dict]:
    return [json.loads(line) for line in SEED_SET.read_text(encoding="utf-8").splitlines()]


def test_seed_set_rows_have_facts_the_article_holds_and_name_the_seed():
    rows = seed_rows()
    dataset = load_dataset(SEED_SET)
    assert len({q.id for q in dataset.questions}) == len(rows)
    article = f" {normalize(SEED.read_text(encoding='utf-8'))} "
    answerable = [r for r in rows if r["answers"]]
    for r in answerable:
        assert r["gold_doc"] == SEED.stem and r["facts"], r["id"]
        for fact in r["facts"]:
            # the article says it: one form of each fact is in it (its French wording)
            assert any(f" {normalize(form)} " in article for form in fact), (r["id"], fact)
    declines = [r for r in rows if r["answers"] == []]
    assert len(declines) >= 2 and not any("facts" in r for r in declines)
    own = [r for r in rows if r.get("source") != "README"]
    assert len(own) >= 20
    ids = {r["id"] for r in rows}
    assert {"seed-fr-gallezot", "seed-en-gallezot"} <= ids
    objectives = [
        r for r in rows if "four objectives" in r["question"] or "quatre" in r["question"]
    ]
    assert len(objectives) == 4 and all(len(r["facts"]) == 4 for r in objectives)


def test_seed_set_asks_the_readme_questions_with_both_apostrophes():
    questions = {r["question"] for r in seed_rows()}
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    # the examples of time, outlets and reprints ask about the news pages, not the seed
    news = readme.index("### Time, outlets, reprints and the collection")
    readme = readme[:news] + readme[readme.index("### Documents", news) :]
    shown = {
        q
        for q in re.findall(r"\"((?:What|Qui|Quels|Quand|Quelle)[^\"]*\?)\"", readme)
        + re.findall(r"« ((?:Qui|Quels|Quand|Quelle)[^»]*\?) »", readme)
        if "'\"'\"'" not in q
    }
    shown.add("What are the agreement's four objectives?")  # shown with shell quoting too
    assert {"Qui est Benjamin Gallezot ?", "What does EDF do?"} <= shown
    assert shown <= questions, shown - questions
    swapped = {q.replace("’", "'") for q in questions} & {q.replace("'", "’") for q in questions}
    both = {q for q in questions if q.replace("’", "'") in questions and "’" in q}
    assert len(both) >= 5, both
    assert swapped


def test_the_report_lists_answers_missing_facts_and_answered_declines():
    from evaluation.report import missing_facts_section

    rows = {
        "ok": {"missing_facts": [], "answer": "Géologie [1].", "unanswerable": False},
        "miss": {"missing_facts": ["capitaux"], "answer": "Géologie  [1].", "unanswerable": False},
        "decline": {
            "missing_facts": None,
            "answer": "Les sources ne le disent pas.",
            "unanswerable": True,
            "abstained": True,
        },
        "answered": {
            "missing_facts": None,
            "answer": "Cher.",
            "unanswerable": True,
            "abstained": False,
        },
    }
    report = {
        "pipelines": [
            {"name": "ours", "answers": {"facts_held": 0.5}},
            {"name": "ours -polarity", "answers": {"facts_held": 0.5}},  # derived: left out
        ],
        "questions": {"ours": rows, "ours -polarity": rows},
        "answer_question_texts": {"miss": "Objectifs ?", "answered": "Prix ?"},
    }
    lines = missing_facts_section(report)
    assert lines[2] == "### ours: 2 answer(s) to look at"
    assert "- `miss` Objectifs ? misses « capitaux ». Answer: Géologie [1]." in lines
    assert "- `answered` Prix ? answered, should decline. Answer: Cher." in lines
    assert not any("polarity" in line for line in lines)
