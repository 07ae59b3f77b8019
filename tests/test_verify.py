"""The verification stage (rag.verify): rules in order, decisions, settings, rendering."""

from __future__ import annotations

import logging

import pytest

from rag.embedding import HashingEmbedder
from rag.schema import Chunk, Passage
from rag.settings import Settings
from rag.verify import RULE_NAMES, VerifyConfig, verify
from rag.verify.claims import parse

PASSAGES_EN = [
    "The city council met on Monday to discuss the new tram line.",
    "The tram line will cost 240 million euros and open in 2027.",
]
NEW_RULE = "number-in-cited-passage"


def passages(texts: list[str], language: str = "en") -> list[Passage]:
    return [
        Passage(Chunk(f"c{i}", f"d{i}", t, 0, len(t), f"T{i}", language=language), 1.0)
        for i, t in enumerate(texts, 1)
    ]


def run(draft: str, texts=PASSAGES_EN, question="What will the tram line cost?", **settings):
    return verify(
        draft, passages(texts), question, "en", VerifyConfig(**settings), HashingEmbedder()
    )


def test_a_number_cites_the_passage_that_holds_it():
    # the claim cites passage 1, but only passage 2 holds 240
    draft = "The tram line will cost 240 million euros [1]."
    v = run(draft)
    assert v.cited == [2] and v.text == "The tram line will cost 240 million euros [1]."
    (d,) = v.decisions
    assert (d.rule, d.action, d.cites) == (NEW_RULE, "recite", (2,))
    assert d.reason == "number 240 is in passage 2, not in cited passage 1"
    # before this rule, a number anywhere in the sources was enough: the claim kept [1]
    before = run(draft, rules_off=frozenset({NEW_RULE}))
    assert before.cited == [1] and before.decisions == []


def test_a_number_in_a_cited_passage_is_left_alone():
    v = run("The line opens in 2027 [1][2]. The council met on Monday [1].")
    assert v.decisions == [] and v.cited == [1, 2]
    assert v.text == "The line opens in 2027 [1][2]. The council met on Monday [1]."


def test_a_number_the_cited_passage_spells_out_counts():
    texts = ["The club has twenty members.", "The club was founded in 20 BC, said nobody."]
    v = run("The club has 20 members [1].", texts, "How many members?")
    assert v.decisions == [] and v.cited == [1]


def test_a_number_the_claim_spells_out_is_checked_too():
    # seen on the seed: « dureront dix-huit mois » answered "will last for ten months [2]"
    texts = [
        "The council voted a budget of 4.2 million euros.",
        "The work will start in September and last eighteen months.",
    ]
    q = "What budget did the council vote?"
    wrong = run("It voted 4.2 million euros [1]. The work will last ten months [2].", texts, q)
    assert wrong.text == "It voted 4.2 million euros [1]."
    (d,) = wrong.decisions
    assert (d.rule, d.action, d.reason) == (
        "number-in-sources",
        "drop",
        "number ten found in no passage",
    )
    right = run("It voted 4.2 million euros [1]. The work will last 18 months [2].", texts, q)
    assert right.decisions == []


@pytest.mark.parametrize(
    "claim",
    [
        "The two countries signed one agreement [1].",  # "one" is not held to a number
        "Un nouveau stade neuf ouvrira [1].",  # "neuf": new
        "Trois cents personnes sont venues [1].",  # 300, not 3
    ],
)
def test_words_that_are_not_the_number_they_spell_are_left_alone(claim):
    texts = ["The two countries signed an agreement; 300 people came to the new stadium."]
    assert run(claim, texts, "Who signed?").decisions == []


def test_a_number_in_no_passage_is_dropped_by_either_number_rule():
    draft = "The line opens in 2027 [2]. The city has 17 tram stops [2]."
    v = run(draft)
    assert v.text == "The line opens in 2027 [1]." and v.cited == [2]
    (d,) = v.decisions
    assert (d.rule, d.action, d.reason) == (
        "number-in-sources",
        "drop",
        "number 17 found in no passage",
    )
    # with the older rule off, the new one still finds 17 in no passage
    off = run(draft, rules_off=frozenset({"number-in-sources"}))
    assert off.text == v.text
    assert [(d.rule, d.action) for d in off.decisions] == [(NEW_RULE, "drop")]


def test_numbers_spread_over_passages_add_the_missing_one():
    texts = ["Works start in 2025.", "The line opens in 2027.", "Nothing here."]
    v = run("Works start in 2025 and the line opens in 2027 [1].", texts, "When?")
    (d,) = v.decisions
    assert (d.action, d.cites) == ("recite", (1, 2))
    assert v.text == "Works start in 2025 and the line opens in 2027 [1][2]." and v.cited == [1, 2]


def test_an_uncited_claim_is_cited_then_checked_for_its_numbers():
    v = run("The tram line will cost 240 million euros.", question="How much?")
    assert [(d.rule, d.action) for d in v.decisions] == [("uncited-claim", "recite")]
    assert v.text == "The tram line will cost 240 million euros [1]." and v.cited == [2]


def test_abstention_and_no_claim_left():
    v = run("The sources do not say [2].")
    assert v.abstained and v.text == "The sources do not say." and v.cited == []
    # the service's own no-answer sentence opens it: nothing after can change that
    assert [(d.rule, d.claim, d.action) for d in v.decisions] == [("abstention", 0, "abstain")]
    # across languages words are not compared: the abstention itself is recognised
    fr = verify("Les sources ne le disent pas. [1]", passages(PASSAGES_EN), "Qui ?", "fr")
    assert fr.abstained and fr.text == "Les sources ne le disent pas."
    assert [(d.rule, d.reason) for d in fr.decisions] == [
        ("abstention", "the answer says the sources do not answer")
    ]
    gone = run("Paris has 17 bridges [1].")
    assert gone.abstained and gone.decisions[-1].reason == "no claim is left"
    assert gone.report()[0] == {
        "rule": "number-in-sources",
        "claim": "Paris has 17 bridges.",
        "action": "drop",
        "reason": "number 17 found in no passage",
    }


