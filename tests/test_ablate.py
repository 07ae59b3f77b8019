"""The on/off switch behind docs/EVALUATION.md's measurements of steps that have no setting."""

import pytest

import rag.prompting
import rag.service
from evaluation.ablate import switch_off
from rag.prompting import build_messages


def test_count_hint_off_gives_the_prompt_without_it(monkeypatch):
    monkeypatch.setattr(rag.prompting, "asked_count", rag.prompting.asked_count)  # undone after
    question = "Quels sont les quatre objectifs de l'accord ?"
    assert "give all 4" in build_messages(question, [], "fr")[-1]["content"]
    switch_off("count-hint")
    assert "give all" not in build_messages(question, [], "fr")[-1]["content"]


def test_entity_reading_off_reads_what_any_question_reads(monkeypatch):
    monkeypatch.setattr(rag.service, "naming", rag.service.naming)
    switch_off("entity-reading")
    assert rag.service.naming("gallezot", ["a", "b"], ["b"]) == ["b"]


def test_an_unknown_step_is_named():
    with pytest.raises(SystemExit, match="no step 'reranker'"):
        switch_off("reranker")
