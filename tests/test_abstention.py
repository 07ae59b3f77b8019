"""An abstention is recognised however it is phrased, in both languages; an answer that
brings a fact is not one."""

from __future__ import annotations

import pytest

from rag.verify.abstention import is_abstention

ABSTENTIONS = [
    ("The sources do not say.", "en"),
    ("Les sources ne le disent pas. [1]", "fr"),
    ("The opening date of the new line is not provided in the given sources [1].", "en"),
    ("The articles do not mention the price of the tickets.", "en"),
    ("There is no information about the mayor's salary in the sources [2].", "en"),
    ("I don't know.", "en"),
    ("Neither source gives the figure.", "en"),
    ("Le texte ne précise pas la date d’ouverture [1].", "fr"),
    ("Les articles ne mentionnent pas le nom du directeur.", "fr"),
    ("Aucune information sur le coût du projet n’est donnée [1].", "fr"),
    ("Il n’y a pas d’information sur ce point dans les sources.", "fr"),
    ("Je ne sais pas.", "fr"),
    ("Le texte ne précise pas la date d’ouverture, ni le coût.", "fr"),
    ("Les sources n’indiquent pas le montant. Le contexte ne le précise pas non plus [2].", "fr"),
]

ANSWERS = [
    ("The four objectives are geology [1] and mining [1].", "en"),
    ("The sources do not mention the price, but the line opens in March [1].", "en"),
    ("The company did not provide details about the layoffs [1].", "en"),
    ("Le ministre n’a pas souhaité commenter [1].", "fr"),
    ("Le texte ne précise pas la date, seulement l’année : 2027 [1].", "fr"),
    ("La mine rouvrira en 2027 [1]. Les sources ne donnent pas le coût [1].", "fr"),
    ("Aucun accord n’a été signé [1].", "fr"),
    ("No agreement was reached at the summit [2].", "en"),
    ("The sources do not give the exact date; the mine reopens in 2027 [1].", "en"),
    ("Les sources ne donnent pas le jour, la mine rouvrira en 2027 [1].", "fr"),
]


@pytest.mark.parametrize(("answer", "language"), ABSTENTIONS)
def test_abstentions_are_recognised(answer, language):
    assert is_abstention(answer, language)


@pytest.mark.parametrize(("answer", "language"), ANSWERS)
def test_answers_are_not_abstentions(answer, language):
    assert not is_abstention(answer, language)
