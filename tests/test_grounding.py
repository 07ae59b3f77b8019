from rag.grounding import (
    claim_spans,
    drop_claims,
    is_repeating,
    uncited_claims,
    unsupported_claims,
)

SOURCES = ["Un fonds de 2 milliards d’euros a été lancé en novembre 2023.", "Le titane."]


def test_numbers_absent_from_the_sources_are_flagged():
    answer = "Le fonds est de 2 milliards [1]. Le pays compte 17 millions d'habitants [2]."
    spans = unsupported_claims(answer, SOURCES)
    assert [answer[s:e].strip() for s, e in spans] == [
        "Le pays compte 17 millions d'habitants [2]."
    ]
    assert drop_claims(answer, spans) == "Le fonds est de 2 milliards [1]."


def test_list_numbering_and_markers_are_not_claims():
    answer = "Les objectifs :\n1. La géologie [1]\n2. Le titane [2]\n3. Les capitaux [12]"
    assert unsupported_claims(answer, SOURCES) == []


def test_repetition_detector():
    assert is_repeating("He is the minister for energy. " * 8)
    assert not is_repeating("A normal answer that does not loop. " + "x" * 10)


def test_same_language_claims_need_words_from_the_sources():
    sources = ["Benjamin Gallezot a évoqué la coopération en géologie et exploration."]
    q = "Quelle est la capitale du Pérou ?"
    bad = "La capitale du Pérou est Lima [1]."
    assert unsupported_claims(bad, sources, q, "fr") == [(0, len(bad))]
    good = "L’accord porte sur la coopération en géologie et exploration [1]."
    assert unsupported_claims(good, sources, "Sur quoi porte l'accord ?", "fr") == []
    named = "Elle a été évoquée par Emmanuel Macron [1]."
    assert unsupported_claims(named, sources, "Qui a évoqué la coopération ?", "fr") != []
    # across languages only numbers are checked: words cannot be compared
    assert unsupported_claims("Cooperation in geology [1].", sources, "What?", None) == []


def test_hyphenated_names_are_checked_part_by_part():
    source = (
        "BSkyB's standard definition broadcasts are in DVB-compliant MPEG-2. Most HD material "
        "uses the DVB-S2 standard. El Centro and San Diego-Carlsbad form the Southern Border "
        "Region."
    )
    q = "What does most of the HD material use as a standard?"
    assert (
        unsupported_claims(
            "Most of the HD material uses the DVB-S2 standard [1].", [source], q, "en"
        )
        == []
    )
    ok = "El Centro and San Diego-Carlsbad form the Southern Border Region [1]."
    assert unsupported_claims(ok, [source], "What do they form?", "en") == []
    # a part no source names still gives the claim away
    invented = "Most of the HD material uses the DVB-T2 standard [1]."
    assert unsupported_claims(invented, [source], q, "en") != []


def test_initials_and_abbreviations_do_not_end_a_claim():
    text = "Two clades of the Y. pestis genome were found [1]. Selon M. Dupont, oui. Next"
    assert [text[a:b].strip() for a, b in claim_spans(text)] == [
        "Two clades of the Y. pestis genome were found [1].",
        "Selon M. Dupont, oui.",
        "Next",
    ]
    assert uncited_claims("Two clades of the Y. pestis genome were found [1].") == []


def test_a_number_the_source_spells_out_is_supported():
    source = ["Piquet termine dix des quinze courses de la saison."]
    q = "Combien de courses Piquet finit-il ?"
    assert unsupported_claims("Piquet finit 10 des 15 courses [1].", source, q, "fr") == []
    assert unsupported_claims("Piquet finit 11 des 15 courses [1].", source, q, "fr") != []
    assert unsupported_claims("It has 20 members [1].", ["It has twenty members."]) == []


def test_an_uncited_claim_no_single_passage_supports_is_dropped():
    from rag.embedding import HashingEmbedder
    from rag.schema import Chunk, Passage
    from rag.service import _attribute_claims

    def passage(i: int, text: str) -> Passage:
        chunk = Chunk(id=f"c{i}", doc_id=f"d{i}", text=text, start=0, end=len(text), title="")
        return Passage(chunk, 1.0)

    passages = [
        passage(1, "Le port de Marseille accueille des croisières."),
        passage(2, "La ville de Lyon organise un festival des lumières."),
    ]
    # half of its words in each passage, most in none: it has no source
    answer = "Le port accueille des croisières [1]. Marseille organise croisières et festival."
    text, cited = _attribute_claims(HashingEmbedder(), answer, [1], passages, "fr")
    assert (text, cited) == ("Le port accueille des croisières [1].", [1])
    # a claim one passage supports gets its marker instead
    answer = "Le port accueille des croisières [1]. Lyon organise un festival des lumières."
    text, cited = _attribute_claims(HashingEmbedder(), answer, [1], passages, "fr")
    assert text.endswith("Lyon organise un festival des lumières [2].") and cited == [1, 2]
