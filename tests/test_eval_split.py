"""The tuning/checking split (evaluation/split.py) and `rag eval --split` / `--answers-only`,
on a hand-made SQuAD file, and on the committed PIAF and XQuAD splits where the data is."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evaluation.datasets import DatasetError, load_dataset
from evaluation.split import (
    HALVES,
    PAST_SAMPLES,
    PastSample,
    articles_of,
    make_split,
    read_split,
    split_file,
    split_texts,
)
from tests.conftest import SHARED_DATA

SETS = {
    "piaf": SHARED_DATA / "piaf" / "piaf-v1.1-dev.json",
    "xquad": SHARED_DATA / "xquad-en" / "xquad-en-dev.json",
}
N_ARTICLES = 8


def squad_file(tmp_path: Path, n_articles: int = N_ARTICLES) -> Path:
    """Article k has k + 1 paragraphs, each with one question whose answer is its city."""
    cities = ["Brest", "Quimper", "Morlaix", "Vannes", "Lorient", "Rennes", "Nantes", "Lannion"]
    data = []
    for k in range(n_articles):
        paragraphs = []
        for j in range(k + 1):
            city = f"{cities[k % len(cities)]}{j}"
            text = f"Le marché couvert numéro {k}-{j} se trouve à {city}, près du port."
            paragraphs.append(
                {
                    "context": text,
                    "qas": [
                        {
                            "id": f"a{k}q{j}",
                            "question": f"Où se trouve le marché couvert numéro {k}-{j} ?",
                            "answers": [{"text": city, "answer_start": text.index(city)}],
                        }
                    ],
                }
            )
        data.append({"title": f"Marché_{k}", "paragraphs": paragraphs})
    path = tmp_path / "markets.json"
    path.write_text(json.dumps({"version": "1.1", "data": data}, ensure_ascii=False))
    return path


def picked(*ids: str, answer_sample: bool = True) -> PastSample:
    return PastSample(
        f"ids {ids}", lambda ds: [q for q in ds.questions if q.id in ids], answer_sample
    )


def halves_by_article(split) -> tuple[set[str], set[str]]:
    """The two halves' articles, checked against the articles of their questions."""
    article_of = {i: t for t, ids in split.articles.items() for i in ids}
    tune, check = set(split.tune_articles), set(split.check_articles)
    assert {article_of[i] for i in split.tune} == tune
    assert {article_of[i] for i in split.check + split.excluded} == check
    return tune, check


def test_tune_holds_the_sampled_articles_and_no_article_is_in_both(tmp_path):
    path = squad_file(tmp_path)
    split = make_split(path, [picked("a1q0", "a6q3"), picked("a3q2", answer_sample=False)])
    tune, check = halves_by_article(split)
    assert not tune & check
    assert len(split.tune_articles) == len(split.check_articles) == N_ARTICLES // 2
    assert {"Marché 1", "Marché 6"} <= tune  # the answer-sampled articles
    # every question is in one half, or left out of `check` because it was looked at
    all_ids = {i for ids in split.articles.values() for i in ids}
    assert set(split.tune) | set(split.check) | set(split.excluded) == all_ids
    assert not set(split.tune) & set(split.check)
    # a looked-at question of a checking article is left out, never checked
    if "Marché 3" in check:
        assert "a3q2" in split.excluded and "a3q2" not in split.check
    assert not {"a1q0", "a6q3", "a3q2"} & set(split.check)


def test_the_split_is_deterministic_and_its_header_says_how_it_was_made(tmp_path):
    path = squad_file(tmp_path)
    past = [picked("a2q1")]
    first, second = split_texts(make_split(path, past)), split_texts(make_split(path, past))
    assert first == second
    for half in HALVES:
        header = [line for line in first[half].splitlines() if line.startswith("#")]
        assert "python -m evaluation.split markets.json" in "\n".join(header)
        assert any(line.startswith("# dataset sha256 ") for line in header)
        assert any("looked at before: ids ('a2q1',)" in line for line in header)


def test_past_samples_over_half_the_articles_keep_halves_and_leave_sampled_questions_out(
    tmp_path,
):
    path = squad_file(tmp_path)
    sampled = [f"a{k}q0" for k in range(6)]  # 6 of 8 articles
    split = make_split(path, [picked(*sampled)])
    tune, check = halves_by_article(split)
    assert len(tune) == len(check) == 4 and not tune & check
    assert not set(sampled) & set(split.check)
    sampled_in_check = [i for i in sampled if i in split.excluded]
    assert len(sampled_in_check) == 2  # 6 sampled articles, 4 of them in the tuning half


