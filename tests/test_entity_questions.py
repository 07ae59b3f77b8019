"""A question about an entity ("Who is X?", « Qu'est-ce que X ? ») reads the passages that
name X, not only the best-scoring one: what the articles say of X may sit in another."""

from __future__ import annotations

import pytest

from rag.answer.question import entity_of
from rag.retrieval import ENTITY_PASSAGES, naming
from rag.schema import Chunk, Passage


@pytest.mark.parametrize(
    ("question", "entity"),
    [
        ("Who is Benjamin Gallezot?", "Benjamin Gallezot"),
        ("Qui est Benjamin Gallezot ?", "Benjamin Gallezot"),
        ("qui était Jean de La Fontaine", "Jean de La Fontaine"),
        ("Qu'est-ce que la DATAR ?", "la DATAR"),
        ("Qu’est-ce que l’Ouadia ?", "l’Ouadia"),
        ("What is the NASUWT?", "the NASUWT"),
        ("Qui est Laura ?", "Laura"),
        # not about an entity as a whole: a relation, a clause, a long description
        ("Qui est le père de Yoweri Kaguta ?", None),
        ("Qui était à la tête des troupes françaises ?", None),
        ("What is the world's busiest general aviation airport?", None),
        ("Quels sont les quatre objectifs de l’accord ?", None),
    ],
)
def test_questions_about_an_entity_are_recognised(question: str, entity: str | None):
    assert entity_of(question) == entity


def _p(i: int, text: str) -> Passage:
    return Passage(Chunk(f"c{i}", "d", text, 0, len(text), "Titane"), 1.0 - i / 10)


def test_the_passages_naming_the_entity_are_read_with_the_best_one():
    ranked = [
        _p(0, "Outre le titane, Benjamin Gallezot a refusé de commenter l’uranium."),
        _p(1, "La France envisage d’élargir sa collaboration avec le Kazakhstan."),
        _p(2, "Le délégué interministériel aux minerais, Benjamin Gallezot, s’est félicité."),
        _p(3, "Benjamin Gallezot a mentionné l’intérêt de la France."),
        _p(4, "M. Gallezot, encore, et Benjamin Gallezot une fois de plus."),
    ]
    read = naming("Benjamin Gallezot", ranked, ranked[:2])
    assert [p.chunk.id for p in read] == ["c0", "c2", "c3"]  # rank order, the budget
    assert len(read) == ENTITY_PASSAGES
    # none names it: the usual cut stands
    assert naming("Emmanuel Macron", ranked, ranked[:1]) == ranked[:1]
