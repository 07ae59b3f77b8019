"""Time in questions (rag.answer.when): windows, recency, the expression, its description."""
# ruff: noqa: E501  (one case a line: the tables read best unwrapped)

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path

import pytest

from rag.answer.when import TimeAsk, Window, read_time, strip_time

# Saturday 5 December 2026, 10:00: the reference time of every case unless it says otherwise
NOW = datetime(2026, 12, 5, 10, 0)
D = date

# (question, language, after, before, recency, expression)
CASES = [
    # absolute: years, months, days
    ("What did Le Devoir report in February 2020?", "en", D(2020, 2, 1), D(2020, 2, 29), False, "in February 2020"),
    ("Qu'a publié Le Devoir en février 2020 ?", "fr", D(2020, 2, 1), D(2020, 2, 29), False, "en février 2020"),
    ("Que s'est-il passé en février 2021 ?", "fr", D(2021, 2, 1), D(2021, 2, 28), False, "en février 2021"),
    ("What happened in 1915?", "en", D(1915, 1, 1), D(1915, 12, 31), False, "in 1915"),
    ("What was the war of 1915 about?", "en", D(1915, 1, 1), D(1915, 12, 31), False, "of 1915"),
    ("Qui a gagné les élections en 2017 ?", "fr", D(2017, 1, 1), D(2017, 12, 31), False, "en 2017"),
    ("Quelle est la conséquence de la Révolution de 1911 ?", "fr", D(1911, 1, 1), D(1911, 12, 31), False, "de 1911"),
    ("Combien de listes en 2008", "fr", D(2008, 1, 1), D(2008, 12, 31), False, "en 2008"),
    ("Qui a gagné l'UCI Europe Tour 2008 ?", "fr", D(2008, 1, 1), D(2008, 12, 31), False, "2008"),
    ("que s'est-il passé le 23 octobre ?", "fr", D(2026, 10, 23), D(2026, 10, 23), False, "le 23 octobre"),
    ("What happened on October 23?", "en", D(2026, 10, 23), D(2026, 10, 23), False, "on October 23"),
    ("What happened on 23 October 2019?", "en", D(2019, 10, 23), D(2019, 10, 23), False, "on 23 October 2019"),
    ("What happened on October 23rd, 2019?", "en", D(2019, 10, 23), D(2019, 10, 23), False, "on October 23rd, 2019"),
    ("que s'est-il passé le 1er mai 2021 ?", "fr", D(2021, 5, 1), D(2021, 5, 1), False, "le 1er mai 2021"),
    # a day not yet reached this year: last year's
    ("que s'est-il passé le 24 décembre ?", "fr", D(2025, 12, 24), D(2025, 12, 24), False, "le 24 décembre"),
    # a month alone: the last such month up to now, this one included
    ("Que s'est-il passé en mars ?", "fr", D(2026, 3, 1), D(2026, 3, 31), False, "en mars"),
    ("What happened in December?", "en", D(2026, 12, 1), D(2026, 12, 31), False, "in December"),
    ("Que s'est-il passé au mois de mai ?", "fr", D(2026, 5, 1), D(2026, 5, 31), False, "au mois de mai"),
    ("Quels articles fin mars 2020 ?", "fr", D(2020, 3, 21), D(2020, 3, 31), False, "fin mars 2020"),
    ("Quels articles début janvier 2021 ?", "fr", D(2021, 1, 1), D(2021, 1, 10), False, "début janvier 2021"),
    ("news from mid-March 2020", "en", D(2020, 3, 11), D(2020, 3, 20), False, "from mid-March 2020"),
    ("Que s'est-il passé dans les années 80 ?", "fr", D(1980, 1, 1), D(1989, 12, 31), False, "dans les années 80"),
    ("What happened in the 1990s?", "en", D(1990, 1, 1), D(1999, 12, 31), False, "in the 1990s"),
    ("How many Huguenots fled France by the 1700s?", "en", D(1700, 1, 1), D(1799, 12, 31), False, "the 1700s"),
    # ranges
    ("Que s'est-il passé entre mars et mai 2020 ?", "fr", D(2020, 3, 1), D(2020, 5, 31), False, "entre mars et mai 2020"),
    ("articles du 1er au 29 février 2020", "fr", D(2020, 2, 1), D(2020, 2, 29), False, "du 1er au 29 février 2020"),
    ("articles from 1 to 29 February 2020", "en", D(2020, 2, 1), D(2020, 2, 29), False, "from 1 to 29 February 2020"),
    ("What happened from March to May?", "en", D(2026, 3, 1), D(2026, 5, 31), False, "from March to May"),
    ("What happened between 2004 and 2014?", "en", D(2004, 1, 1), D(2014, 12, 31), False, "between 2004 and 2014"),
    ("Qui fut vice-présidente de 1994 à 2003 ?", "fr", D(1994, 1, 1), D(2003, 12, 31), False, "de 1994 à 2003"),
    ("La guerre entre 1914 et 1918", "fr", D(1914, 1, 1), D(1918, 12, 31), False, "entre 1914 et 1918"),
    ("entre le 17 août et le 26 août 2015", "fr", D(2015, 8, 17), D(2015, 8, 26), False, "entre le 17 août et le 26 août 2015"),
    ("du 3 mars 2020 au 5 avril", "fr", D(2020, 3, 3), D(2020, 4, 5), False, "du 3 mars 2020 au 5 avril"),
    ("from November to February 2020", "en", D(2019, 11, 1), D(2020, 2, 29), False, "from November to February 2020"),
    ("Combien de points lors de la saison 2008-2009 ?", "fr", D(2008, 1, 1), D(2009, 12, 31), False, "la saison 2008-2009"),
    ("How many people were lost during 1620-21?", "en", D(1620, 1, 1), D(1621, 12, 31), False, "during 1620-21"),
    # bounds
    ("What happened since March?", "en", D(2026, 3, 1), None, False, "since March"),
    ("Quoi de prévu depuis le 1er mars 2026 ?", "fr", D(2026, 3, 1), None, False, "depuis le 1er mars 2026"),
    ("Les réformes avant 2020", "fr", None, D(2019, 12, 31), False, "avant 2020"),
    ("Les réformes après le 3 mars 2020", "fr", D(2020, 3, 4), None, False, "après le 3 mars 2020"),
    ("Who led until May 2020?", "en", None, D(2020, 5, 31), False, "until May 2020"),
    ("Who won prior to 2000?", "en", None, D(1999, 12, 31), False, "prior to 2000"),
    ("Des nouvelles à partir du 21 juin ?", "fr", D(2026, 6, 21), None, False, "à partir du 21 juin"),
    ("Comment était le réseau avant les années 2000 ?", "fr", None, D(1999, 12, 31), False, "avant les années 2000"),
    # relative
    ("what happened last week in Kazakhstan?", "en", D(2026, 11, 23), D(2026, 11, 29), False, "last week"),
    ("Qu'est-ce qui s'est passé la semaine dernière au Kazakhstan ?", "fr", D(2026, 11, 23), D(2026, 11, 29), False, "la semaine dernière"),
    ("Quoi de neuf cette semaine ?", "fr", D(2026, 11, 30), D(2026, 12, 5), True, "Quoi de neuf cette semaine"),
    ("What was said yesterday?", "en", D(2026, 12, 4), D(2026, 12, 4), False, "yesterday"),
    ("Qu'a dit le ministre hier ?", "fr", D(2026, 12, 4), D(2026, 12, 4), False, "hier"),
    ("Qu'a dit le ministre avant-hier ?", "fr", D(2026, 12, 3), D(2026, 12, 3), False, "avant-hier"),
    ("What's the news today?", "en", D(2026, 12, 5), D(2026, 12, 5), False, "today"),
    ("Quelles sont les nouvelles d'aujourd'hui ?", "fr", D(2026, 12, 5), D(2026, 12, 5), False, "d'aujourd'hui"),
    ("What happened this month?", "en", D(2026, 12, 1), D(2026, 12, 5), False, "this month"),
    ("Qu'a annoncé le gouvernement le mois dernier ?", "fr", D(2026, 11, 1), D(2026, 11, 30), False, "le mois dernier"),
    ("Qu'a annoncé le gouvernement l'an dernier ?", "fr", D(2025, 1, 1), D(2025, 12, 31), False, "l'an dernier"),
    ("Qu'a annoncé le gouvernement l’année dernière ?", "fr", D(2025, 1, 1), D(2025, 12, 31), False, "l’année dernière"),
    ("What did they announce this year?", "en", D(2026, 1, 1), D(2026, 12, 5), False, "this year"),
    ("What did they announce last year?", "en", D(2025, 1, 1), D(2025, 12, 31), False, "last year"),
    ("Quels articles ces trois derniers mois ?", "fr", D(2026, 9, 5), D(2026, 12, 5), False, "ces trois derniers mois"),
    ("What happened in the last 10 days?", "en", D(2026, 11, 25), D(2026, 12, 5), False, "in the last 10 days"),
    ("What happened over the past two weeks?", "en", D(2026, 11, 21), D(2026, 12, 5), False, "over the past two weeks"),
    ("What happened in the past week?", "en", D(2026, 11, 28), D(2026, 12, 5), False, "in the past week"),
    ("Que s'est-il passé ces derniers jours ?", "fr", D(2026, 11, 28), D(2026, 12, 5), False, "ces derniers jours"),
    ("Des grèves depuis trois mois ?", "fr", D(2026, 9, 5), D(2026, 12, 5), False, "depuis trois mois"),
    ("Que s'est-il passé il y a 3 jours ?", "fr", D(2026, 12, 2), D(2026, 12, 2), False, "il y a 3 jours"),
    ("What happened 2 weeks ago?", "en", D(2026, 11, 16), D(2026, 11, 22), False, "2 weeks ago"),
    ("Qu'est-ce qui a changé il y a un an ?", "fr", D(2025, 1, 1), D(2025, 12, 31), False, "il y a un an"),
    ("Qu'a dit le maire lundi dernier ?", "fr", D(2026, 11, 30), D(2026, 11, 30), False, "lundi dernier"),
    ("What did the mayor say last Saturday?", "en", D(2026, 11, 28), D(2026, 11, 28), False, "last Saturday"),
    ("Qu'a voté le Sénat en mars dernier ?", "fr", D(2026, 3, 1), D(2026, 3, 31), False, "en mars dernier"),
    ("What did the Senate pass last December?", "en", D(2025, 12, 1), D(2025, 12, 31), False, "last December"),
    # recency
    ("les dernières nouvelles sur le titane", "fr", None, None, True, "les dernières nouvelles"),
    ("Quels sont les articles les plus récents sur la grève ?", "fr", None, None, True, "les plus récents"),
    ("Qu'a-t-on appris récemment sur le titane ?", "fr", None, None, True, "récemment"),
    ("What is the latest on titanium?", "en", None, None, True, "the latest"),
    ("most recent news on Mali", "en", None, None, True, "most recent news"),
    ("Show me the newest articles about the strike", "en", None, None, True, "the newest articles"),
    ("Quelles réformes ces dernières années ?", "fr", None, None, True, "ces dernières années"),
    ("What happened in recent years?", "en", None, None, True, "in recent years"),
    # both: one expression
    ("les dernières nouvelles de la semaine dernière", "fr", D(2026, 11, 23), D(2026, 11, 29), True, "les dernières nouvelles de la semaine dernière"),
    # no time
    ("quels articles parlent de la réforme des retraites ?", "fr", None, None, False, ""),
    ("Quelle est la taille de la planète Mars ?", "fr", None, None, False, ""),
    ("Quelle mission a été lancée vers Mars en 2020 ?", "fr", D(2020, 1, 1), D(2020, 12, 31), False, "en 2020"),
    ("Qui est Avril Lavigne ?", "fr", None, None, False, ""),
    ("May I ask about the budget?", "en", None, None, False, ""),
    ("Where did they march?", "en", None, None, False, ""),
    ("At the time of Martin Luther what was in demand?", "en", None, None, False, ""),
    ("Quel-est le plus célèbre des maillots de bain ?", "fr", None, None, False, ""),
    ("Comment s'appelle aujourd'hui la ville ?", "fr", None, None, False, ""),
    ("What is the city called today?", "en", None, None, False, ""),
    ("Quel est le record du 1500 mètres ?", "fr", None, None, False, ""),
    ("Combien de soldats : de 1500 hommes ?", "fr", None, None, False, ""),
    ("Une armée de 2000 soldats", "fr", None, None, False, ""),
    ("Que se passe-t-il en 1200 av. J.-C. ?", "fr", None, None, False, ""),
    ("What happened in 1200 BC?", "en", None, None, False, ""),
    ("Quel sera le dernier jour de l'année 1442 du calendrier hégirien ?", "fr", None, None, False, ""),
    ("Quelle est la bataille du 16 août ?", "fr", None, None, False, ""),
    ("artistes exposés en janvier 52", "fr", None, None, False, ""),
    ("Quel est le dernier roi de France ?", "fr", None, None, False, ""),
    ("Où a-t-il passé les trois derniers mois de sa vie ?", "fr", None, None, False, ""),
    ("il construisit la maison en trois mois", "fr", None, None, False, ""),
    ("Quel montant en 2003 ?", "fr", D(2003, 1, 1), D(2003, 12, 31), False, "en 2003"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("question", "language", "after", "before", "recency", "expression"), CASES
)
def test_time_in_questions(question, language, after, before, recency, expression):
    ask = read_time(question, language, NOW)
    window = (ask.window.after, ask.window.before) if ask.window else (None, None)
    assert window == (after, before)
    assert ask.recency is recency
    assert ask.expression == expression
    if expression:
        a, b = ask.span
        assert question[a:b] == expression
    else:
        assert ask.span is None


def test_there_are_enough_cases():
    assert len(CASES) >= 60
    assert {c[1] for c in CASES} == {"fr", "en"}


@pytest.mark.parametrize(
    ("now", "question", "language", "after", "before"),
    [
        # weeks start on Monday: on a Monday, last week is the 7 days before it
        (datetime(2026, 11, 30), "la semaine dernière", "fr", D(2026, 11, 23), D(2026, 11, 29)),
        (datetime(2026, 11, 30), "cette semaine", "fr", D(2026, 11, 30), D(2026, 11, 30)),
        # on a Sunday, this week began six days ago
        (datetime(2026, 12, 6), "this week", "en", D(2026, 11, 30), D(2026, 12, 6)),
        # last month across a year, and into February of a leap year
        (datetime(2026, 1, 15), "last month", "en", D(2025, 12, 1), D(2025, 12, 31)),
        (datetime(2024, 3, 10), "le mois dernier", "fr", D(2024, 2, 1), D(2024, 2, 29)),
        # yesterday across a month and a year
        (datetime(2026, 3, 1), "hier", "fr", D(2026, 2, 28), D(2026, 2, 28)),
        (datetime(2026, 1, 1), "yesterday", "en", D(2025, 12, 31), D(2025, 12, 31)),
        # the last month from 31 March is 28 February..31 March
        (datetime(2026, 3, 31), "the last month", "en", D(2026, 2, 28), D(2026, 3, 31)),
        (datetime(2024, 3, 31), "ces deux derniers mois", "fr", D(2024, 1, 31), D(2024, 3, 31)),
        # 29 February without a year: the last leap year's
        (datetime(2026, 12, 5), "le 29 février", "fr", D(2024, 2, 29), D(2024, 2, 29)),
        (datetime(2028, 2, 28), "le 29 février", "fr", D(2024, 2, 29), D(2024, 2, 29)),
        (datetime(2028, 2, 29), "le 29 février", "fr", D(2028, 2, 29), D(2028, 2, 29)),
        # "mars dernier" said in March is last year's; "en mars" said in March is this one
        (datetime(2026, 3, 10), "en mars dernier", "fr", D(2025, 3, 1), D(2025, 3, 31)),
        (datetime(2026, 3, 10), "en mars", "fr", D(2026, 3, 1), D(2026, 3, 31)),
        (datetime(2026, 2, 10), "in March", "en", D(2025, 3, 1), D(2025, 3, 31)),
        # a month ago from January: December, a year earlier
        (datetime(2026, 1, 20), "il y a un mois", "fr", D(2025, 12, 1), D(2025, 12, 31)),
        (date(2026, 12, 5), "yesterday", "en", D(2026, 12, 4), D(2026, 12, 4)),
    ],
)
def test_relative_to_the_reference_time(now, question, language, after, before):
    ask = read_time(question, language, now)
    assert ask.window == Window(after, before)


def test_an_impossible_day_is_no_window():
    assert read_time("que s'est-il passé le 31 avril 2020 ?", "fr", NOW).window is None
    assert read_time("on February 30, 2020", "en", NOW).window is None


@pytest.mark.parametrize(
    ("window", "fr", "en"),
    [
        (Window(D(2020, 2, 1), D(2020, 2, 29)), "en février 2020", "in February 2020"),
        (Window(D(2020, 2, 1), D(2020, 2, 28)), "du 1er au 28 février 2020", "from 1 to 28 February 2020"),
        (Window(D(1915, 1, 1), D(1915, 12, 31)), "en 1915", "in 1915"),
        (Window(D(1980, 1, 1), D(1989, 12, 31)), "de 1980 à 1989", "from 1980 to 1989"),
        (Window(D(2026, 3, 1), None), "depuis le 1er mars 2026", "since 1 March 2026"),
        (Window(None, D(2019, 12, 31)), "jusqu’au 31 décembre 2019", "until 31 December 2019"),
        (Window(D(2020, 10, 23), D(2020, 10, 23)), "le 23 octobre 2020", "on 23 October 2020"),
        (Window(D(2020, 3, 1), D(2020, 5, 31)), "du 1er mars au 31 mai 2020", "from 1 March to 31 May 2020"),
        (Window(D(2019, 12, 28), D(2020, 1, 3)), "du 28 décembre 2019 au 3 janvier 2020", "from 28 December 2019 to 3 January 2020"),
    ],
)  # fmt: skip
def test_a_window_is_named_in_the_question_language(window, fr, en):
    assert window.describe("fr") == fr
    assert window.describe("en") == en


def test_a_window_filters_by_published_day():
    w = Window(D(2020, 2, 1), D(2020, 2, 29))
    assert w.day_numbers() == (20200201, 20200229)
    assert w.where() == {
        "$and": [{"published_day": {"$gte": 20200201}}, {"published_day": {"$lte": 20200229}}]
    }
    assert Window(D(2026, 3, 1), None).where("day") == {"day": {"$gte": 20260301}}
    assert w.holds(D(2020, 2, 29)) and not w.holds(D(2020, 3, 1))
    with pytest.raises(ValueError, match="before it starts"):
        Window(D(2020, 3, 1), D(2020, 2, 1))
    with pytest.raises(ValueError, match="at least one bound"):
        Window(None, None)


@pytest.mark.parametrize(
    ("question", "language", "searched"),
    [
        ("what happened last week in Kazakhstan?", "en", "what happened in Kazakhstan?"),
        ("Qu'a publié Le Devoir en février 2020 ?", "fr", "Qu'a publié Le Devoir ?"),
        ("les dernières nouvelles sur le titane", "fr", "sur le titane"),
        ("La semaine dernière, qu'a dit le ministre ?", "fr", "qu'a dit le ministre ?"),
        ("Qu'a dit le ministre, la semaine dernière ?", "fr", "Qu'a dit le ministre ?"),
        ("quels articles parlent de la réforme des retraites ?", "fr", "quels articles parlent de la réforme des retraites ?"),
        ("yesterday?", "en", "yesterday?"),  # nothing left to search with: the question as asked
    ],
)  # fmt: skip
def test_strip_time_leaves_what_to_search_for(question, language, searched):
    assert strip_time(question, read_time(question, language, NOW)) == searched


def test_no_time_is_no_ask():
    ask = read_time("Qui est le président du Sénat ?", "fr", NOW)
    assert ask == TimeAsk(None, False, "", None) and not ask.found


# --- the dev questions: how many get a window, and from what ------------------------------

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
_TIME_WORD = re.compile(
    r"\d{4}|\d0'?s\b|ann[ée]es \d0|janvier|f[ée]vrier|mars|avril|mai|juin|juillet|ao[uû]t|"
    r"septembre|octobre|novembre|d[ée]cembre|january|february|march|april|may|june|july|"
    r"august|september|october|november|december|ann[ée]e|year|month|week|semaine|mois|"
    r"hier|yesterday|today|aujourd",
    re.I,
)


@pytest.mark.parametrize(
    ("name", "language", "most"),
    [("piaf/piaf-v1.1-dev.json", "fr", 0.08), ("xquad-en/xquad-en-dev.json", "en", 0.08)],
)
def test_dev_questions_get_few_windows_and_only_from_time_words(name, language, most):
    path = DATA / name
    if not path.exists():
        pytest.skip(f"{path} is absent (the shared data folder is not on this machine)")
    from evaluation.datasets import load_squad

    questions = [q.question for q in load_squad(path).questions]
    asks = [read_time(q, language, NOW) for q in questions]
    windows = [a for a in asks if a.window is not None]
    # PIAF 237 / 3709, XQuAD 41 / 711 (rag bench time_questions) (years, dates and decades the questions name)
    assert len(windows) <= most * len(questions)
    for q, a in zip(questions, asks, strict=True):
        if a.window is not None:
            assert _TIME_WORD.search(a.expression), (q, a.expression)
            assert re.search(r"(?<!\w)" + re.escape(a.expression), q), (q, a)
