from rag.grounding import is_repeating
from rag.schema import Chunk, Passage
from rag.text import claim_spans
from rag.verify import VerifyConfig, verify
from rag.verify.claims import normalise, parse
from rag.verify.rules import Decision, Evidence, number_in_sources, words_in_sources

SOURCES = ["Un fonds de 2 milliards d’euros a été lancé en novembre 2023.", "Le titane."]


def evidence(answer: str, sources, question: str = "", language: str | None = None) -> Evidence:
    """`language` given: the answer and the sources share it, so words are compared."""
    text = normalise(answer)
    return Evidence(
        draft=text,
        claims=tuple(parse(text)),
        sources=tuple(sources),
        question=question,
        language=language or "en",
        used=language or "en",
        same_language=language is not None,
        config=VerifyConfig(),
    )


def unsupported(answer: str, sources, question: str = "", language: str | None = None):
    """The decisions of the two rules that were `unsupported_claims`: numbers, then words."""
    ev = evidence(answer, sources, question, language)
    drops = number_in_sources(ev.claims, ev)
    gone = {d.claim for d in drops}
    return drops + words_in_sources([c for c in ev.claims if c.index not in gone], ev)


def dropped(answer: str, sources, question: str = "", language: str | None = None) -> list[str]:
    ev = evidence(answer, sources, question, language)
    decisions = unsupported(answer, sources, question, language)
    return [ev.claims[d.claim].raw.strip() for d in decisions if d.claim is not None]


def test_numbers_absent_from_the_sources_are_flagged():
    answer = "Le fonds est de 2 milliards [1]. Le pays compte 17 millions d'habitants [2]."
    decisions: list[Decision] = unsupported(answer, SOURCES)
    assert dropped(answer, SOURCES) == ["Le pays compte 17 millions d'habitants [2]."]
    assert decisions[0].reason == "number 17 found in no passage"
    passages = [
        Passage(Chunk(f"c{i}", f"d{i}", t, 0, len(t), "T", language="fr"), 1.0)
        for i, t in enumerate(SOURCES)
    ]
    v = verify(answer, passages, "", "fr")
    assert (v.text, v.cited) == ("Le fonds est de 2 milliards [1].", [1])


def test_list_numbering_and_markers_are_not_claims():
    answer = "Les objectifs :\n1. La géologie [1]\n2. Le titane [2]\n3. Les capitaux [12]"
    assert dropped(answer, SOURCES) == []


def test_repetition_detector():
    assert is_repeating("He is the minister for energy. " * 8)
    assert not is_repeating("A normal answer that does not loop. " + "x" * 10)


def test_same_language_claims_need_words_from_the_sources():
    sources = ["Benjamin Gallezot a évoqué la coopération en géologie et exploration."]
    q = "Quelle est la capitale du Pérou ?"
    bad = "La capitale du Pérou est Lima [1]."
    assert dropped(bad, sources, q, "fr") == [bad]
    good = "L’accord porte sur la coopération en géologie et exploration [1]."
    assert dropped(good, sources, "Sur quoi porte l'accord ?", "fr") == []
    named = "Elle a été évoquée par Emmanuel Macron [1]."
    assert dropped(named, sources, "Qui a évoqué la coopération ?", "fr") != []
    # across languages only numbers are checked: words cannot be compared
    assert dropped("Cooperation in geology [1].", sources, "What?", None) == []


def test_hyphenated_names_are_checked_part_by_part():
    source = (
        "BSkyB's standard definition broadcasts are in DVB-compliant MPEG-2. Most HD material "
        "uses the DVB-S2 standard. El Centro and San Diego-Carlsbad form the Southern Border "
        "Region."
    )
    q = "What does most of the HD material use as a standard?"
    assert dropped("Most of the HD material uses the DVB-S2 standard [1].", [source], q, "en") == []
    ok = "El Centro and San Diego-Carlsbad form the Southern Border Region [1]."
    assert dropped(ok, [source], "What do they form?", "en") == []
    # a part no source names still gives the claim away
    invented = "Most of the HD material uses the DVB-T2 standard [1]."
    assert dropped(invented, [source], q, "en") != []


