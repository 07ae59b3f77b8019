"""The answer path, stage by stage (rag.answer): understand -> decide -> retrieve -> decide ->
read -> verify -> present.

`AnswerService.stream` is the single code path: `ask`, `chat` and every HTTP endpoint consume
it, so streamed and non-streamed answers are identical by construction. An answer holds a
place in the generation queue (rag.gate) for its whole life: reserved when it is opened (a
full queue refuses it at once), entered before the first model call, given back once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

from llama_index.core.llms import LLM

from rag.answer import decide
from rag.answer.collection import COLLECTION, CollectionAsk, articles_on, collection_ask
from rag.answer.collection import answer_text as collection_text
from rag.answer.present import Answer, Citation, dates_said, declined, present
from rag.answer.question import Question, question_of, standalone
from rag.answer.read import Reader
from rag.answer.when import strip_time
from rag.answer.who import outlets_named
from rag.counters import SharedCounters
from rag.engines import Engines
from rag.filters import Filters
from rag.gate import CancelledError, GenerationGate, Ticket
from rag.grounding import is_repeating
from rag.memory import release_free_memory
from rag.retrieval import (
    HybridRetriever,
    Retrieval,
    keep_close_to_best,
    most_recent,
    naming,
)
from rag.schema import Passage
from rag.settings import RetrievalSettings
from rag.verify import ClaimStream, Decision, Verified, VerifyConfig

__all__ = ["Answer", "AnswerService", "Citation", "Event"]
log = logging.getLogger(__name__)
# A question about the collection lists the articles among this many best passages
COLLECTION_DEPTH = 50


@dataclass
class Event:
    """What a stream yields: `meta` (what is searched), `token`s, `citations`, then `done`."""

    kind: Literal["meta", "token", "citations", "done"]
    text: str = ""
    answer: Answer | None = None
    searched: str = ""
    language: str = ""


@dataclass(frozen=True)
class Request:
    """What a client asks: the conversation (its last user message is the question), how
    many passages at most, what the search is limited to, and the time that relative
    expressions ("last week") count from (None: the clock's)."""

    messages: tuple[dict, ...]
    top_k: int | None = None
    filters: Filters | None = None
    now: datetime | None = None


@dataclass
class _Reading:
    """What reading the passages gave: the answer and when its parts came."""

    answer: Answer
    first_token: float | None  # perf_counter times
    first_text: float | None
    pieces: int
    started: float


class AnswerService:
    def __init__(
        self,
        engines: Engines,
        llm: LLM,
        retrieval: RetrievalSettings,
        gate: GenerationGate,
        verify: VerifyConfig | None = None,
        retriever: HybridRetriever | None = None,
    ) -> None:
        self.engines = engines
        self.store = engines.store
        self.retriever = retriever or HybridRetriever(
            engines.store, engines.embedder, engines.index, stories=engines.stories
        )
        self.llm = llm
        self.reader = Reader(llm)
        self.retrieval = retrieval
        self.gate = gate
        self.verify = verify or VerifyConfig()
        self.generations_started = 0
        self.generations_finished = 0
        self.generations_cancelled = 0
        self.counters: SharedCounters | None = None  # every worker's totals, when shared

    # --- the stages, for callers that want one --------------------------------------------
    def retrieve(
        self, question: str, top_k: int | None = None, filters: Filters | None = None
    ) -> list[Passage]:
        return self.retriever.retrieve(question, top_k or self.retrieval.top_k, filters)

    def search(
        self,
        question: Question,
        top_k: int | None = None,
        filters: Filters | None = None,
        topic: str | None = None,
    ) -> Retrieval:
        """The passages the model reads: the top ones among those `filters` and the
        question's time allow, cut where scores fall far below the best
        (rag.retrieval.keep_close_to_best); for a question about an entity, also the others of
        the top ones that name it (rag.retrieval.naming); for the latest news, the newest of
        those close to the best (rag.retrieval.most_recent). A question's window filters only
        a corpus with dated articles ("en 1789" in an encyclopaedia asks about 1789, not about
        when an article was published)."""
        k = top_k or self.retrieval.top_k
        time, query, window, recency = question.time, question.searched, None, False
        named = () if filters and filters.outlets else self.named_outlets(question)
        if named:
            filters = replace(filters or Filters(), outlets=named)
        if time.found and self.store.has_dated():
            if time.window is not None:
                window = time.window
                filters = (filters or Filters()).narrowed(window.after, window.before)
            query, recency = strip_time(question.searched, time), time.recency
        if topic is not None:  # a list of articles: every one of them, reprints too
            topic = strip_time(topic, time) if window is not None or recency else topic
            found = self.retriever.search(topic, k, question.language, filters, fold=False)
            found.filters, found.window, found.outlets_named = filters, window, named
            return found
        found = self.retriever.search(query, 2 * k if recency else k, question.language, filters)
        r = self.retrieval
        if recency:
            read = most_recent(found.passages, k)
        else:
            read = keep_close_to_best(found.passages, r.relative_score, r.min_passages)
        if question.entity:
            read = naming(question.entity, found.passages, read)
        found.passages, found.filters = read, filters
        found.window, found.recency, found.outlets_named = window, recency, named
        return found

    def named_outlets(self, question: Question) -> tuple[str, ...]:
        """The outlets the question names (rag.answer.who): the search is limited to them."""
        return outlets_named(question.searched, self.retriever.index.outlets())

    def context(self, question: str, top_k: int | None = None) -> list[Passage]:
        return self.search(question_of([{"role": "user", "content": question}]), top_k).passages

    def _listed(self, question: Question, listing: CollectionAsk, found: Retrieval) -> Answer:
        """The answer to a question about the collection: the articles that speak of the
        topic, each cited by its passage that does (rag.answer.collection)."""
        language = question.language
        listed = articles_on(
            listing.topic, language, found.passages, lambda p: p.scores.get("sentence", 0.0)
        )
        text = collection_text(listing, listed, language)
        reason = f"{len(listed)} article(s) speak of {listing.topic!r}: listed, not generated"
        decision = Decision(COLLECTION, None, "keep", reason)
        cited = list(range(1, len(listed) + 1))
        verified = Verified(text, cited, not listed, [decision], language, text)
        passages = [x.passage for x in listed]
        return present(
            question.text, verified, passages, language, self.retriever.embedder, text=text
        )

    def also_in(self, doc_id: str) -> list[dict[str, str]]:
        """The other articles of `doc_id`'s story (its reprints): where else it was published."""
        stories = self.engines.stories
        story = stories.story(doc_id) if stories is not None else None
        if story is None:
            return []
        others = [d for d in stories.members(story) if d != doc_id]
        found = self.store.get_documents(others)
        return [
            {
                "doc_id": d.doc_id,
                "title": d.title,
                "outlet": d.outlet,
                "published": d.published,
                "url": d.url,
            }
            for d in (found[i] for i in others if i in found)
        ]

    def warm_up(self) -> None:
        """Load the embedder and read the fixed prompt prefix once, so that the first
        question costs what every other one does. Chroma loads the vector graph at its first
        query: that reading (seconds at 100k passages on a cold disk) overlaps the model's."""
        dim = self.retriever.embedder.dim
        graph = threading.Thread(
            target=self.store.query, args=([dim**-0.5] * dim, 1), name="warm-graph", daemon=True
        )
        graph.start()
        warm = getattr(self.retriever.embedder, "warm_up", None)
        if warm:
            warm()
        self.reader.warm_up()
        graph.join()

    # --- answers --------------------------------------------------------------------------
    def ask(self, question: str, top_k: int | None = None, **options: Any) -> Answer:
        return self.chat([{"role": "user", "content": question}], top_k, **options)

    def chat(self, messages: Sequence[dict], top_k: int | None = None, **options: Any) -> Answer:
        for event in self.stream(messages, top_k, **options):
            if event.kind == "done" and event.answer is not None:
                return event.answer
        raise RuntimeError("generation ended without an answer")

    def open(
        self,
        messages: Sequence[dict],
        top_k: int | None = None,
        filters: Filters | None = None,
        now: datetime | None = None,
    ) -> AnswerRun:
        """Reserve a place in the generation queue now (BusyError when it is full, before
        any stream starts) for an answer run later by `AnswerRun.events`."""
        request = Request(tuple(messages), top_k, filters, now)
        return AnswerRun(self, request, self.gate.reserve())

    def stream(
        self,
        messages: Sequence[dict],
        top_k: int | None = None,
        cancel: threading.Event | None = None,
        **options: Any,
    ) -> Iterator[Event]:
        """Answer the last user message of `messages`; earlier ones are the conversation.
        `cancel` stops the generation between two tokens (a client that went away)."""
        yield from self.open(messages, top_k, **options).events(cancel)

    def now(self) -> datetime:
        """The time a question's relative expressions count from: the settings' reference
        time (evaluation, tests), else the clock's, in the server's time zone."""
        return self.retrieval.reference_time or datetime.now().astimezone()

    def _answer(self, request: Request, ticket: Ticket, cancel: threading.Event) -> Iterator[Event]:
        t0 = time.perf_counter()
        messages, top_k = request.messages, request.top_k
        question = question_of(messages, request.now or self.now())
        decision = decide.before_retrieval(question, self.store.is_empty())
        if decision:  # answered without retrieval or the model
            text = decide.DECLINED[decision.rule][question.language]
            answer = declined(question.text, decision, text, [], question.language)
            answer.searched = question.text
            answer.timings = {"total_ms": _ms(t0)}
            yield Event("meta", searched=question.text, language=question.language)
            yield Event("token", answer.answer)
            yield Event("citations", answer=answer)
            yield Event("done", answer=answer)
            return

        timings: dict[str, float | int | None] = {}
        # Everything that uses the model (rewrite, answer, translation) holds the slot and
        # stops when the client goes away.
        ticket.enter(cancel)
        try:
            timings["queue_ms"] = _ms(t0)
            t_condense = time.perf_counter()
            question = standalone(question, lambda m: self.reader.generate(m, cancel))
            timings["condense_ms"] = _ms(t_condense) if question.condensed else 0.0
            yield Event("meta", searched=question.searched, language=question.language)

            t_retrieve = time.perf_counter()
            listing = collection_ask(question.searched, question.language)
            depth, topic = (COLLECTION_DEPTH, listing.topic) if listing else (top_k, None)
            found = self.search(question, depth, request.filters, topic)
            timings["retrieval_ms"] = _ms(t_retrieve)
            decision = None if listing else decide.before_reading(question, found, self.verify)
            if listing or decision:  # listed from the articles, or nothing to read
                if listing:
                    answer = self._listed(question, listing, found)
                else:
                    text = decide.declined_text(decision, question, found)
                    answer = declined(
                        question.text, decision, text, found.passages, question.language
                    )
                now = time.perf_counter()
                read = _Reading(answer, None, now, 0, now)
                yield Event("token", answer.answer)
            else:
                read = yield from self._read(question, found, timings, cancel)
                if (found.window is not None or found.recency) and not read.answer.abstained:
                    dates = dates_said(read.answer, question.language)  # asked about a time
                    read.answer.answer += dates
                    if dates:
                        yield Event("token", dates)
            answer = read.answer
        finally:
            ticket.release()

        answer.searched, answer.condensed = question.searched, question.condensed
        answer.window = _window_report(question, found)
        answer.outlets = list(found.outlets_named)
        t_end = time.perf_counter()
        answer.timings = {
            **timings,
            "first_token_ms": _ms(t0, read.first_token) if read.first_token else None,
            # the first verified text the client sees (claims are held until checked)
            "first_text_ms": _ms(t0, read.first_text) if read.first_text else None,
            "generation_ms": _ms(read.started, t_end),
            "completion_pieces": read.pieces,
            "total_ms": _ms(t0, t_end),
        }
        yield Event("citations", answer=answer)
        yield Event("done", answer=answer)

    def _read(
        self,
        question: Question,
        found: Retrieval,
        timings: dict[str, float | int | None],
        cancel: threading.Event,
    ) -> Generator[Event, None, _Reading]:
        """The model reads the passages and drafts; claims stream as they pass verification."""
        passages, language = found.passages, question.language
        # The model sees the standalone question: it does not see the conversation.
        prompt = self.reader.prompt(
            question.searched, language, passages, found.vector, found.dated
        )
        timings["prompt_tokens"] = self.reader.count_tokens(prompt)

        # Claims are released once verified, so what streams is the answer (rag.verify)
        def new_claims() -> ClaimStream:
            embedder = self.retriever.embedder
            args = (question.text, language, self.verify, embedder, question.searched)
            return ClaimStream(passages, *args)

        claims = new_claims()
        first_token: float | None = None
        first_text: float | None = None
        pieces = 0
        t_gen = time.perf_counter()
        self._count("started")
        drafting = self.reader.stream(prompt, cancel)
        try:
            for delta in drafting:
                pieces += 1
                first_token = first_token or time.perf_counter()
                ready = claims.feed(delta) if delta else ""
                if ready:
                    first_text = first_text or time.perf_counter()
                    yield Event("token", ready)
                if claims.stopped:
                    why = "the answer abstained" if claims.abstained else "a rule stopped it"
                    log.info("generation stopped: %s", why)
                    break
                if is_repeating(claims.draft):
                    log.warning("generation stopped: the model is repeating itself")
                    break
        finally:
            drafting.close()  # stops llama.cpp mid-generation when we leave early
        verified = claims.finish()
        final = verified.text
        if verified.abstained:
            rest = final  # nothing was released before an abstention
        elif verified.used_language != language:  # held whole: released translated
            final = rest = self.reader.translate(verified.text, language, cancel)
        else:
            rest = claims.tail
        if rest:
            first_text = first_text or time.perf_counter()
            yield Event("token", rest)
        answer = present(
            question.text,
            verified,
            passages,
            language,
            self.retriever.embedder,
            text=final,
            also_in=self.also_in,
        )
        answer.draft = claims.draft
        self._count("finished")
        return _Reading(answer, first_token, first_text, pieces, t_gen)

    def _count(self, what: str) -> None:
        name = f"generations_{what}"
        setattr(self, name, getattr(self, name) + 1)
        if self.counters is not None:
            self.counters.add(name)


class AnswerRun:
    """One answer and its place in the generation queue. The place was reserved when the
    run was opened; `events` enters it before the first model call and gives it back when
    the answer ends; `close` gives back a place whose answer never started (a client gone
    before its stream began). Either way the place is given back exactly once."""

    def __init__(self, service: AnswerService, request: Request, ticket: Ticket) -> None:
        self.service, self.request, self.ticket = service, request, ticket

    def events(self, cancel: threading.Event | None = None) -> Iterator[Event]:
        cancel = cancel or threading.Event()
        try:
            yield from self.service._answer(self.request, self.ticket, cancel)
        except CancelledError:  # the client went away: while waiting, mid-generation, or
            # during a side generation
            self.service._count("cancelled")
            log.info("request cancelled before it finished")
        finally:
            self.ticket.release()
            release_free_memory()

    def close(self) -> None:
        self.ticket.abandon()


def _window_report(question: Question, found: Retrieval) -> dict | None:
    """The time the question asked about, and whether it limited the search (a corpus
    without publication dates cannot be limited by one)."""
    time = question.time
    if not time.found:
        return None
    window = time.window
    return {
        "expression": time.expression,
        "after": window.after.isoformat() if window and window.after else None,
        "before": window.before.isoformat() if window and window.before else None,
        "described": window.describe(question.language) if window else "",
        "recency": time.recency,
        "applied": found.window is not None or found.recency,
    }


def _ms(start: float, end: float | None = None) -> float:
    return round(((end or time.perf_counter()) - start) * 1000, 1)
