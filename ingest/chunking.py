"""Sentence-aware chunking that keeps exact character offsets into the source text.

News paragraphs are natural citation units: each paragraph is a chunk, a heading joins the
paragraph it introduces, tiny paragraphs join their neighbour, and only paragraphs longer than
`chunk_size` tokens are split, at sentence boundaries, by llama-index's SentenceSplitter.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass

from llama_index.core.node_parser import SentenceSplitter

from rag.schema import Chunk, Document

Tokenize = Callable[[str], list]
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n+")


def whitespace_tokenize(text: str) -> list[str]:
    return text.split()


@dataclass(frozen=True)
class Span:
    start: int
    end: int


def paragraph_spans(text: str, start: int = 0) -> list[Span]:
    spans: list[Span] = []
    pos = start
    for m in [*_PARAGRAPH_BREAK.finditer(text, start), None]:
        end = m.start() if m else len(text)
        seg = text[pos:end]
        if seg.strip():
            lead = len(seg) - len(seg.lstrip())
            spans.append(Span(pos + lead, pos + len(seg.rstrip())))
        if m:
            pos = m.end()
    return spans


def _is_heading(text: str) -> bool:
    t = text.strip()
    return "\n" not in t and len(t) <= 90 and not t.endswith((".", "!", "?", ":", ";", "…", "»"))


class Chunker:
    def __init__(
        self,
        chunk_size: int = 220,
        chunk_overlap: int = 30,
        tokenize: Tokenize = whitespace_tokenize,
        min_tokens: int = 40,
    ) -> None:
        self.chunk_size = chunk_size
        self.min_tokens = min_tokens
        self.tokenize = tokenize
        self._splitter = SentenceSplitter(
            chunk_size=chunk_size, chunk_overlap=chunk_overlap, tokenizer=tokenize
        )

    def _n_tokens(self, text: str) -> int:
        return len(self.tokenize(text))

    def spans(self, text: str, body_start: int = 0) -> list[Span]:
        counts: dict[tuple[int, int], int] = {}

        def n_tokens(span: Span) -> int:  # each span is tokenized once
            key = (span.start, span.end)
            if key not in counts:
                counts[key] = self._n_tokens(text[span.start : span.end])
            return counts[key]

        paragraphs = paragraph_spans(text, body_start)
        # Headings introduce the next paragraph.
        merged: list[Span] = []
        heading: Span | None = None
        for p in paragraphs:
            if heading is not None:
                p = Span(heading.start, p.end)
                heading = None
            if _is_heading(text[p.start : p.end]) and p is not paragraphs[-1]:
                heading = p
                continue
            merged.append(p)
        if heading is not None:
            merged.append(heading)
        # Tiny paragraphs join the next one when the result still fits.
        joined: list[Span] = []
        for p in merged:
            if joined:
                prev = joined[-1]
                small = n_tokens(prev) < self.min_tokens
                if small and n_tokens(Span(prev.start, p.end)) <= self.chunk_size:
                    joined[-1] = Span(prev.start, p.end)
                    continue
            joined.append(p)
        # Long paragraphs are split at sentence boundaries.
        out: list[Span] = []
        for p in joined:
            if n_tokens(p) <= self.chunk_size:
                out.append(p)
            else:
                segment = text[p.start : p.end]
                out += [Span(p.start + s.start, p.start + s.end) for s in self._split(segment)]
        return out

    def _split(self, segment: str) -> list[Span]:
        spans: list[Span] = []
        cursor = 0
        for piece in self._splitter.split_text(segment):
            piece = piece.strip()
            if not piece:
                continue
            at = segment.find(piece, cursor)
            if at < 0:  # the splitter normalised whitespace: match words loosely
                pattern = r"\s+".join(re.escape(w) for w in piece.split())
                m = re.compile(pattern).search(segment, cursor)
                if not m:
                    continue
                at, end = m.start(), m.end()
            else:
                end = at + len(piece)
            spans.append(Span(at, end))
            cursor = at + 1
        return spans

    def chunk(self, article: Document) -> list[Chunk]:
        chunks: list[Chunk] = []
        seen: dict[str, int] = {}
        for i, span in enumerate(self.spans(article.text, article.body_start)):
            text = article.text[span.start : span.end]
            # Ids hash the content, not the position: an edit elsewhere in the file keeps the
            # ids (and vectors) of unchanged passages; only their offsets are updated.
            occurrence = seen.get(text, 0)
            seen[text] = occurrence + 1
            digest = hashlib.sha256(f"{article.doc_id}\x00{occurrence}\x00{text}".encode())
            chunks.append(
                Chunk(
                    id=f"{article.doc_id}:{digest.hexdigest()[:20]}",
                    doc_id=article.doc_id,
                    text=text,
                    start=span.start,
                    end=span.end,
                    title=article.title,
                    keywords=article.keywords,
                    source=article.source,
                    language=article.language,
                    index=i,
                    published=article.published,
                    outlet=article.outlet,
                    url=article.url,
                    authors=article.authors,
                )
            )
        return chunks
