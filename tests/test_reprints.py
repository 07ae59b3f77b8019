"""Reprints folded into stories (rag.stories.StoryIndex), on the seed article's text."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from rag.stories import StoryIndex, shingles

SEED = Path(__file__).resolve().parent.parent / "seeds" / "000_7304b3bcc082d340.txt"
BODY = SEED.read_text(encoding="utf-8").split("\n\n", 1)[1]
PARAGRAPHS = [p for p in BODY.split("\n\n") if len(p.split()) > 12]
OTHER = (
    "Le FC Lorient s'est imposé samedi soir face à Montpellier (2-1) au stade du Moustoir, "
    "grâce à un doublé de son attaquant en seconde période. Les Merlus remontent ainsi à la "
    "neuvième place du classement de Ligue 1 avant la trêve hivernale. L'entraîneur a salué "
    "l'état d'esprit de son groupe après trois défaites consécutives à l'extérieur."
)
THIRD = (
    "La mairie de Nantes a présenté mardi son nouveau plan vélo, qui prévoit quarante "
    "kilomètres de pistes cyclables supplémentaires d'ici 2027 et un parking sécurisé près de "
    "la gare. Les associations d'usagers saluent un effort réel mais demandent un calendrier "
    "plus précis pour les quartiers nord, restés à l'écart des premiers aménagements."
)


@pytest.fixture
def index(tmp_path: Path) -> StoryIndex:
    return StoryIndex(tmp_path / "index.sqlite3", "articles")


def trimmed(text: str, share: float) -> str:
    words = text.split()
    return " ".join(words[: int(len(words) * share)])


def test_reprints_with_realistic_edits_join_the_story(index: StoryIndex):
    story = index.add("original", BODY)
    extended = BODY + "\n\n(Avec AFP) Retrouvez toute l'actualité sur notre site et abonnez-vous."
    changed = BODY.replace(PARAGRAPHS[1], "Contacté, le ministère n'a pas souhaité commenter.")
    moved = "\n\n".join([PARAGRAPHS[2], PARAGRAPHS[0], PARAGRAPHS[1], *PARAGRAPHS[3:]])
    assert index.add("trimmed", trimmed(BODY, 0.6)) == story
    assert index.add("extended", extended) == story
    assert index.add("changed", changed) == story
    assert index.add("moved", moved) == story
    assert index.add("typography", BODY.replace("’", "'").upper()) == story  # folded shingles
    assert index.add("football", OTHER) != story
    assert index.members(story) == [
        "original",
        "trimmed",
        "extended",
        "changed",
        "moved",
        "typography",
    ]
    assert index.story("football") not in (None, story)
    assert index.story("unknown") is None


def test_a_text_sharing_a_paragraph_is_not_a_reprint(index: StoryIndex):
    story = index.add("original", BODY)
    # another article quoting one paragraph of it among its own
    other = "\n\n".join([OTHER, PARAGRAPHS[0], THIRD, OTHER.replace("Lorient", "Brest")])
    assert index.add("quotes", other) != story


def test_removing_members_keeps_the_story(index: StoryIndex):
    story = index.add("founder", BODY)
    index.add("copy", trimmed(BODY, 0.8))
    index.add("other copy", BODY + " (Avec AFP)")
    assert index.remove("founder")
    assert not index.remove("founder")  # already gone
    assert index.story("copy") == index.story("other copy") == story
    assert index.members(story) == ["copy", "other copy"]
    # the story still works without its founder: a new reprint joins it
    assert index.add("late copy", trimmed(BODY, 0.7)) == story
    index.remove("copy")
    index.remove("other copy")
    index.remove("late copy")
    assert index.members(story) == []
    # a story id is never reused: the founder coming back founds a new story
    assert index.add("founder", BODY) != story


def test_an_original_arriving_after_two_partial_reprints_joins_them_and_removal_splits_nothing(
    index: StoryIndex,
):
    words = BODY.split()
    head = " ".join(words[: int(len(words) * 0.6)])  # the first 60%
    tail = " ".join(words[int(len(words) * 0.4) :])  # the last 60%: they share a fifth
    first, second = index.add("head", head), index.add("tail", tail)
    assert first != second
    story = index.add("original", BODY)  # a near-copy of both
    assert index.story("head") == index.story("tail") == story
    index.remove("original")  # the bridge goes: nothing is split
    assert index.story("head") == index.story("tail") == story


def test_a_round_up_of_several_briefs_does_not_merge_them(index: StoryIndex):
    a, b, c = PARAGRAPHS[0], OTHER, THIRD
    stories = {index.add("a", a), index.add("b", b), index.add("c", c)}
    assert len(stories) == 3
    index.add("round-up", f"Les informations du jour.\n\n{a}\n\n{b}\n\n{c}")
    assert len({index.story("a"), index.story("b"), index.story("c")}) == 3


def test_adding_a_document_again_replaces_it(index: StoryIndex):
    story = index.add("doc", BODY)
    index.add("copy", BODY)
    assert index.add("doc", OTHER) != story  # a new version, another story
    assert index.members(story) == ["copy"]
    assert index.count() == 2


def test_an_empty_text_founds_its_own_story(index: StoryIndex):
    assert shingles("") == set()
    assert index.add("empty", "") != index.add("also empty", "  ")
    assert index.add("short", "Trois mots seulement") != index.add("short2", "Autre chose ici")


def test_stories_persist_and_writers_in_other_instances_are_seen(tmp_path: Path):
    path = tmp_path / "index.sqlite3"
    first = StoryIndex(path, "articles")
    story = first.add("original", BODY)
    second = StoryIndex(path, "articles")  # another process, say
    assert second.story("original") == story
    assert second.add("copy", trimmed(BODY, 0.7)) == story
    second.remove("original")
    # the first instance's in-memory LSH index is stale: it rebuilds from the table
    assert first.add("another copy", trimmed(BODY, 0.9)) == story
    assert first.members(story) == ["copy", "another copy"]
    # collections are apart
    assert StoryIndex(path, "other").story("copy") is None


def test_concurrent_adds_from_threads(index: StoryIndex):
    texts = [trimmed(BODY, 0.5 + i / 100) for i in range(20)] + [OTHER, THIRD]
    stories: dict[str, str] = {}

    def add(i: int) -> None:
        stories[f"d{i}"] = index.add(f"d{i}", texts[i])

    threads = [threading.Thread(target=add, args=(i,)) for i in range(len(texts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert index.count() == len(texts)
    assert len({stories[f"d{i}"] for i in range(20)}) == 1
    assert len(set(stories.values())) == 3
    assert index.stories(list(stories)) == stories


def test_the_bench_reprints_with_edits_and_scores_pairs():
    import random
    from datetime import date

    from evaluation.bench.reprints import Article, pairwise, reprint

    original = Article("s1", "s1", "Titane", BODY, "Le Courrier du Sud", date(2024, 1, 5))
    rng = random.Random(3)
    copies = [reprint(original, n, rng) for n in range(1, 9)]
    for c in copies:
        assert c.story == "s1" and c.doc_id == f"s1-r{c.doc_id[-1]}"
        assert c.outlet != original.outlet and c.title != original.title
        assert c.edits[0] == "headline" and len(c.edits) >= 2 and c.text != BODY
        assert 0 <= (c.published - original.published).days <= 3
    assert {e for c in copies for e in c.edits} == {"headline", "trim", "extend", "change", "move"}
    truth = {"a": "1", "b": "1", "c": "2", "d": "2"}
    assert pairwise(truth, truth) == (1.0, 1.0)
    assert pairwise(truth, {"a": "x", "b": "x", "c": "x", "d": "y"}) == (1 / 3, 1 / 2)