def test_non_keep_decisions_are_logged(caplog):
    with caplog.at_level(logging.INFO, logger="rag.verify"):
        run("The tram line will cost 240 million euros [1]. The city has 17 tram stops [1].")
    lines = [r.getMessage() for r in caplog.records if r.name == "rag.verify"]
    assert len(lines) == 2  # claim by claim, as they are complete
    assert lines[0].startswith(f"{NEW_RULE}: recite 'The tram line will cost 240")
    assert lines[1].startswith("number-in-sources: drop 'The city has 17 tram stops.'")


def test_claims_are_parsed_once_in_the_models_numbering():
    text = "Les objectifs :\n1. La géologie [3]\n2. Selon M. Dupont, le titane [1][3]."
    claims = parse(text)
    assert [c.says for c in claims] == [
        "Les objectifs :",
        "La géologie",
        "Selon M. Dupont, le titane.",
    ]
    assert [c.cites for c in claims] == [(), (3,), (1, 3)]
    assert not any(c.needs_citation for c in claims)  # introduces a list, or cites


def test_the_verification_thresholds_keep_their_measured_values():
    d = VerifyConfig()
    assert (d.min_support, d.lexical_minimum, d.lexical_margin) == (0.5, 0.6, 0.0)
    assert (d.crosslingual_cite_minimum, d.crosslingual_margin, d.rules_off) == (
        0.87,
        0.02,
        frozenset(),
    )
    assert set(RULE_NAMES) == {
        "number-in-sources",
        "words-in-sources",
        "abstention",
        "uncited-claim",
        NEW_RULE,
        "restates-question",
        "copies-heading",
        "question-names",
        "polarity",
        "sources-differ",
        "answer-kind",
    }


def test_evaluation_derives_one_row_per_rule_from_the_same_draft(settings):
    from evaluation.datasets import Question
    from evaluation.runner import rule_ablations
    from tests.conftest import make_test_service

    service = make_test_service(settings)
    rows = dict(rule_ablations(service))
    assert list(rows) == [*(f"ours -{r}" for r in RULE_NAMES), "ours -verification"]
    context = passages(PASSAGES_EN)
    q = Question(id="q1", question="What will the tram line cost?", answers=("240 million",))
    v = verify("The tram line will cost 240 million euros [1].", context, q.question, "en")
    out = {"answer": v.text, "verified": v, "context_passages": context, "language": "en"}
    out |= {"cited": [], "n_sources": 1, "abstained": False}
    # switching a rule off that did nothing leaves the answer as it is, without re-presenting
    assert rows["ours -words-in-sources"](out, q) is out
    before = rows[f"ours -{NEW_RULE}"](out, q)
    assert before["answer"] == "The tram line will cost 240 million euros [1]."
    assert [c.doc_id for c in before["cited"]] == ["d1"]  # where the model's marker pointed


SEED_FR = [
    "Outre le titane, Benjamin Gallezot a refusé de commenter les possibilités d’expansion de "
    "la coopération dans le secteur de l’uranium.",
    "La France envisage d’élargir sa collaboration avec le Kazakhstan dans le secteur du "
    "titane, essentiel pour l’aviation.",
    "La nouvelle ligne coûtera 240 millions d’euros. Elle est financée par la région.",
]


def run_fr(draft: str, question: str, **settings):
    return verify(draft, passages(SEED_FR, "fr"), question, "fr", VerifyConfig(**settings), None)


def test_a_claim_that_says_the_opposite_of_its_citation_is_dropped():
    q = "Qu’a dit Benjamin Gallezot sur l’uranium ?"
    v = run_fr("Benjamin Gallezot a commenté l’expansion de la coopération dans l’uranium [1].", q)
    assert v.abstained  # its only claim contradicted the passage it cites
    d = next(d for d in v.decisions if d.rule == "polarity")
    assert d.action == "drop" and "refusé de commenter" in d.reason
    kept = run_fr("Benjamin Gallezot a refusé de commenter l’expansion dans l’uranium [1].", q)
    assert not kept.abstained and "polarity" not in [d.rule for d in kept.decisions]
    # the reverse: a negated claim against an affirmative sentence
    q2 = "La France veut-elle élargir sa collaboration avec le Kazakhstan ?"
    neg = run_fr("La France n’envisage pas d’élargir sa collaboration avec le Kazakhstan [2].", q2)
    assert [d.rule for d in neg.decisions if d.action == "drop"] == ["polarity"]
    off = run_fr(
        "La France n’envisage pas d’élargir sa collaboration avec le Kazakhstan [2].",
        q2,
        rules_off=frozenset({"polarity"}),
    )
    assert not off.abstained


def test_a_negation_in_another_clause_is_not_a_contradiction():
    texts = ["Although it did not rain, the festival attracted ten thousand people."]
    v = run("The festival attracted ten thousand people [1].", texts, "How many came?")
    assert not v.abstained and v.text == "The festival attracted ten thousand people [1]."


def test_a_claim_that_restates_the_question_is_no_answer():
    q = "When does the new tram line open?"
    v = run("The new tram line opens when the tram line opens [1].", question=q)
    assert v.abstained
    assert v.decisions[0].rule == "restates-question"
    # a list's opening line is not a claim of its own
    ok = run(
        "The tram line will cost:\n1. 240 million euros [2].",
        question="What will the tram line cost?",
    )
    assert not ok.abstained and "restates-question" not in [d.rule for d in ok.decisions]
    # a line of markers after the answer (seen on the news set) says nothing either
    trailing = run("The tram line will open in 2027 [2]. [1], [2]", question=q)
    assert trailing.text == "The tram line will open in 2027 [1]." and not trailing.abstained
    assert [(d.rule, d.reason) for d in trailing.decisions] == [
        ("restates-question", "says nothing: only markers")
    ]


