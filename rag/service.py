"""The answering pipeline: (condense) -> retrieve -> number -> prompt -> generate -> keep only
valid, grounded citations.

`AnswerService.stream` is the single code path: `ask`, `chat` and every HTTP endpoint consume
it, so streamed and non-streamed answers are identical by construction.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Generator, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Literal

from llama_index.core.llms import LLM

from rag.citations import MarkerFilter
from rag.conversation import clean_condensed, condense_messages, needs_condensing
from rag.counters import SharedCounters
from rag.focus import focus_texts
from rag.gate import CancelledError, GenerationGate, Ticket
from rag.grammar import cited_grammar
from rag.grounding import insert_marker, is_repeating
from rag.highlights import sentence_highlights
from rag.language import detect_language
from rag.llm import count_prompt_tokens, to_chat_messages
from rag.memory import release_free_memory
from rag.off_task import REFUSAL, off_task, withhold_instructions
from rag.prompting import (
    EMPTY_CORPUS,
    NO_ANSWER,
    build_messages,
    make_citation_resolver,
    translation_messages,
)
from rag.quote import QuoteFilter
from rag.retrieval import HybridRetriever, keep_close_to_best
from rag.schema import Passage
from rag.settings import VerifySettings
from rag.store import ChunkStore
from rag.text import answer_claims
from rag.verify import ClaimStream, Verified
from rag.verify.claims import to_passage_numbers
from rag.verify.rules import QUESTION_NAMES, Decision, unnamed_subject

log = logging.getLogger(__name__)


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
    draft: str = field(default="", repr=False)  # the model's text before the grounding checks
    quote: str = field(default="", repr=False)  # quote-first style: what it copied first
    # what the verification stage did to the draft: rule, claim, action, reason
    verification: list[dict] = field(default_factory=list)
    verified: Verified | None = field(default=None, repr=False)  # the stage's whole result

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
        }


@dataclass
class Event:
    """What a stream yields: `meta` (what is searched), `token`s, `citations`, then `done`."""

    kind: Literal["meta", "token", "citations", "done"]
    text: str = ""
    answer: Answer | None = None
    searched: str = ""
    language: str = ""


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
        store: ChunkStore,
        retriever: HybridRetriever,
        llm: LLM,
        top_k: int = 5,
        max_waiting: int = 4,
        relative_score: float = 0.0,
        min_passages: int = 1,
        slots: int = 1,
        verify_settings: VerifySettings | None = None,
        prompt_style: str = "cited",
        context: str = "sentences",
        context_window: int = 1,
        context_window_rest: int | None = None,
        prompt_examples: int = 1,
        prompt_answers: str = "sentences",
        grammar: str = "off",
        prompt_demos: str = "fr",
        best_last_languages: frozenset[str] = frozenset(),
        min_relevance: float = 0.0,
        min_relevance_en: float = 0.0,
    ) -> None:
        self.store = store
        self.prompt_style = prompt_style  # rag.prompting.build_messages
        self.context_mode = context  # "passages" whole, or "sentences" (rag.focus)
        self.context_window = context_window
        self.context_window_rest = context_window_rest
        self.prompt_examples = prompt_examples
        self.prompt_answers = prompt_answers  # "short": the answering words alone
        self.prompt_demos = prompt_demos  # "question": English demonstrations for English
        self.best_last_languages = best_last_languages  # the best passage next to the question
        self.min_relevance = min_relevance  # rag.settings: abstain before reading below it
        self.min_relevance_en = min_relevance_en  # the same, English question and passage
        self.grammar = grammar  # "cited": rag.grammar.cited_grammar, passed to llama.cpp
        self.retriever = retriever
        self.llm = llm
        self.top_k = top_k
        self.relative_score = relative_score
        self.min_passages = min_passages
        self.verify_settings = verify_settings or VerifySettings()
        self.gate = GenerationGate(max_waiting, slots)
        self.generations_started = 0
        self.generations_finished = 0
        self.generations_cancelled = 0
        self.counters: SharedCounters | None = None  # every worker's totals, when shared

    def _count(self, what: str) -> None:
        name = f"generations_{what}"
        setattr(self, name, getattr(self, name) + 1)
        if self.counters is not None:
            self.counters.add(name)

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
        # both languages' prefixes when the demonstrations follow the question's language
        for language in ("fr", "en") if self.prompt_demos == "question" else ("en",):
            prompt = to_chat_messages(
                build_messages(
                    "Warm-up?",
                    [],
                    language,
                    self.prompt_style,
                    examples=self.prompt_examples,
                    demos=self.prompt_demos,
                    answers=self.prompt_answers,
                )
            )
            self.llm.chat(prompt, max_tokens=1)
        graph.join()

    def retrieve(self, question: str, top_k: int | None = None) -> list[Passage]:
        return self.retriever.retrieve(question, top_k or self.top_k)

    def context(self, question: str, top_k: int | None = None) -> list[Passage]:
        """The passages the model reads: the top ones, cut where scores fall far below the
        best (rag.retrieval.keep_close_to_best)."""
        return keep_close_to_best(
            self.retrieve(question, top_k), self.relative_score, self.min_passages
        )

    def ask(self, question: str, top_k: int | None = None) -> Answer:
        return self.chat([{"role": "user", "content": question}], top_k)

    def chat(
        self, messages: Sequence[dict], top_k: int | None = None, ticket: Ticket | None = None
    ) -> Answer:
        for event in self.stream(messages, top_k, ticket):
            if event.kind == "done" and event.answer is not None:
                return event.answer
        raise RuntimeError("generation ended without an answer")

    def _generate(self, messages: list[dict], cancel: threading.Event | None = None) -> str:
        """A whole side generation (rewrite, translation), stopped between two pieces when
        the client goes away."""
        text = ""
        responses = self.llm.stream_chat(to_chat_messages(messages))
        try:
            for response in responses:
                if cancel is not None and cancel.is_set():
                    raise CancelledError("the client went away")
                text += response.delta or ""
        finally:
            responses.close()
        return text

    def condense(
        self, question: str, history: Sequence[dict], cancel: threading.Event | None = None
    ) -> str:
        if not needs_condensing(question, history):
            return question
        draft = self._generate(condense_messages(question, history), cancel)
        rewritten = clean_condensed(draft, question)
        if rewritten.casefold() == question.casefold():
            # The model could not rewrite it: searching with the previous question as well
            # still finds what the follow-up is about.
            previous = next(m["content"] for m in reversed(history) if m["role"] == "user")
            rewritten = f"{previous.strip()} {question}"
        return rewritten

    def stream(
        self,
        messages: Sequence[dict],
        top_k: int | None = None,
        ticket: Ticket | None = None,
        cancel: threading.Event | None = None,
    ) -> Iterator[Event]:
        """Answer the last user message of `messages`; earlier ones are the conversation.

        `ticket` is a place already reserved in the generation queue; `cancel` stops the
        generation between two tokens (a client that went away)."""
        ticket = ticket or self.gate.reserve()
        try:
            yield from self._stream(messages, top_k, ticket, cancel or threading.Event())
        except (CancelledError, GeneratorExit):
            # the client went away: while waiting, mid-generation, or during a side generation
            self._count("cancelled")
            log.info("request cancelled before it finished")
        finally:
            ticket.release()
            release_free_memory()

    def _stream(
        self,
        messages: Sequence[dict],
        top_k: int | None,
        ticket: Ticket,
        cancel: threading.Event,
    ) -> Iterator[Event]:
        t0 = time.perf_counter()
        question = messages[-1]["content"].strip()
        history = list(messages[:-1])
        language = detect_language(question)
        # answered without retrieval or the model: nothing ingested, or a request to the
        # assistant itself (no passage reaches the model, so none can be dumped)
        reason = "empty corpus" if self.store.is_empty() else off_task(question)
        if reason:
            log.info("answered without the model: %s", reason)
            text = (EMPTY_CORPUS if reason == "empty corpus" else REFUSAL)[language]
            answer = Answer(question, text, [], language, True, question)
            answer.timings = {"total_ms": _ms(t0)}
            yield Event("meta", searched=question, language=language)
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
            searched = self.condense(question, history, cancel) if history else question
            condensed = searched != question
            timings["condense_ms"] = _ms(t_condense) if condensed else 0.0
            yield Event("meta", searched=searched, language=language)

            t_retrieve = time.perf_counter()
            passages = self.context(searched, top_k)
            timings["retrieval_ms"] = _ms(t_retrieve)
            unrelated = self._unrelated(passages, language) or self._unnamed(
                question, passages, language
            )
            if unrelated is not None:  # no passage is about the question: nothing to read
                verified = Verified(NO_ANSWER[language], [], True, [unrelated], language)
                answer = self.present(question, verified, passages, language)
                now = time.perf_counter()
                read = _Reading(answer, None, now, 0, now)
                yield Event("token", answer.answer)
            else:
                read = yield from self._read(
                    question, searched, passages, language, timings, cancel
                )
            answer = read.answer
        finally:
            ticket.release()

        answer.searched, answer.condensed = searched, condensed
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
        question: str,
        searched: str,
        passages: list[Passage],
        language: str,
        timings: dict[str, float | int | None],
        cancel: threading.Event,
    ) -> Generator[Event, None, _Reading]:
        """The model reads the passages and drafts; claims stream as they pass verification."""
        shown = self._shown(searched, passages)  # in rank order: the best one's window first
        if language in self.best_last_languages:  # numbered as shown; citations renumber anyway
            passages = passages[::-1]
            shown = shown[::-1]
        # The model sees the standalone question: it does not see the conversation.
        prompt = to_chat_messages(
            build_messages(
                searched,
                passages,
                language,
                self.prompt_style,
                shown,
                self.prompt_examples,
                self.prompt_demos,
                self.prompt_answers,
            )
        )
        timings["prompt_tokens"] = count_prompt_tokens(self.llm, prompt)

        # A marker goes to the passage that best supports its claim (a 1.5B model cites
        # [1] by habit): rag.prompting.make_citation_resolver.
        markers = MarkerFilter(len(passages), make_citation_resolver(passages, searched, language))
        # Claims are released once verified, so what streams is the answer (rag.verify)
        claims = ClaimStream(
            passages, question, language, self.verify_settings, self.retriever.embedder
        )
        # a quote-first draft shows only what follows "Answer:" (rag.quote)
        quotes = QuoteFilter() if self.prompt_style == "quote" else None
        text = ""  # the draft as the markers filter gives it (client numbering)
        first_token: float | None = None
        first_text: float | None = None
        pieces = 0
        t_gen = time.perf_counter()
        self._count("started")
        shape = {"grammar": cited_grammar(len(passages))} if self.grammar == "cited" else {}
        responses = self.llm.stream_chat(prompt, **shape)
        try:
            for response in responses:
                if cancel.is_set():
                    raise CancelledError("the client went away")
                pieces += 1
                first_token = first_token or time.perf_counter()
                delta = response.delta or ""
                out = markers.feed(quotes.feed(delta) if quotes else delta)
                if quotes and quotes.quote and not claims.quote:
                    claims.read_quote(quotes.quote)  # checked before any answer is shown
                if out:
                    text += out
                    ready = claims.feed(to_passage_numbers(out, markers.order))
                    if ready:
                        first_text = first_text or time.perf_counter()
                        yield Event("token", ready)
                if claims.stopped:
                    why = "the answer abstained" if claims.abstained else "a rule stopped it"
                    log.info("generation stopped: %s", why)
                    break
                if is_repeating(text):
                    log.warning("generation stopped: the model is repeating itself")
                    break
            tail = (markers.feed(quotes.flush()) if quotes else "") + markers.flush()
            if quotes and quotes.quote and not claims.quote:
                claims.read_quote(quotes.quote)
            if quotes and quotes.quote:
                log.info("quoted before answering: %s", quotes.quote[:300])
            if tail:
                text += tail
                claims.feed(to_passage_numbers(tail, markers.order))
        finally:
            responses.close()  # stops llama.cpp mid-generation when we leave early
        verified = claims.finish()
        final = verified.text
        if verified.abstained:
            rest = final  # nothing was released before an abstention
        elif verified.used_language != language:  # held whole: released translated
            final = rest = self._translate(verified.text, language, cancel)
        else:
            rest = claims.tail
        if rest:
            first_text = first_text or time.perf_counter()
            yield Event("token", rest)
        answer = self.present(question, verified, passages, language, text=final)
        answer.draft, answer.quote = text, quotes.quote if quotes else ""
        self._count("finished")
        return _Reading(answer, first_token, first_text, pieces, t_gen)

    def _unrelated(self, passages: list[Passage], language: str) -> Decision | None:
        """An abstention before the model reads anything, when no sentence of the passages
        comes close to the question (best e5 similarity below `min_relevance`, or below
        `min_relevance_en` for an English passage and question: cross-lingual similarities
        run lower, so that threshold must not judge a French passage)."""
        scored = [p for p in passages if "sentence" in p.scores]
        if not scored or not (self.min_relevance or self.min_relevance_en):
            return None

        def threshold(p: Passage) -> float:
            same_en = language == "en" and p.chunk.language == "en"
            return self.min_relevance_en if same_en else self.min_relevance

        if any(p.scores["sentence"] >= threshold(p) for p in scored):
            return None
        best = max(scored, key=lambda p: p.scores["sentence"])
        reason = (
            f"no passage is about the question: its closest sentence has similarity "
            f"{best.scores['sentence']:.3f}, below {threshold(best)}"
        )
        log.info("relevance: abstain: %s", reason)
        return Decision("relevance", None, "abstain", reason)

    def _unnamed(self, question: str, passages: list[Passage], language: str) -> Decision | None:
        """An abstention before the model reads, when the passages in the question's language
        never name something the question names: the rule `question-names` would drop every
        claim the model could write from them (rag.verify.rules.names_cited)."""
        checks = self.verify_settings
        if QUESTION_NAMES in checks.rules_off or language not in checks.names_languages:
            return None
        own = [f"{p.chunk.title}\n{p.chunk.text}" for p in passages if p.chunk.language == language]
        if len(own) < len(passages):  # another language may name it differently
            return None
        missing = unnamed_subject(question, language, own)
        if missing is None:
            return None
        reason = f"no passage names {missing!r}, which the question names"
        log.info("%s: abstain: %s", QUESTION_NAMES, reason)
        return Decision(QUESTION_NAMES, None, "abstain", reason)

    def _shown(self, question: str, passages: list[Passage]) -> list[str]:
        """What the model reads of each passage: all of it, or its best sentences; never a
        sentence that tells an assistant to drop its instructions (rag.off_task)."""
        if self.context_mode != "sentences" or not passages:
            texts = [p.chunk.text.strip() for p in passages]
        else:
            vector = self.retriever.query_vector(question)  # embedded once, by retrieval
            stored = self.retriever.index.sentences([p.chunk.id for p in passages])
            texts = focus_texts(
                passages, vector, stored, self.context_window, self.context_window_rest
            )
        return [withhold_instructions(t) for t in texts]

    def _translate(self, text: str, language: str, cancel: threading.Event | None) -> str:
        """Translate an answer written in the wrong language, keeping its markers; keep the
        original when the translation lost or invented a marker."""
        translated = self._generate(translation_messages(text, language), cancel).strip()
        if translated and sorted(_MARKERS.findall(translated)) != sorted(_MARKERS.findall(text)):
            translated = _restore_markers(text, translated) or ""
            if not translated:
                log.info("translation changed the citation markers; keeping the original answer")
        return translated or text

    def present(
        self,
        question: str,
        verified: Verified,
        passages: list[Passage],
        language: str,
        cancel: threading.Event | None = None,
        highlights: bool = True,
        text: str | None = None,
    ) -> Answer:
        """The Answer of a verified draft, with its citations and their highlighted
        sentences; `text` is its final text when the caller has it (already translated),
        else a draft written in the wrong language is translated here."""
        answer_text, cited = verified.text if text is None else text, verified.cited
        if text is None and not verified.abstained and verified.used_language != language:
            answer_text = self._translate(answer_text, language, cancel)
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
        if citations and highlights:
            chunks = [passages[n - 1].chunk for n in cited]
            stored = getattr(self.retriever, "index", None)
            found = sentence_highlights(
                answer_text,
                chunks,
                self.retriever.embedder,
                stored.sentences([c.id for c in chunks]) if stored is not None else {},
                detect_language(answer_text, default=language),
            )
            for citation, spans in zip(citations, found, strict=True):
                citation.highlights = [{"start": a, "end": b} for a, b in spans]
        return Answer(
            question,
            answer_text,
            citations,
            language,
            verified.abstained,
            passages=passages,
            draft=verified.draft,
            verification=verified.report(),
            verified=verified,
        )


_MARKERS = re.compile(r"\[\d+\]")


def _restore_markers(original: str, translated: str) -> str | None:
    """Put each claim's markers back on the same claim of a translation that lost or changed
    them; None when the two do not have the same number of claims."""
    source, target = answer_claims(original), answer_claims(translated)
    if len(source) != len(target):
        return None
    out, last = [], 0
    for (a, b), (c, d) in zip(source, target, strict=True):
        markers = " ".join(_MARKERS.findall(original[a:b]))
        version = translated[c:d]
        body = _MARKERS.sub("", version.rstrip()).rstrip()
        tail = version[len(version.rstrip()) :]
        if markers:
            body = insert_marker(body, (0, len(body)), markers)
        out.append(translated[last:c] + body + tail)
        last = d
    return "".join(out) + translated[last:]


def _ms(start: float, end: float | None = None) -> float:
    return round(((end or time.perf_counter()) - start) * 1000, 1)
