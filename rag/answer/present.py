"""Present: a verified draft becomes the Answer a client receives, each citation carrying its
passage (with offsets into the source text) and the sentences that support the claims citing
it (rag.highlights, from the sentence vectors retrieval read)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

from rag.answer.when import day_in_words
from rag.embedding import Embedder
from rag.highlights import sentence_highlights
from rag.language import detect_language
from rag.schema import Passage
from rag.verify import Decision, Verified


@dataclass
class Citation:
    n: int
    doc_id: str
    title: str
    text: str
    start: int
    end: int
    score: float
    source: str = ""
    # the sentences that support the claims citing this passage, as offsets in the source
    highlights: list[dict[str, int]] = field(default_factory=list)
    # the article's metadata ("" / empty when unknown): ISO 8601 date, outlet, original URL
    published: str = ""
    outlet: str = ""
    authors: list[str] = field(default_factory=list)
    url: str = ""
    # the other articles that carry the same story (reprints): doc_id, title, outlet,
    # published, url each
    also_in: list[dict[str, str]] = field(default_factory=list)


@dataclass
class Answer:
    question: str
    answer: str
    citations: list[Citation]
    language: str
    abstained: bool = False
    searched: str = ""  # the standalone question actually searched
    timings: dict[str, float | int | None] = field(default_factory=dict)
    passages: list[Passage] = field(default_factory=list, repr=False)
    condensed: bool = False
    draft: str = field(default="", repr=False)  # the model's text, markers in its numbering
    # what the decisions before reading and the verification stage did: rule, claim,
    # action, reason
    verification: list[dict] = field(default_factory=list)
    verified: Verified | None = field(default=None, repr=False)  # the stage's whole result
    # the time the question asked about and what it did to the search (rag.answer.when)
    window: dict | None = None
    outlets: list[str] = field(default_factory=list)  # named by the question: searched alone

    def to_dict(self) -> dict:
        return {
            "answer": self.answer,
            "citations": [asdict(c) for c in self.citations],
            "language": self.language,
            "abstained": self.abstained,
            "searched": self.searched,
            "condensed": self.condensed,
            "timings": self.timings,
            "verification": self.verification,
            "window": self.window,
            "outlets": self.outlets,
        }


def present(
    question: str,
    verified: Verified,
    passages: Sequence[Passage],
    language: str,
    embedder: Embedder | None,
    text: str | None = None,
    also_in: Callable[[str], list[dict[str, str]]] | None = None,
) -> Answer:
    """The Answer of a verified draft; `text` is its final text when it differs from the
    verified one (translated). Without an embedder, citations carry no highlights."""
    answer_text = verified.text if text is None else text
    cited = [passages[n - 1] for n in verified.cited]
    citations = [
        Citation(
            n=i,
            doc_id=p.chunk.doc_id,
            title=p.chunk.title,
            text=p.chunk.text,
            start=p.chunk.start,
            end=p.chunk.end,
            score=round(p.score, 6),
            source=p.chunk.source,
            published=p.chunk.published,
            outlet=p.chunk.outlet,
            authors=list(p.chunk.authors),
            url=p.chunk.url,
            also_in=also_in(p.chunk.doc_id) if also_in else [],
        )
        for i, p in enumerate(cited, 1)
    ]
    if citations and embedder is not None:
        language_used = detect_language(answer_text, default=language)
        found = sentence_highlights(answer_text, cited, embedder, language_used)
        for citation, spans in zip(citations, found, strict=True):
            citation.highlights = [{"start": a, "end": b} for a, b in spans]
    return Answer(
        question,
        answer_text,
        citations,
        language,
        verified.abstained,
        passages=list(passages),
        draft=verified.draft,
        verification=verified.report(),
        verified=verified,
    )


def declined(
    question: str, decision: Decision, text: str, passages: Sequence[Passage], language: str
) -> Answer:
    """The Answer of a question the model never read (rag.answer.decide)."""
    verified = Verified(text, [], True, [decision], language)
    return present(question, verified, passages, language, None)


def dates_said(answer: Answer, language: str) -> str:
    """For a question about a time: the sentence that dates the articles the answer relies on,
    when its text does not (« Publié par Gala.fr le 9 décembre 2019 [1]. »); "" otherwise.
    Written from the articles' metadata, so a small model's silence on dates costs nothing."""
    text = answer.answer.casefold()
    dated: dict[tuple[str, str], list[int]] = {}
    for c in answer.citations:
        day = day_in_words(c.published, language)
        if day and day.casefold() not in text and c.published[:10] not in text:
            dated.setdefault((c.outlet, day), []).append(c.n)
    if not dated:
        return ""
    fr = language == "fr"
    parts = []
    for (outlet, day), ns in dated.items():
        markers = "".join(f"[{n}]" for n in ns)
        if fr:
            parts.append(f"{f'par {outlet} ' if outlet else ''}le {day} {markers}")
        else:
            parts.append(f"{f'by {outlet} ' if outlet else ''}on {day} {markers}")
    joined = "; ".join(parts)
    return f" Publié {joined}." if fr else f" Published {joined}."