def test_a_claim_about_the_sources_is_no_answer():
    # An English question over a French article (where words-in-sources cannot judge): the
    # claim says where a name appears, not what the article says about it.
    fr = ["Benjamin Gallezot, délégué interministériel, s’est félicité de la coopération."]

    def check(draft: str, question: str = "Who is Benjamin Gallezot?", language: str = "en"):
        return verify(
            draft, passages(fr, "fr"), question, language, VerifyConfig(), HashingEmbedder()
        )

    for meta in (
        "He was quoted in sources [1].",
        "Benjamin Gallezot is mentioned in the text [1].",
    ):
        v = check(meta)
        assert v.abstained, meta
        assert ("restates-question", "says only that the sources mention it") in [
            (d.rule, d.reason) for d in v.decisions
        ]
    # within one language, its words are not in the passage either (words-in-sources)
    assert check("Il est cité dans l’article [1].", "Qui est Benjamin Gallezot ?", "fr").abstained
    # what the article says about him, or who quoted him, is an answer
    for fact in (
        "Benjamin Gallezot est délégué interministériel [1].",
        "Benjamin Gallezot a été cité par le délégué interministériel [1].",
    ):
        v = check(fact, "Qui est Benjamin Gallezot ?", "fr")
        assert not v.abstained and v.decisions == [], (fact, v.decisions)


def test_a_claim_that_copies_a_heading_is_no_answer():
    texts = [
        "Stratégie et opportunités dans le titane\n\nBenjamin Gallezot a refusé de commenter.",
        "Le titane est crucial pour l’industrie aéronautique.",
    ]
    q = "Qu’a dit Benjamin Gallezot sur l’uranium ?"
    v = verify(
        "Stratégie et opportunités dans le titane [1].",
        passages(texts, "fr"), q, "fr", VerifyConfig(), None,
    )  # fmt: skip
    assert v.abstained and v.decisions[0].rule == "copies-heading"
    # an article's title may be the very name asked for (PIAF: "Othman ibn Affân"): kept
    title = verify("T2 [2].", passages(texts, "fr"), q, "fr", VerifyConfig(), None)
    assert "copies-heading" not in [d.rule for d in title.decisions]
    said = "Benjamin Gallezot a refusé de commenter [1]."
    ok = verify(said, passages(texts, "fr"), q, "fr", VerifyConfig(), None)
    assert not ok.abstained and "copies-heading" not in [d.rule for d in ok.decisions]
    # a source's header reprinted as the prompt shows it: the model is copying the sources
    # out, so the claims before it stay and the rest of the draft is not read
    titanium = "Le titane est crucial pour l’industrie aéronautique [2]."
    q = "Que sait-on du titane ?"
    v = verify(f"{titanium}\n\n[2] T2\n{titanium} Il l’est [2].", passages(texts, "fr"), q, "fr")
    (stopped,) = [d for d in v.decisions if d.rule == "copies-heading"]
    assert stopped.action == "stop" and "header of source 2" in stopped.reason
    shown = titanium.replace("[2]", "[1]")  # the client numbering
    assert v.text == shown and not v.abstained
    # a heading on its own line is dropped, and the claims either side of it stay apart
    heading = "Stratégie et opportunités dans le titane"
    v = verify(f"{titanium}\n\n{heading}\n{titanium}", passages(texts, "fr"), q, "fr")
    assert v.text == f"{shown}\n\n{shown}", v.text


def test_an_answer_of_the_wrong_kind_abstains():
    q = "Combien coûtera la nouvelle ligne ?"
    v = run_fr("La nouvelle ligne est essentielle pour la région [3].", q)
    assert v.abstained and v.decisions[-1].rule == "answer-kind"
    assert v.decisions[-1].reason == "the question asks for a figure; the answer gives none"
    assert not run_fr("La nouvelle ligne coûtera 240 millions d’euros [3].", q).abstained
    off = run_fr(
        "La nouvelle ligne est essentielle pour la région [3].",
        q,
        rules_off=frozenset({"answer-kind"}),
    )
    assert not off.abstained
    who = "Qui a refusé de commenter l’uranium ?"
    assert run_fr("Le délégué a refusé de commenter l’uranium [1].", who).abstained
    assert not run_fr("Benjamin Gallezot a refusé de commenter l’uranium [1].", who).abstained


def test_claims_wait_for_the_asked_kind_then_stream_unchanged():
    from rag.verify import ClaimStream

    q = "Combien coûtera la nouvelle ligne ?"
    stream = ClaimStream(passages(SEED_FR, "fr"), q, "fr")
    first = stream.feed("La nouvelle ligne est financée par la région [3]. Elle ")
    assert first == ""  # no figure yet: held
    second = stream.feed("coûtera 240 millions d’euros [3]. Voilà")
    # the figure came: both claims go, as they will stay
    assert second == (
        "La nouvelle ligne est financée par la région [1]. Elle coûtera 240 millions d’euros [1]."
    )
    v = stream.finish()
    assert v.text == second + stream.tail and not v.abstained


class _TopicEmbedder:
    """Vectors from topic words in either language: enough to test the choice of clause."""

    topics = (("uranium",), ("titane", "titanium"), ("aviation", "aéronautique", "aerospace"))

    def embed_queries(self, texts):
        import numpy as np

        rows = [[float(any(w in t.lower() for w in ws)) for ws in self.topics] for t in texts]
        m = np.asarray(rows, dtype=np.float32) + 1e-6
        return m / np.linalg.norm(m, axis=1, keepdims=True)


