"""Rule `sources-differ` (rag.verify.disagreement): disagreeing outlets, on the seed's text."""
# ruff: noqa: E501  (cases read best one a line)

from __future__ import annotations

from pathlib import Path

import pytest

from rag.verify.claims import parse
from rag.verify.config import VerifyConfig
from rag.verify.disagreement import SOURCES_DIFFER, differ, sources_differ
from rag.verify.rules import Evidence

SEED = Path(__file__).resolve().parent.parent / "seeds" / "000_7304b3bcc082d340.txt"
TITLE, _, BODY = SEED.read_text(encoding="utf-8").partition("\n")
FUND = (
    "En France, un fonds d’investissement de 2 milliards d’euros a été lancé pour développer "
    "des gisements de minéraux critiques à l’étranger"
)
VISIT = "suite à un accord signé lors de la visite du président français Emmanuel Macron en novembre 2023"
DELEGATE = "Le délégué interministériel pour les approvisionnements stratégiques en minerais et métaux auprès du Premier ministre français, Benjamin Gallezot, s’est félicité de la coopération actuelle"


def evidence(draft: str, sources: list[str], docs: tuple[str, ...] | None = None, lang="fr"):
    claims = tuple(parse(draft))
    ev = Evidence(
        draft=draft,
        claims=claims,
        sources=tuple(f"{TITLE}\n{s}" for s in sources),
        question="Quel est le montant du fonds ?",
        language=lang,
        used=lang,
        same_language=True,
        config=VerifyConfig(),
        source_docs=docs if docs is not None else tuple(f"doc{i}" for i in range(len(sources))),
    )
    return claims, ev


def test_a_changed_amount_cites_both_sides_and_names_both_values():
    assert FUND in BODY.replace("\n", " ")
    other = BODY.replace("2 milliards d’euros", "3 milliards d’euros")
    claims, ev = evidence("Un fonds de 2 milliards d’euros a été lancé [1].", [BODY, other])
    (d,) = sources_differ(claims, ev)
    assert d.rule == SOURCES_DIFFER and d.claim == 0 and d.action == "keep"
    assert d.cites == (1, 2)
    assert d.reason == "sources differ: 2 milliards d’euros [1] / 3 milliards d’euros [2]"
    assert d.note == "Les sources diffèrent : 2 milliards d’euros [1], 3 milliards d’euros [2]."


@pytest.mark.parametrize(
    ("old", "new", "claim", "ours", "theirs"),
    [
        ("novembre 2023", "novembre 2022", "L’accord a été signé lors de la visite de Macron en novembre 2023 [1].", "2023", "2022"),
        ("en novembre", "en octobre", "L’accord a été signé lors de la visite de Macron en novembre 2023 [1].", "novembre", "octobre"),
        ("Benjamin Gallezot, s’est", "Pierre Durand, s’est", "Benjamin Gallezot s’est félicité de la coopération [1].", "Benjamin Gallezot", "Pierre Durand"),
        ("quatre objectifs principaux", "cinq objectifs principaux", "L’accord comprend quatre objectifs principaux [1].", "quatre objectifs", "cinq objectifs"),
    ],
)  # fmt: skip
def test_a_changed_date_month_name_or_spelled_number(old, new, claim, ours, theirs):
    assert old in BODY
    claims, ev = evidence(claim, [BODY, BODY.replace(old, new)])
    (d,) = sources_differ(claims, ev)
    assert d.action == "keep" and d.cites == (1, 2)
    assert d.reason == f"sources differ: {ours} [1] / {theirs} [2]"


def test_the_other_side_cited_first_and_a_claim_citing_both():
    other = BODY.replace("2 milliards", "3 milliards")
    claims, ev = evidence("Un fonds de 3 milliards d’euros a été lancé [2].", [BODY, other])
    (d,) = sources_differ(claims, ev)
    assert d.cites == (2, 1)
    assert d.reason == "sources differ: 3 milliards d’euros [2] / 2 milliards d’euros [1]"
    claims, ev = evidence("Un fonds de 2 milliards d’euros a été lancé [1] [2].", [BODY, other])
    (d,) = sources_differ(claims, ev)
    assert d.action == "keep" and d.reason.startswith("sources differ: 2 milliards")


def test_agreeing_sources_do_not_trigger_it():
    reworded = BODY.replace("a été lancé pour développer", "vient d’être créé afin de développer")
    trimmed = BODY[: BODY.index("Outre le titane")] + FUND + "."
    claim = "Un fonds de 2 milliards d’euros a été lancé [1]."
    for other in (BODY, reworded, trimmed):
        claims, ev = evidence(claim, [BODY, other])
        assert sources_differ(claims, ev) == []


def test_passages_of_one_document_are_not_compared():
    other = BODY.replace("2 milliards", "3 milliards")
    claims, ev = evidence(
        "Un fonds de 2 milliards d’euros a été lancé [1].", [BODY, other], ("a", "a")
    )
    assert sources_differ(claims, ev) == []
    # without the documents (a plain Evidence), each passage counts as its own
    fields = {k: getattr(ev, k) for k in Evidence.__dataclass_fields__}
    plain = Evidence(**{**fields, "source_docs": ()})  # type: ignore[arg-type]
    assert [d.cites for d in sources_differ(claims, plain)] == [(1, 2)]


