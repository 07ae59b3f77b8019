"""The answering pipeline: retrieve, number, prompt, generate, keep only valid citations.

`AnswerService.stream` is the single code path; `ask` consumes it, so streamed and
non-streamed answers are identical by construction.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Literal

from llama_index.core.llms import LLM

from rag.citations import MarkerFilter
from rag.language import detect_language
from rag.llm import count_prompt_tokens, to_chat_messages
from rag.prompting import EMPTY_CORPUS, NO_ANSWER, build_messages, is_abstention
from rag.retrieval import HybridRetriever
from rag.schema import Passage
from rag.store import ChunkStore


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

    def to_dict(self) -> dict:
        return {
            "answer": self.answer,
            "citations": [asdict(c) for c in self.citations],
            "language": self.language,
            "abstained": self.abstained,
            "searched": self.searched,
            "timings": self.timings,
        }


@dataclass
class Event:
    kind: Literal["token", "citations", "done"]
    text: str = ""
    answer: Answer | None = None


class BusyError(RuntimeError):
    """Too many generations already waiting: the caller should retry later."""


class GenerationGate:
    """One generation at a time per model, at most `max_waiting` queued behind it."""

    def __init__(self, max_waiting: int) -> None:
        self._run = threading.Lock()
        self._count = threading.Lock()
        self._max_waiting = max_waiting
        self.waiting = 0
        self.running = 0

    def __enter__(self) -> GenerationGate:
        with self._count:
            if self.waiting + self.running >= self._max_waiting + 1:
                raise BusyError("the model is busy; try again shortly")
            self.waiting += 1
        self._run.acquire()
        with self._count:
            self.waiting -= 1
            self.running += 1
        return self

    def __exit__(self, *exc: object) -> None:
        with self._count:
            self.running -= 1
        self._run.release()


class AnswerService:
    def __init__(
        self,
        store: ChunkStore,
        retriever: HybridRetriever,
        llm: LLM,
        top_k: int = 4,
        max_waiting: int = 4,
    ) -> None:
        self.store = store
        self.retriever = retriever
        self.llm = llm
        self.top_k = top_k
        self.gate = GenerationGate(max_waiting)
        self.generations_started = 0
        self.generations_finished = 0
        self.generations_cancelled = 0

    def retrieve(self, question: str, top_k: int | None = None) -> list[Passage]:
        return self.retriever.retrieve(question, top_k or self.top_k)

    def ask(self, question: str, top_k: int | None = None) -> Answer:
        for event in self.stream(question, top_k):
            if event.kind == "done" and event.answer is not None:
                return event.answer
        raise RuntimeError("generation ended without an answer")

    def stream(
        self, question: str, top_k: int | None = None, searched: str | None = None
    ) -> Iterator[Event]:
        """Answer `question`, retrieving with `searched` (a condensed follow-up) if given."""
        t0 = time.perf_counter()
        language = detect_language(question)
        query = searched or question
        if self.store.count() == 0:
            answer = Answer(question, EMPTY_CORPUS[language], [], language, True, query)
            answer.timings = {"total_ms": _ms(t0)}
            yield Event("token", answer.answer)
            yield Event("citations", answer=answer)
            yield Event("done", answer=answer)
            return

        passages = self.retrieve(query, top_k)
        t_retrieved = time.perf_counter()
        messages = to_chat_messages(build_messages(question, passages, language))
        timings: dict[str, float | int | None] = {
            "retrieval_ms": _ms(t0, t_retrieved),
            "prompt_tokens": count_prompt_tokens(self.llm, messages),
        }
        markers = MarkerFilter(len(passages))
        text = ""
        first_token: float | None = None
        n_pieces = 0
        with self.gate:
            t_gen = time.perf_counter()
            timings["queue_ms"] = _ms(t_retrieved, t_gen)
            self.generations_started += 1
            finished = False
            try:
                for response in self.llm.stream_chat(messages):
                    n_pieces += 1
                    if first_token is None:
                        first_token = time.perf_counter()
                    out = markers.feed(response.delta or "")
                    if out:
                        text += out
                        yield Event("token", out)
                tail = markers.flush()
                if tail:
                    text += tail
                    yield Event("token", tail)
                finished = True
            finally:
                if finished:
                    self.generations_finished += 1
                else:
                    self.generations_cancelled += 1
        answer_text = text.strip()
        cited = markers.order
        abstained = is_abstention(answer_text, language)
        if abstained:
            answer_text, cited = NO_ANSWER[language], []
        citations = [
            Citation(
                n=i,
                doc_id=passages[n - 1].chunk.doc_id,
                title=passages[n - 1].chunk.title,
                text=passages[n - 1].chunk.text,
                start=passages[n - 1].chunk.start,
                end=passages[n - 1].chunk.end,
                score=round(passages[n - 1].score, 6),
                source=passages[n - 1].chunk.source,
            )
            for i, n in enumerate(cited, 1)
        ]
        t_end = time.perf_counter()
        timings.update(
            first_token_ms=_ms(t0, first_token) if first_token else None,
            generation_ms=_ms(t_gen, t_end),
            completion_pieces=n_pieces,
            total_ms=_ms(t0, t_end),
        )
        answer = Answer(
            question, answer_text, citations, language, abstained, query, timings, passages
        )
        yield Event("citations", answer=answer)
        yield Event("done", answer=answer)


def _ms(start: float, end: float | None = None) -> float:
    return round(((end or time.perf_counter()) - start) * 1000, 1)


def citations_payload(citations: Sequence[Citation]) -> list[dict]:
    return [asdict(c) for c in citations]