def test_polarity_across_languages_compares_the_most_similar_clause():
    q = "What did Benjamin Gallezot say about uranium?"
    texts = [SEED_FR[0]]

    def check(draft: str):
        return verify(draft, passages(texts, "fr"), q, "en", VerifyConfig(), _TopicEmbedder())

    wrong = check("Benjamin Gallezot wants to expand the cooperation on uranium [1].")
    assert [d.rule for d in wrong.decisions if d.action == "drop"] == ["polarity"]
    assert "refusé de commenter" in wrong.decisions[0].reason
    right = check("Benjamin Gallezot declined to comment on the uranium cooperation [1].")
    assert not right.abstained and "polarity" not in [d.rule for d in right.decisions]
    # no clause close enough: nothing to compare with
    far = check("The weather was pleasant in Astana during the whole visit [1].")
    assert "polarity" not in [d.rule for d in far.decisions]


@pytest.mark.integration
def test_polarity_across_languages_with_the_real_embedder():
    from rag.components import make_embedder

    settings = Settings(embedder="sentence-transformers")
    if not settings.models.embed_model_path.exists():
        pytest.skip(f"no embedder at {settings.models.embed_model_path}: run scripts/setup.sh")
    embedder = make_embedder(settings.models)
    q = "What did Benjamin Gallezot say about uranium?"

    def check(draft: str):
        return verify(draft, passages([SEED_FR[0]], "fr"), q, "en", VerifyConfig(), embedder)

    wrong = check(
        "Benjamin Gallezot expressed a desire to expand the cooperation in the uranium sector [1]."
    )
    assert "polarity" in [d.rule for d in wrong.decisions if d.action == "drop"], wrong
    right = check("Benjamin Gallezot declined to comment on expanding cooperation in uranium [1].")
    assert "polarity" not in [d.rule for d in right.decisions], right
    # a claim about something else that shares the subject is no contradiction (0.87 by e5;
    # round 7's threshold, 0.8, dropped this one and abstained)
    other = check(
        "Benjamin Gallezot is the French Minister of Strategic Approvisionments for Minerals "
        "and Metals [1]."
    )
    assert "polarity" not in [d.rule for d in other.decisions], other


@pytest.mark.integration
def test_an_uncited_claim_across_languages_cites_the_passage_of_its_sentence():
    """Seen over the seed: an English claim translating one French sentence stayed uncited,
    since it was compared with whole passages (0.79) and none stood out."""
    from rag.components import make_embedder

    settings = Settings(embedder="sentence-transformers")
    if not settings.models.embed_model_path.exists():
        pytest.skip(f"no embedder at {settings.models.embed_model_path}: run scripts/setup.sh")
    embedder = make_embedder(settings.models)
    texts = [
        "La France envisage d’élargir sa collaboration avec le Kazakhstan dans le secteur du "
        "titane, essentiel pour l’aviation. Les deux pays, déjà partenaires stratégiques, "
        "pourraient voir de nouveaux investissements mutuels.",
        "Benjamin Gallezot s’est félicité de la coopération actuelle. Cette collaboration "
        "pourrait se traduire par des investissements bilatéraux, avec des fonds injectés aussi "
        "bien en France qu’au Kazakhstan. Le titane est au cœur des discussions.",
    ]
    draft = (
        "Gallezot welcomed the current cooperation [2]. This collaboration could involve "
        "bilateral investments, with funds injected into both countries. The recipe needs two "
        "eggs, some flour and a pinch of salt."
    )
    q = "What did Benjamin Gallezot say?"
    v = verify(draft, passages(texts, "fr"), q, "en", VerifyConfig(), embedder)
    assert v.text == (
        "Gallezot welcomed the current cooperation [1]. This collaboration could involve "
        "bilateral investments, with funds injected into both countries [1]."
    ), v.decisions
    actions = [(d.rule, d.action, d.cites) for d in v.decisions]
    assert actions == [("uncited-claim", "recite", (2,)), ("uncited-claim", "drop", ())]


def test_a_short_uncited_item_across_languages_cites_the_passage_sharing_its_stems():
    """Seen over the seed: "Geology and exploration", a list item, was 0.90 similar to
    « la coopération en géologie et exploration » by e5 (under the 0.91 for short claims)."""
    texts = [
        "Le titane est essentiel pour l’aviation.",
        "Cet accord comprend quatre objectifs, dont la coopération en géologie et exploration, "
        "et l’attraction de capitaux.",
    ]
    draft = "The objectives are:\n- Geology and exploration\n- Weather forecasts for pilots"
    q = "What are the objectives?"
    v = verify(draft, passages(texts, "fr"), q, "en", VerifyConfig(), HashingEmbedder())
    assert v.text.strip() == "The objectives are:\n- Geology and exploration [1]", v.decisions
    assert [(d.action, d.cites) for d in v.decisions] == [("recite", (2,)), ("drop", ())]
    assert v.decisions[0].reason == "uncited; passage 2 holds 100% of its word stems"


def test_negations_that_affirm_or_name_are_no_contradiction():
    """Seen on PIAF: both answers were right, and polarity dropped them."""
    texts = [
        "Gesualdo ne ménagea pas ses efforts pour procurer une épouse à son fils Emanuele.",
        "L'association « Non au CDG Express » propose d'augmenter la fréquence des trains sur "
        "la ligne K du Transilien.",
    ]
    for draft, q in (
        ("Gesualdo cherche une épouse pour son fils Emanuele [1].", "Pour qui ?"),
        ("Sur la ligne K du Transilien [2].", "Sur quelle ligne veut-elle plus de trains ?"),
    ):
        v = verify(draft, passages(texts, "fr"), q, "fr", VerifyConfig(), None)
        assert not v.abstained and "polarity" not in [d.rule for d in v.decisions], draft
    # a plain negation is still one
    plain = passages(["Gesualdo ne procura pas d’épouse à son fils."], "fr")
    claim = "Gesualdo procura une épouse à son fils [1]."
    v = verify(claim, plain, "Que fit Gesualdo ?", "fr", VerifyConfig(), None)
    assert "polarity" in [d.rule for d in v.decisions]


