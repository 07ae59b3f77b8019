"""The unanswerable questions of the checking runs (evaluation/data/unanswerable-*-check.jsonl)
are unanswerable: the names and terms they turn on (`absent`: the thing asked about, and its
answer where known) appear in no paragraph of their corpus. A question with `near` is close to
an article the corpus holds (that article must exist), without being answered by it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from evaluation.datasets import load_dataset
from evaluation.metrics import normalize
from tests.conftest import ROOT, SHARED_DATA

DATA = ROOT / "evaluation" / "data"
CORPUS = {
    "fr": SHARED_DATA / "piaf" / "piaf-v1.1-dev.json",
    "en": SHARED_DATA / "xquad-en" / "xquad-en-dev.json",
}


def rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_check_sets_are_fresh_unanswerable_questions(lang):
    path = DATA / f"unanswerable-{lang}-check.jsonl"
    check = rows(path)
    assert len(check) == 30
    assert [r["id"] for r in check] == [f"unans-{lang}-c{i:02d}" for i in range(1, 31)]
    assert all(r["answers"] == [] and r["absent"] for r in check)
    assert all(q.unanswerable for q in load_dataset(path, lang).questions)
    older = {
        normalize(r["question"])
        for name in (f"unanswerable-{lang}.jsonl", f"unanswerable-{lang}-heldout.jsonl")
        for r in rows(DATA / name)
    }
    assert not older & {normalize(r["question"]) for r in check}
    # varied kinds: who, when, where, how many / how much, what, why
    kinds = {
        "fr": [
            "qui",
            "quand|quelle année",
            "où|quelle ville",
            "combien",
            "quel|quelle",
            "pourquoi",
        ],
        "en": ["who", "when", "where", "how many|how much|how long", "what|which", "why"],
    }[lang]
    for kind in kinds:
        found = [r for r in check if re.search(rf"\b(?:{kind})\b", r["question"], re.IGNORECASE)]
        assert len(found) >= 2, kind
    assert sum("near" in r for r in check) >= 8  # close to topics the corpus covers


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_check_sets_key_terms_appear_in_no_paragraph_of_the_corpus(lang):
    corpus = CORPUS[lang]
    if not corpus.exists():
        pytest.skip(f"{corpus} not found (../shared/data is absent)")
    dataset = load_dataset(corpus, lang)
    paragraphs = [(p.title, f" {normalize(p.text)} ") for p in dataset.paragraphs]
    titles = {title for title, _ in paragraphs}
    for row in rows(DATA / f"unanswerable-{lang}-check.jsonl"):
        for term in row["absent"]:
            needle = f" {normalize(term)} "
            hits = [title for title, text in paragraphs if needle in text]
            assert not hits, (row["id"], term, hits[:3])
        if "near" in row:
            assert row["near"] in titles, (row["id"], row["near"])
