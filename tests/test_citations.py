import pytest

from rag.citations import MarkerFilter, clean_markers


def test_valid_markers_are_renumbered_by_first_use():
    text, cited = clean_markers("Geology [3]. Mining [1][3]. Capital [1, 3].", n_passages=4)
    assert text == "Geology [1]. Mining [2][1]. Capital [2][1]."
    assert cited == [3, 1]


def test_invalid_markers_are_removed():
    text, cited = clean_markers("A [7]. B [0]. C [2, 9]. D [Source 1].", n_passages=2)
    assert text == "A. B. C [1]. D [2]."
    assert cited == [2, 1]


def test_text_without_markers_and_brackets_that_are_not_markers():
    assert clean_markers("No markers here.", 3) == ("No markers here.", [])
    assert clean_markers("An array [a, b] stays.", 3) == ("An array [a, b] stays.", [])


SAMPLE = "Les objectifs sont la géologie [1], les projets miniers [5] et les capitaux [2] [3]."


@pytest.mark.parametrize("size", [1, 2, 3, 5, 8])
def test_streaming_gives_the_same_text_and_never_an_invalid_marker(size: int):
    whole, order = clean_markers(SAMPLE, n_passages=3)
    f = MarkerFilter(3)
    out = []
    for i in range(0, len(SAMPLE), size):
        piece = f.feed(SAMPLE[i : i + size])
        assert "[5]" not in piece and "5]" not in piece
        out.append(piece)
    out.append(f.flush())
    assert "".join(out) == whole
    assert f.order == order == [1, 2, 3]
    assert "[5]" not in whole and "miniers et" in whole


def test_unclosed_bracket_is_flushed_as_text():
    f = MarkerFilter(2)
    assert f.feed("see [") == "see"
    assert f.feed("this is not a marker at all and goes on").startswith(" [this")
    assert f.flush() == ""


def test_markers_after_the_full_stop_move_before_it():
    from rag.citations import markers_before_punctuation

    assert markers_before_punctuation("It died. [1]") == "It died [1]."
    assert markers_before_punctuation("A. [1][2] B! [3]\nC [4].") == "A [1][2]. B [3]!\nC [4]."
    # the model closed the sentence twice, around its marker: one claim, one marker
    assert markers_before_punctuation("Un hibou. [1].") == "Un hibou [1]."
    assert markers_before_punctuation("Version 2.[1]x") == "Version 2.[1]x"
    # a marker written before an inline list item goes after it (seen on the seed, FR)
    draft = "Les objectifs sont : [1] la géologie, essentielle; [1] le minier; les capitaux."
    fixed = "Les objectifs sont : la géologie, essentielle [1]; le minier [1]; les capitaux."
    assert markers_before_punctuation(draft) == fixed and len(fixed) == len(draft)
    # a marker closing the line that introduces a list, or one already after its item, stays
    assert markers_before_punctuation("Two projects: [1]\n- a school [1]") == (
        "Two projects: [1]\n- a school [1]"
    )
    assert markers_before_punctuation("A : [1] x [2]; y") == "A : [1] x [2]; y"


def test_a_marker_moves_to_the_passage_that_supports_its_claim():
    from rag.citations import citation_resolver
    from rag.schema import Chunk, Passage

    def passage(doc_id: str, text: str) -> Passage:
        return Passage(Chunk(doc_id, doc_id, text, 0, len(text), "Traité"), 1.0)

    passages = [
        passage("p-other", "La conférence de la paix s'ouvre en janvier 1919."),
        passage("p-gold", "Le traité a été signé à Versailles le 28 juin 1919."),
    ]

    def run(answer: str) -> tuple[str, list[int]]:
        resolver = citation_resolver(passages, "Où le traité fut-il signé ?", "fr")
        markers = MarkerFilter(len(passages), resolver)
        return markers.feed(answer) + markers.flush(), markers.order

    # the model cited [1] for the Versailles claim: it moves to the passage that says so
    text, order = run(
        "Le traité a été signé à Versailles [1]. La conférence s'ouvre en janvier [2]."
    )
    assert text == "Le traité a été signé à Versailles [1]. La conférence s'ouvre en janvier [2]."
    assert order == [2, 1]
    # a claim its cited passage supports as well as any other keeps its marker
    assert run("La conférence s'ouvre en janvier [1].")[1] == [1]