def test_a_negated_claim_whose_clause_or_question_holds_the_negation_is_kept():
    """Right answers `polarity` dropped: the span it compared cut « n'assure pas » to « pas »
    (tuning half), or « n'y est pas » and "no" fell outside it (checking half); the claim
    took its negation from the question (checking half)."""
    cases = [
        (
            "fr",
            "Une des objections au projet CDG Express est qu'il dessert le quartier Gare du "
            "Nord, mais n'assure pas de desserte directe des quartiers d'affaires de la Défense "
            "et de Paris-Saint-Lazare, accessibles ensuite par le RER E.",
            "Le CDG Express ne fournira pas de desserte directe des quartiers d'affaires de la "
            "Défense et de Paris-Saint-Lazare [1].",
            "De quels quartiers le CDG Express ne fournira pas de desserte directe ?",
        ),
        (
            "fr",
            "Dans cet ordre d'idée, la salle de bain est souvent en communication directe avec "
            "la chambre quand elle n'y est pas davantage intégrée, comme c'est le cas dans une "
            "suite parentale où elle est souvent accompagnée d'un dressing.",
            "La salle de bain est souvent en communication directe avec la chambre quand elle "
            "n'y est pas davantage intégrée, comme c'est le cas dans une suite parentale où "
            "elle est souvent accompagnée d'un dressing [1].",
            "Quelle pièce est fréquemment proche de la chambre ?",
        ),
        (
            "fr",
            "On trouve en effet l'initiative populaire « contre la pollution atmosphérique "
            "causée par les véhicules à moteur » (rejetée en septembre 1977).",
            "L'initiative populaire « contre la pollution atmosphérique causée par les véhicules "
            "à moteur » (rejetée en septembre 1977) n'a pas été retenu en 1977 [1].",
            "Quel projet n'a pas été retenu en 1977 ?",
        ),
        (
            "en",
            "However, the American Medical Association (AMA) Code of Ethics provides that "
            "physicians may dispense drugs within their office practices as long as there is no "
            "patient exploitation and patients have the right to a written prescription.",
            "The AMA Code of Ethics provides that physicians may dispense drugs within their "
            "office practices as long as there is no patient exploitation [1].",
            "What does the AMA Code of Ethics provide?",
        ),
    ]
    for language, text, draft, question in cases:
        v = verify(draft, passages([text], language), question, language, VerifyConfig(), None)
        assert not v.abstained and "polarity" not in [d.rule for d in v.decisions], draft
    # a negation neither the clause nor the question holds is still a denial
    text = "Le CDG Express assure une desserte directe de la Défense."
    draft = "Le CDG Express n'assure pas de desserte directe de la Défense [1]."
    v = verify(draft, passages([text], "fr"), "Que dessert-il ?", "fr", VerifyConfig(), None)
    assert "polarity" in [d.rule for d in v.decisions if d.action == "drop"]


def test_a_who_question_is_answered_by_a_name_or_a_subject_it_does_not_name():
    texts = ["Les mécanismes du système de gestion assurent la cohérence des bases de données."]
    q = "qui assure la cohérence des bases de données"
    ok = verify("Les mécanismes du système de gestion [1].", passages(texts, "fr"), q, "fr",
                VerifyConfig(), None)  # fmt: skip
    assert not ok.abstained
    q2 = "Qui assure la cohérence du système ?"  # answered by what the question names
    no = verify("La cohérence des bases de données [1].", passages(texts, "fr"), q2, "fr",
                VerifyConfig(), None)  # fmt: skip
    assert no.abstained and no.decisions[-1].rule == "answer-kind"


CURRENCIES_FR = [
    "L’euro est la monnaie de vingt pays de l’Union européenne depuis 2023.",
    "Le Japon a connu une croissance de 2 % en 2023, portée par les exportations.",
]


def test_a_claim_citing_a_passage_that_never_names_the_subject_is_dropped():
    """The question names Japan; the passage the claim cites is about the euro and never
    names it: the claim answers about something its source does not mention."""
    q = "Quelle est la monnaie du Japon ?"
    v = verify("La monnaie du Japon est l’euro [1].", passages(CURRENCIES_FR, "fr"), q, "fr")
    assert v.abstained
    d = next(d for d in v.decisions if d.rule == "question-names")
    assert d.action == "drop" and "japon" in d.reason
    off = verify(
        "La monnaie du Japon est l’euro [1].",
        passages(CURRENCIES_FR, "fr"),
        q,
        "fr",
        VerifyConfig(rules_off=frozenset({"question-names"})),
    )
    assert not off.abstained  # every other rule lets it through
    q2 = "Quelle est la monnaie de l’Union européenne ?"
    ok = verify(
        "La monnaie de l’Union européenne est l’euro [1].", passages(CURRENCIES_FR, "fr"), q2, "fr"
    )
    assert not ok.abstained and "question-names" not in [d.rule for d in ok.decisions]


def test_english_questions_are_checked_for_names_only_when_asked():
    texts = [
        "The euro is the currency of twenty countries of the European Union.",
        "Japan grew by 2% in 2023, driven by exports.",
    ]
    draft, q = "The currency of Japan is the euro [1].", "What is the currency of Japan?"
    assert not verify(draft, passages(texts), q, "en").abstained  # default: French only
    both = VerifyConfig(names_languages=frozenset({"fr", "en"}))
    assert verify(draft, passages(texts), q, "en", both).abstained


