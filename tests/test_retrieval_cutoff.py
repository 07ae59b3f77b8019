"""Which retrieved passages the model reads: those close to the best one."""

from rag.retrieval import keep_close_to_best
from rag.schema import Chunk, Passage


def passages(*scores: float) -> list[Passage]:
    return [
        Passage(Chunk(id=f"c{i}", doc_id=f"d{i}", text=f"t{i}", start=0, end=2, title="T"), s)
        for i, s in enumerate(scores)
    ]


def ids(ps: list[Passage]) -> list[str]:
    return [p.chunk.id for p in ps]


def test_passages_far_below_the_best_are_left_out():
    assert ids(keep_close_to_best(passages(0.9, 0.7, 0.55, 0.3, 0.2), 0.6, 2)) == ["c0", "c1", "c2"]


def test_the_minimum_is_kept_even_when_far_below():
    assert ids(keep_close_to_best(passages(0.9, 0.1, 0.05), 0.6, 2)) == ["c0", "c1"]
    assert ids(keep_close_to_best(passages(0.9), 0.6, 2)) == ["c0"]
    assert keep_close_to_best([], 0.6, 2) == []


def test_zero_keeps_everything():
    assert len(keep_close_to_best(passages(0.9, 0.1, 0.05), 0.0, 2)) == 3