def test_two_values_changed_are_two_statements_not_a_disagreement():
    other = BODY.replace("novembre 2023", "mars 2024")  # month and year
    claims, ev = evidence("L’accord a été signé en novembre 2023 [1].", [BODY, other])
    assert sources_differ(claims, ev) == []
    assert (
        differ(
            "En 2022, l’accident a fait 3 morts sur la route nationale près de Lyon.",
            "En 2023, l’accident a fait 5 morts sur la route nationale près de Lyon.",
        )
        is None
    )
    assert (
        differ(
            "La France a investi 2 milliards d’euros dans les gisements de titane au Kazakhstan.",
            "L’Allemagne a investi 3 milliards d’euros dans les gisements de titane au Kazakhstan.",
        )
        is None
    )


def test_a_difference_the_claim_does_not_state_is_not_reported():
    other = BODY.replace("novembre 2023", "novembre 2022")
    # the claim says nothing of the date: the sources differ on something else
    claims, ev = evidence(
        "Un accord a été signé lors de la visite d’Emmanuel Macron [1].", [BODY, other]
    )
    assert sources_differ(claims, ev) == []


def test_unrelated_sentences_with_other_values_do_not_trigger_it():
    assert (
        differ(FUND, "Le stade a accueilli 3 matchs en février devant 20 000 spectateurs.") is None
    )
    assert differ(DELEGATE, DELEGATE.replace("Benjamin Gallezot", "le ministre")) is None
    assert differ(VISIT, VISIT + " à Astana, avec 12 accords") is None  # one says more


def test_a_name_against_words_is_another_statement():
    # a sentence cut at "Rep." in one source, whole in the other
    assert (
        differ(
            "Her victory would come in a district that overlaps with the one held by left-wing Democratic Rep.",
            "Her victory would come in a district that overlaps with the one held by Alexandria Ocasio-Cortez.",
        )
        is None
    )
    d = differ(
        "Le rapport a été remis mardi au ministre par Jean de La Tour, président de la commission.",
        "Le rapport a été remis mardi au ministre par Paul Morel, président de la commission.",
    )
    assert d is not None and (d.kind, d.ours, d.theirs) == ("name", "Jean de La Tour", "Paul Morel")


def test_the_same_number_written_differently_is_no_difference():
    assert differ("Le fonds atteint 2 000 000 euros selon le ministère des Finances français.",
                  "Le fonds atteint 2000000 euros selon le ministère des Finances français.") is None  # fmt: skip
    d = differ(
        "The fund reached 2.5 billion euros according to the French finance ministry.",
        "The fund reached 3.1 billion euros according to the French finance ministry.",
    )
    assert d is not None and (d.ours, d.theirs) == ("2.5 billion euros", "3.1 billion euros")


def test_thousands_separators():
    base = "The company said it had sold {} copies of the game in its first month on sale."
    assert differ(base.format("7,000,000"), base.format("7 000 000")) is None
    d = differ(base.format("7,000,000"), base.format("7,500,000"))
    assert d is not None and (d.ours, d.theirs) == ("7,000,000 copies", "7,500,000 copies")


def test_english_percentages():
    d = differ(
        "Turnout in the regional election reached 48% according to the interior ministry.",
        "Turnout in the regional election reached 52% according to the interior ministry.",
    )
    assert d is not None and (d.kind, d.ours, d.theirs) == ("number", "48 %", "52 %")


def test_the_answer_says_the_sources_differ_and_cites_each_side():
    """Through the verification stage: the claim stays as the model wrote it, the answer adds
    that the sources differ, each value cited (client numbering), and the decision is named."""
    from rag.schema import Chunk, Passage
    from rag.verify import verify

    other = BODY.replace("2 milliards d’euros", "3 milliards d’euros")
    passages = [
        Passage(Chunk(f"c{i}", f"doc{i}", t, 0, len(t), TITLE, language="fr"), 1.0)
        for i, t in enumerate([BODY, other], 1)
    ]
    q = "Quel est le montant du fonds ?"
    v = verify("Un fonds de 2 milliards d’euros a été lancé [1].", passages, q, "fr")
    assert v.text == (
        "Un fonds de 2 milliards d’euros a été lancé [1]. "
        "Les sources diffèrent : 2 milliards d’euros [1], 3 milliards d’euros [2]."
    )
    assert v.cited == [1, 2] and [d.rule for d in v.decisions] == [SOURCES_DIFFER]
    # the same article twice is one source
    same = [
        Passage(Chunk(f"c{i}", "doc", t, 0, len(t), TITLE, language="fr"), 1.0)
        for i, t in enumerate([BODY, other])
    ]
    assert (
        "diffèrent"
        not in verify("Un fonds de 2 milliards d’euros a été lancé [1].", same, q, "fr").text
    )