def test_names_in_tolerates_a_typo_and_another_ending():
    from rag.text import names_in, question_names, text_words

    assert question_names("Qui a peint Les Nymphéas ?", "fr") == [("nympheas",)]
    assert question_names("Qui dirige l’Olympique lyonnais ?", "fr") == [("olympique", "^ol")]
    assert question_names("Quels sont les objectifs de l’accord ?", "fr") == []
    words = text_words("Hedwige, reine de Pologne, et les marins britanniques de Saint-Malo")
    assert names_in(("hegwige",), words)  # one letter off
    assert names_in(("britannique",), words)  # another ending
    assert names_in(("malo",), words)  # part of a hyphenated name
    assert not names_in(("eiffel",), words) and not names_in(("pologn",), {"polka"})
    # an acronym of the question meets the name the article spells out, and only that
    spelled = text_words("L’Organisation des Nations unies demande une trêve.")
    assert question_names("Que demande l’ONU ?", "fr") == [("onu",)]
    assert names_in(("onu",), spelled) and not names_in(("otan",), spelled)
    assert not names_in(("onu",), text_words("les organisations non urbaines"))
    assert not names_in(("aonud",), text_words("L’Organisation des Nations unies demande"))


def test_a_name_the_question_spells_out_meets_the_articles_acronym():
    """The reverse of the above: « l'Organisation mondiale de la santé » in the question, an
    article that writes only "l'OMS". Only an all-capitals word meets the initials."""
    from rag.text import names_in, question_names, text_words
    from rag.verify.rules import unnamed_subject

    (name,) = question_names("Que recommande l'Organisation mondiale de la santé ?", "fr")
    assert name[0] == "organisation" and "^oms" in name
    assert names_in(name, text_words("L'OMS recommande deux doses du vaccin."))
    assert not names_in(name, text_words("Les oms et les omissions du rapport."))  # lower case
    assert not names_in(name, text_words("Le ministère recommande deux doses."))
    # the clause ends the acronym: "Union européenne, ..." is UE, whatever follows
    (union,) = question_names("Que pense l'Union européenne, selon Le Monde ?", "fr")[:1]
    assert "^ue" in union and not any(w.startswith("^uem") for w in union)
    decided = unnamed_subject(
        "Que recommande l'Organisation mondiale de la santé ?",
        "fr",
        ["Le ministère recommande deux doses."],
    )
    assert decided == "organisation"  # the reason shows the name, not its acronyms


def test_restricting_negations_are_no_contradiction():
    """Seen on XQuAD: "no divisors other than 1 and itself" says "only"; "a number that is
    not a prime" defines a class. Both right answers were dropped as contradictions."""
    texts = [
        "A prime number is a natural number greater than 1 that has no positive divisors "
        "other than 1 and itself.",
        "A natural number greater than 1 that is not a prime number is called a composite number.",
    ]
    for draft, q in (
        ("The only divisor besides 1 that a prime can have is itself [1].", "Which divisor?"),
        # (the logged answer said "with three divisors": a number no passage holds, now dropped)
        ("Numbers greater than 1 with more divisors are called composite numbers [2].", "What?"),
    ):
        v = run(draft, texts, q)
        assert not v.abstained and "polarity" not in [d.rule for d in v.decisions], draft
    denial = run("The number 9 is a prime number [1].", ["The number 9 is not a prime."], "Is 9?")
    assert "polarity" in [d.rule for d in denial.decisions]


def test_the_first_interrogative_decides_the_asked_kind():
    from rag.verify.rules import asked_kind

    assert asked_kind("Who was the leader when the Franks entered the valley?") == "person"
    assert asked_kind("When did the man who founded it say how many came?") == "date"
    assert asked_kind("Quand l’accord a-t-il été signé ?") == "date"
    assert asked_kind("Combien de pays, et depuis quand ?") == "quantity"
    assert asked_kind("Quels sont les objectifs de l’accord ?") is None
    # an age is a figure (a held-out unanswerable question was answered with "XIXe siècle")
    assert asked_kind("Quel est l'âge minimum pour passer le permis ?") == "quantity"
    assert asked_kind("À quel âge la princesse est-elle devenue veuve ?") == "quantity"
    assert asked_kind("How old was Tesla when he left?") == "quantity"
    assert asked_kind("Qui a payé l’âge d’or du club ?") == "person"
    # "what" before "when" asks for no kind; "what year", "how many" are kinds
    assert asked_kind("What happens to the norm when a number is multiplied by p?") is None
    assert asked_kind("In what year did it open?") == "date"
    assert asked_kind("How many people came when it opened?") == "quantity"


def test_what_the_tuning_half_showed_the_rules_dropped_wrongly():
    """Three right answers of the tuning half's drafts that rules dropped (rag bench reverify
    --drops on the standard PIAF and XQuAD samples, all in the tuning half)."""
    # a name the question wrote as common words is the answer, not a restatement
    programmes = "Programmes de France est une production qui diffusait en France et au Luxembourg."
    v = verify(
        "Les Programmes de France diffusait ses programmes en France et au Luxembourg [1].",
        passages([programmes], "fr"),
        "Quelle production diffusait ses programmes en France et au Luxembourg ?",
        "fr",
    )
    assert not v.abstained and v.decisions == []
    # a quantity in words answers "how much"
    lama = "A Lama who has consciously determined to be reborn, often many times, is a Tulku."
    v = verify(
        "A Lama has determined to be reborn often many times [1].",
        passages([lama]),
        "How much has a Lama agreed to be reborn?",
        "en",
    )
    assert not v.abstained, v.decisions
    # « Maroc » is named by « marocain »
    from rag.verify.rules import unnamed_subject

    source = "Les Idrissides fondent la première dynastie marocaine à Fès."
    question = "À qui attribue-t-on la fondation du Maroc ?"
    assert unnamed_subject(question, "fr", [source]) is None
    assert unnamed_subject("Quelle est la capitale du Pérou ?", "fr", [source]) == "perou"