def test_initials_and_abbreviations_do_not_end_a_claim():
    text = "Two clades of the Y. pestis genome were found [1]. Selon M. Dupont, oui. Next"
    assert [text[a:b].strip() for a, b in claim_spans(text)] == [
        "Two clades of the Y. pestis genome were found [1].",
        "Selon M. Dupont, oui.",
        "Next",
    ]
    claims = parse("Two clades of the Y. pestis genome were found [1].")
    assert [c for c in claims if c.needs_citation] == []


def test_a_number_the_source_spells_out_is_supported():
    source = ["Piquet termine dix des quinze courses de la saison."]
    q = "Combien de courses Piquet finit-il ?"
    assert dropped("Piquet finit 10 des 15 courses [1].", source, q, "fr") == []
    assert dropped("Piquet finit 11 des 15 courses [1].", source, q, "fr") != []
    assert dropped("It has 20 members [1].", ["It has twenty members."]) == []
    # a compound is its value, not also its parts: « dix-huit mois » does not say 10
    works = ["Les travaux dureront dix-huit mois."]
    assert dropped("Les travaux dureront 10 mois [1].", works, q, "fr")
    assert dropped("Les travaux dureront 18 mois [1].", works, q, "fr") == []


def test_an_uncited_claim_no_single_passage_supports_is_dropped():
    from rag.embedding import HashingEmbedder
    from rag.schema import Chunk, Passage
    from rag.verify import verify

    def passage(i: int, text: str) -> Passage:
        chunk = Chunk(id=f"c{i}", doc_id=f"d{i}", text=text, start=0, end=len(text), title="")
        return Passage(chunk, 1.0)

    passages = [
        passage(1, "Le port de Marseille accueille des croisières."),
        passage(2, "La ville de Lyon organise un festival des lumières."),
    ]
    # half of its words in each passage, most in none: it has no source
    answer = "Le port accueille des croisières [1]. Marseille organise croisières et festival."
    v = verify(answer, passages, "", "fr", embedder=HashingEmbedder())
    assert (v.text, v.cited) == ("Le port accueille des croisières [1].", [1])
    # a claim one passage supports gets its marker instead
    answer = "Le port accueille des croisières [1]. Lyon organise un festival des lumières."
    v = verify(answer, passages, "", "fr", embedder=HashingEmbedder())
    text, cited = v.text, v.cited
    assert text.endswith("Lyon organise un festival des lumières [2].") and cited == [1, 2]


def test_mixed_language_passages_still_check_a_claim_against_its_own_language():
    """An English passage beside a French one: a claim citing only the English passage is
    checked against English words and every passage's names (a made-up painter is dropped);
    a claim citing the French passage cannot be compared word for word and stays."""
    warsaw = Chunk(
        "w#0",
        "w",
        "Throughout its existence, Warsaw has been a multi-cultural city.",
        0,
        64,
        "Warsaw",
        language="en",
    )
    seed = Chunk(
        "s#0",
        "s",
        "Cet accord comprend quatre objectifs principaux.",
        0,
        48,
        "Accord",
        language="fr",
    )
    passages = [Passage(warsaw, 1.0), Passage(seed, 0.5)]
    made_up = verify("Leonardo da Vinci painted the Mona Lisa [1].", passages, "Who?", "en")
    assert made_up.abstained
    assert [d.rule for d in made_up.decisions][:1] == ["words-in-sources"]
    kept = verify("Warsaw has been a multi-cultural city [1].", passages, "What city?", "en")
    assert kept.text == "Warsaw has been a multi-cultural city [1]." and not kept.abstained
    across = verify("The agreement has four main objectives [2].", passages, "Goals?", "en")
    assert not across.abstained and across.cited == [2]