def test_read_split_refuses_unknown_ids_and_another_version_of_the_dataset(tmp_path):
    path = squad_file(tmp_path)
    dataset = load_dataset(path)
    texts = split_texts(make_split(path, [picked("a0q0")]))
    good = tmp_path / "good.txt"
    good.write_text(texts["check"])
    _, ids = read_split(dataset, str(good))
    assert ids and "a0q0" not in ids
    wrong = tmp_path / "wrong.txt"
    wrong.write_text("# hand-made\na0q0\nnot-a-question\n")
    with pytest.raises(DatasetError, match="not-a-question"):
        read_split(dataset, str(wrong))
    with pytest.raises(DatasetError, match="no such split file"):
        read_split(dataset, "check")  # markets.check.txt is not in evaluation/splits/
    path.write_text(path.read_text().replace("port", "quai"))  # another version of the file
    with pytest.raises(DatasetError, match="another version"):
        read_split(load_dataset(path), str(good))


def _eval(argv: list[str], tmp_path: Path, monkeypatch) -> tuple[int, dict | None, str]:
    from api.cli import main

    monkeypatch.setenv("RAG_EMBEDDER", "hashing")
    monkeypatch.setenv("RAG_LLM", "scripted")
    data, out = str(tmp_path / "data"), tmp_path / "report"
    code = main(["eval", *argv, "--no-baseline", "-q", "--data-dir", data, "--out", str(out)])
    if code != 0:
        return code, None, ""
    return code, json.loads((out / "report.json").read_text()), (out / "report.md").read_text()


def test_eval_split_asks_only_that_half(tmp_path, monkeypatch):
    path = squad_file(tmp_path)
    texts = split_texts(make_split(path, [picked("a1q0", "a5q2")]))
    check = tmp_path / "markets.check.txt"
    check.write_text(texts["check"])
    _, check_ids = read_split(load_dataset(path), str(check))
    code, report, markdown = _eval(
        [str(path), "--split", str(check), "--answer-limit", "3"], tmp_path, monkeypatch
    )
    assert code == 0
    questions = report["questions"]["ours"]
    ranked = {i for i, r in questions.items() if "rank" in r}
    assert ranked == check_ids  # retrieval on the whole half, nothing else
    assert len(report["answer_question_ids"]) == 3
    assert set(report["answer_question_ids"]) <= check_ids
    assert report["dataset"]["split"] == str(check)
    assert report["dataset"]["paragraphs"] == sum(range(1, N_ARTICLES + 1))  # corpus is whole
    assert f"**{check}** split" in markdown


def test_eval_answers_only_skips_the_retrieval_pass(tmp_path, monkeypatch):
    path = squad_file(tmp_path, n_articles=3)
    code, report, markdown = _eval([str(path), "--answers-only"], tmp_path, monkeypatch)
    assert code == 0
    ours = report["pipelines"][0]
    assert ours["name"] == "ours" and ours["retrieval"] == {}
    assert report["dataset"]["retrieval_questions"] == 0
    assert ours["answers"]["n"] == 6  # every question answered
    assert all("rank" not in r for r in report["questions"]["ours"].values())
    assert "## Retrieval" not in markdown and "## Answers" in markdown


def test_answers_only_refuses_retrieval_only_and_ablation(tmp_path, monkeypatch, capsys):
    path = squad_file(tmp_path, n_articles=2)
    for other in ("--retrieval-only", "--ablation"):
        code, _, _ = _eval([str(path), "--answers-only", other], tmp_path, monkeypatch)
        assert code == 2
        assert "exclude each other" in capsys.readouterr().err


@pytest.mark.parametrize("name", sorted(SETS))
def test_committed_splits_are_current_disjoint_and_tune_holds_the_sampled_articles(name):
    path = SETS[name]
    if not path.exists():
        pytest.skip(f"{path} not found (../shared/data is absent)")
    past = PAST_SAMPLES[path.stem]
    split = make_split(path, past)
    for half, text in split_texts(split).items():
        committed = split_file(path, half)
        assert committed.read_text(encoding="utf-8") == text, (
            f"{committed} is stale: python -m evaluation.split {path}"
        )
    tune, check = halves_by_article(split)
    assert not tune & check
    assert len(split.tune_articles) == len(articles_of(path)) // 2
    dataset = load_dataset(path, "fr")
    looked = {q.id for p in past for q in p.pick(dataset)}
    assert not looked & set(split.check)
    article_of = {i: t for t, ids in split.articles.items() for i in ids}
    sampled = {article_of[q.id] for p in past if p.answer_sample for q in p.pick(dataset)}
    if len(sampled) <= len(split.articles) // 2:
        assert sampled <= set(split.tune_articles)  # PIAF: 103 of 234 articles
    # and the runner reads them back: `--split check` asks exactly these questions
    _, ids = read_split(dataset, "check")
    assert ids == set(split.check)