def test_what_the_checking_half_showed_the_rules_dropped_wrongly():
    """Right answers of the checking half that rules dropped (`rag bench reverify --drops` on
    the run before the change), each now kept; and what the same rules must still drop."""
    from rag.verify.rules import asks_yes_or_no

    def _fr(draft: str, question: str, texts: list[str]):
        return verify(draft, passages(texts, "fr"), question, "fr")

    # a yes-or-no question answered by a statement in its own words is answered...
    navy = ["La marine indienne emploie des femmes depuis 1992 dans ses services."]
    q = "La marine indienne emploie-t-elle des femmes ?"
    assert asks_yes_or_no(q) and not asks_yes_or_no("Pourquoi a-t-il abandonné ?")
    assert not _fr("La marine indienne emploie des femmes [1].", q, navy).abstained
    # ...the question copied back is not
    assert _fr("La marine indienne emploie-t-elle des femmes ? [1]", q, navy).abstained
    # "oui" is no word the passages must hold
    hangman = ["Le bourreau était masqué et vêtu de noir."]
    v = _fr("Oui, le bourreau était masqué [1].", "Le bourreau était-il masqué ?", hangman)
    assert not v.abstained, v.decisions
    # a negation outside the words a claim shares with its clause does not deny it
    moon = [
        "Le calendrier musulman fondé sur l'observation mensuelle de la nouvelle lune à l'œil nu "
        "ne peut pas répondre aux besoins d'un calendrier civil."
    ]
    claim = "Les musulmans utilisent l'observation de la nouvelle lune à l'œil nu [1]."
    assert not _fr(claim, "Quelle méthode utilisent les musulmans ?", moon).abstained
    denied = _fr(
        "Le calendrier musulman peut répondre aux besoins civils [1].", "Que peut-il ?", moon
    )
    assert [d.rule for d in denied.decisions][:1] == ["polarity"]
    # the words that frame an answer are not words the passages must hold (check seed 29)
    ocean = ["La montée océanique devrait diminuer de 2015 à 2025, selon le rapport."]
    q = "Quelle est la période où on devrait observer une diminution de la montée océanique ?"
    claim = "La période où on devrait observer une diminution est entre 2015 et 2025 [1]."
    assert not _fr(claim, q, ocean).abstained
    italy = ["L'Italie, en forme longue la République italienne, est un pays d'Europe du Sud."]
    q = "quel est le nom court pour République italienne?"
    claim = 'La République italienne est généralement appelée "Italie" en français [1].'
    assert not _fr(claim, q, italy).abstained
    made_up = 'La République italienne est généralement appelée "Ausonie" par ses poètes [1].'
    assert _fr(made_up, q, italy).abstained
    # "par qui" is answered by the agent of a passive, a common noun too
    region = ["Le président du conseil régional est élu par l'assemblée pour six ans."]
    q = "Par qui le président de la région est-il élu ?"
    assert not _fr("Le président de la région est élu par l'assemblée [1].", q, region).abstained
    assert _fr("Le président de la région est élu pour six ans [1].", q, region).abstained
    # check seed 41: a claim that copies a sentence spans its clauses; its negation is the
    # sentence's, not a denial of the clause closest to it
    battle = ["Le combat est à l’avantage de Kenshin. L’attaque prend l’armée de Shingen, qui "
              "n’est pas organisée en défense, au dépourvu."]  # fmt: skip
    claim = (
        "L’attaque prend l’armée de Shingen, qui n’est pas organisée en défense, au dépourvu [1]."
    )
    q = "Pourquoi l'armée de Kenshin a pu pénétrer si facilement les défenses de Shingen ?"
    assert not _fr(claim, q, battle).abstained
    plain = ["Le combat est à l’avantage de Kenshin. L’attaque prend l’armée de Shingen au "
             "dépourvu."]  # fmt: skip
    assert _fr("L’attaque ne prend pas l’armée de Shingen au dépourvu [1].", q, plain).abstained
    # « deux » counts the two things the question names (a typo, "etGuillaume", too)
    monks = ["Thomas d'Aquin et Guillaume d'Ockham, philosophes scolastiques, ont introduit le "
             "terme de concept."]  # fmt: skip
    q = "Qui étaient Thomas d'Aquin etGuillaume d'Ockham ?"
    claim = "Thomas d'Aquin et Guillaume d'Ockham sont deux philosophes scolastiques [1]."
    assert not _fr(claim, q, monks).abstained
    alone = _fr("Thomas d'Aquin a écrit trois livres [1].", "Qui était Thomas d'Aquin ?", monks)
    assert alone.abstained
    # a claim whose only number is the question's must still find it (an unanswerable one)
    nasri = ["Samir Nasri est suspendu pour des comportements réels ou supposés."]
    q = "Pourquoi Samir Nasri a-t-il été suspendu en 2018 ?"
    claim = "Samir Nasri a été suspendu en 2018 pour des comportements réels ou supposés [1]."
    assert _fr(claim, q, nasri).abstained
    # check seed 53: the model gave the wrong source number; the passage that names what the
    # question names and holds the answer is cited instead of the claim being dropped
    byzantium = [
        "La principauté d'Achaïe s'allie à l'Empire byzantin de Michel VIII Paléologue.",
        "Les Turcs Seldjoukides prennent Nicée.",
    ]
    q = "Quel était le surnom de Michel VIII, l’empereur byzantin ?"
    v = _fr("Michel VIII, l'empereur byzantin, est connu sous le surnom de Paléologue [2].", q,
            byzantium)  # fmt: skip
    assert not v.abstained and v.cited == [1], v.decisions
    v = _fr("Michel VIII, l'empereur byzantin, est surnommé le Grand [2].", q, byzantium)
    assert v.abstained  # no passage naming him holds « grand »
    # a time of the year answers "when"
    davis = ["La Coupe Davis se déroule en fin de saison, en novembre le plus souvent."]
    claim = "La Coupe Davis se déroule en fin de saison [1]."
    assert not _fr(claim, "Quand se déroule la Coupe Davis ?", davis).abstained


def test_a_passive_is_no_date():
    """« a été » folds to the season's « été »: every French passive answered « quand »."""
    from rag.verify.rules import gives_kind

    assert not gives_kind("Elton John a été anobli à onze ans.", "date")
    assert gives_kind("La mine rouvrira en été.", "date")
    assert gives_kind("L’été dernier, la mine a rouvert.", "date")


def test_what_the_english_checking_half_showed_the_rules_dropped_wrongly():
    """XQuAD's checking half, `rag bench reverify --drops`: three right answers dropped."""
    pharmacy = [
        "A Pharmacy Technician in the UK is considered a health care professional and often "
        "does not work under the direct supervision of a pharmacist but is managed by other "
        "senior pharmacy technicians."
    ]
    q = "What type of professional is a Pharmacy Technician considered to be?"
    claim = "A Pharmacy Technician is considered to be a health care professional [1]."
    assert not run(claim, pharmacy, q).abstained
    turing = [
        "The time required by a deterministic Turing machine M on input x is the total number "
        "of state transitions, or steps, the machine makes before it halts and outputs the "
        'answer ("yes" or "no").'
    ]
    q = "The time required to output an answer on a Turing machine is expressed as what?"
    claim = (
        "The time required is expressed as the total number of state transitions the machine "
        'makes before it outputs the answer ("yes" or "no") [1].'
    )
    assert not run(claim, turing, q).abstained
    clippers = ["The Los Angeles Clippers play in the NBA, in Los Angeles."]
    q = "The Los Angeles Clippers are a team belonging to which sport?"
    claim = "The Los Angeles Clippers belong to the NBA (National Basketball Association) [1]."
    assert not run(claim, clippers, q).abstained
    # a name no passage holds is still dropped, acronym or not
    assert run(
        "The Clippers belong to the NHL (National Hockey League) [1].", clippers, q
    ).abstained
    # check seed 41: a claim copying a sentence across its comma keeps the sentence's "without"
    luther = [
        "In November, Luther wrote The Judgement of Martin Luther on Monastic Vows. He assured "
        "monks and nuns that they could break their vows without sin, because vows were an "
        "illegitimate and vain attempt to win salvation."
    ]
    q = "What did Luther tell monks and nuns about their vows?"
    claim = (
        "Luther told monks and nuns that they could break their vows without sin, because vows "
        "were an illegitimate and vain attempt to win salvation [1]."
    )
    assert not run(claim, luther, q).abstained
    # a number the question states needs no passage; one it does not still does
    forest = ["From 2000 to 2005 the rate of deforestation was 18% higher than in the previous "
              "five years."]  # fmt: skip
    q = "How much higher was the rate of deforestation in 2000 to 2005 compared to 1995 to 2000?"
    claim = "The rate in 2000 to 2005 compared to 1995 to 2000 was 18% higher [1]."
    assert not run(claim, forest, q).abstained
    assert run("The rate was 18% higher than in 1990 [1].", forest, q).abstained
    # check seed 53: "years old" frames an age; a "when" after "what" asks for no date
    kenya = ["Most prostitutes in Kenya are aged 9–18."]
    q = "What is the age range of most prostitutes in Kenya?"
    assert not run(
        "The age range of most prostitutes in Kenya is 9–18 years old [1].", kenya, q
    ).abstained
    norm = ["When a number is multiplied by p, its p-adic norm gets smaller."]
    q = "What happens to the norm when a number is multiplied by p?"
    assert not run("The norm gets smaller [1].", norm, q).abstained


def test_a_list_whose_every_item_was_dropped_is_no_answer():
    """« Pour préparer un kouign-amann, il faut : » then quantities no passage gives (an
    unanswerable question of the tuning sample, answered by its opening line alone)."""
    ps = passages(
        ["Le kouign-amann est un gâteau breton de Douarnenez, riche en beurre et en sucre."], "fr"
    )
    q = "Quels ingrédients faut-il pour préparer un kouign-amann ?"
    made_up = "Pour préparer un kouign-amann, il faut :\n- 100 g de farine [1]\n- 250 ml d'eau [1]"
    v = verify(made_up, ps, q, "fr")
    assert v.abstained and v.text == "Les sources ne le disent pas."
    assert v.decisions[-1].reason == "nothing is left but the line opening a list"
    # an item that holds keeps its opening line; a trailing one with no item left goes
    v = verify(made_up.replace("- 100 g de farine", "- du beurre"), ps, q, "fr")
    assert v.text.startswith("Pour préparer un kouign-amann, il faut :\n- du beurre [1]")
    v = verify("Le kouign-amann est breton [1]. Il faut :\n- 100 g de farine [1]", ps, q, "fr")
    assert v.text == "Le kouign-amann est breton [1]."


def test_a_period_answers_when():
    """« De quand date le compte rendu de Philip Henry ? »: « … rédigé durant la Restauration »
    (a right answer of the checking half declined for want of a date)."""
    text = (
        "Le compte rendu de Philip Henry, rédigé durant la Restauration, douze ans après "
        "l'événement, décrit la foule."
    )
    q = "De quand date le compte rendu de Philip Henry ?"
    draft = "Le compte-rendu de Philip Henry fut rédigé durant la Restauration [1]."
    v = verify(draft, passages([text], "fr"), q, "fr")
    assert not v.abstained and "Restauration" in v.text
    # a place is still no date
    v = verify("Philip Henry l'a rédigé dans sa maison [1].", passages([text], "fr"), q, "fr")
    assert v.abstained


def test_a_no_after_a_colon_is_no_name():
    """« L'aviation birmane a-t-elle déjà été engagée en combat aérien ? » answered « La
    réponse est : Non [1] » was dropped for the name « Non » (checking half)."""
    text = "Au cours de son histoire, l'aviation birmane n'a jamais été engagée en combat aérien."
    q = "L'aviation birmane a-t-elle déjà été engagée en combat aérien ?"
    v = verify("La réponse est : Non [1].", passages([text], "fr"), q, "fr")
    assert not v.abstained and v.text == "La réponse est : Non [1]."
