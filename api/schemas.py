"""Request and response models of the HTTP API."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from rag.filters import Filters

# Python's json module turns a `\ud800` escape into a lone surrogate, which no UTF-8 encoder
# (the response, the model's tokenizer, Chroma) accepts; NUL is never text either.
_NOT_TEXT = re.compile("[\x00\ud800-\udfff]")


def not_text(value: Any, path: str = "") -> str | None:
    """Why `value` (a string, or strings nested in lists and dicts) is not text, or None."""
    if isinstance(value, str):
        found = _NOT_TEXT.search(value)
        if found is None:
            return None
        char = found.group()
        what = (
            "a NUL character (U+0000)"
            if char == "\x00"
            else f"a lone UTF-16 surrogate (U+{ord(char):04X}, half of a surrogate pair)"
        )
        of = f" of {path}" if path else ""
        return f"not valid Unicode text: {what} at index {found.start()}{of}"
    pairs: Iterable[tuple[Any, Any]]
    if isinstance(value, dict):
        pairs = value.items()
    elif isinstance(value, list):
        pairs = enumerate(value)
    else:
        return None
    for key, item in pairs:
        key_path = f"a key of {path or 'the object'}"
        if why := not_text(key, key_path) or not_text(item, f"{path}[{key!r}]"):
            return why
    return None


def valid_text(value: Any) -> Any:
    """Before validation, so the reason is the same whatever constraints the field has."""
    if why := not_text(value):
        raise ValueError(why)
    return value


# Every string of a request body that reaches the pipeline, the store or a response.
Text = Annotated[str, BeforeValidator(valid_text)]


def encodable(value: Any) -> Any:
    """`value` with every lone surrogate in its strings (and keys) written as `\\udXXX`, so
    an error that echoes the input can still be encoded as UTF-8."""
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, dict):
        return {encodable(k): encodable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [encodable(v) for v in value]
    return value


def not_empty(value: str) -> str:
    if not value.strip():
        raise ValueError("the question is empty")
    return value.strip()


def check_question(value: str, limit: int) -> str:
    """The question, stripped; ValueError with the reason when it is empty or too long (the
    limit is the serving app's setting, so it is checked by the routes, not the models)."""
    value = not_empty(value)
    if len(value) > limit:
        raise ValueError(f"the question is {len(value)} characters long; the limit is {limit}")
    return value


class FiltersIn(BaseModel):
    """What the search is limited to (inside the vector and keyword searches), combined with
    the window a question's words give ("last week"): days included on both sides."""

    model_config = ConfigDict(extra="forbid")

    published_after: date | None = Field(None, examples=["2020-02-01"])
    published_before: date | None = Field(None, examples=["2020-02-29"])
    outlets: list[Annotated[Text, Field(min_length=1, max_length=200)]] = Field(
        default_factory=list, max_length=50, examples=[["Le Monde", "Reuters"]]
    )
    languages: list[Literal["fr", "en"]] = Field(default_factory=list)

    @model_validator(mode="after")
    def _ordered(self) -> FiltersIn:
        after, before = self.published_after, self.published_before
        if after and before and after > before:
            raise ValueError(f"published_after ({after}) is after published_before ({before})")
        return self

    def filters(self) -> Filters:
        return Filters(
            self.published_after,
            self.published_before,
            tuple(self.outlets),
            tuple(self.languages),
        )


def filters_of(body: BaseModel) -> Filters | None:
    given = getattr(body, "filters", None)
    return given.filters() if isinstance(given, FiltersIn) else None


_FILTERS = Field(None, description="limit the search: publication days, outlets, languages")
_NOW = Field(
    None,
    description="the time relative expressions of the question count from (default: now)",
    examples=["2020-02-20T12:00:00+01:00"],
)


class AskRequest(BaseModel):
    question: Text = Field(..., examples=["What are the agreement's four objectives?"])
    top_k: int | None = Field(
        None, ge=1, le=20, description="Most passages given to the model (weaker ones are left out)"
    )
    stream: bool = False
    filters: FiltersIn | None = _FILTERS
    now: datetime | None = _NOW

    _check = field_validator("question")(not_empty)


class Message(BaseModel):
    role: Literal["user", "assistant"]
    content: Text = Field(..., max_length=20_000)


class ChatRequest(BaseModel):
    messages: list[Message] = Field(..., min_length=1, max_length=50)
    top_k: int | None = Field(None, ge=1, le=20)
    stream: bool = False
    filters: FiltersIn | None = _FILTERS
    now: datetime | None = _NOW

    @model_validator(mode="after")
    def _last_is_a_question(self) -> ChatRequest:
        if self.messages[-1].role != "user":
            raise ValueError("the last message must be the user's question")
        self.messages[-1].content = not_empty(self.messages[-1].content)
        return self


class PassageOut(BaseModel):
    """A passage of a source text: `source_text[start:end] == text`, with its article's
    metadata ("" or empty when unknown)."""

    doc_id: str
    title: str
    text: str
    start: int
    end: int
    score: float
    published: str = Field(
        "",
        description='ISO 8601: "2020-02-14" (day only) or "2020-02-14T09:30:00+01:00"',
        examples=["2020-02-14T09:30:00+01:00"],
    )
    outlet: str = Field("", examples=["Le Monde"])
    authors: list[str] = Field(default_factory=list)
    url: str = Field("", description="the original article's address")

    @classmethod
    def chunk_fields(cls, chunk) -> dict[str, Any]:
        """The fields of a passage that come from its chunk (rag.schema.Chunk)."""
        return {
            "doc_id": chunk.doc_id,
            "title": chunk.title,
            "text": chunk.text,
            "start": chunk.start,
            "end": chunk.end,
            "published": chunk.published,
            "outlet": chunk.outlet,
            "authors": list(chunk.authors),
            "url": chunk.url,
        }


class Span(BaseModel):
    start: int
    end: int


class ReprintOut(BaseModel):
    """Another article that carries the same story (a reprint, another headline)."""

    doc_id: str
    title: str
    outlet: str = ""
    published: str = ""
    url: str = ""


class CitationOut(PassageOut):
    n: int
    source: str = ""
    also_in: list[ReprintOut] = Field(
        default_factory=list, description="the other articles that carry this story"
    )
    highlights: list[Span] = Field(
        default_factory=list,
        description="the sentences of the source that support the claims citing it "
        "(offsets into the source text, inside [start, end))",
    )


class VerificationOut(BaseModel):
    """What the verification stage (rag.verify) did to one claim of the model's draft, or to
    the whole answer (`claim` empty, `action` "abstain")."""

    rule: str
    claim: str
    action: Literal["keep", "drop", "recite", "abstain", "stop"] = Field(
        description='"stop": the claim and the rest of the draft were left out'
    )
    reason: str = Field(
        description="passage numbers in it are those of the prompt (as the model read them), "
        "not the answer's [n] markers"
    )


class WindowOut(BaseModel):
    """The time a question asked about ("last week", « en février 2020 », "latest")."""

    expression: str = Field(description="the question's words that said it")
    after: str | None = Field(None, description="first day of the window (ISO), None: open")
    before: str | None = Field(None, description="last day of the window (ISO), None: open")
    described: str = Field("", description="the window in the question's language")
    recency: bool = Field(False, description="the question asked for the most recent first")
    applied: bool = Field(
        description="it limited the search (false over a corpus without publication dates)"
    )


class AskResponse(BaseModel):
    answer: str
    citations: list[CitationOut]
    language: str
    abstained: bool
    searched: str
    condensed: bool = False
    timings: dict[str, float | int | None]
    verification: list[VerificationOut] = Field(
        default_factory=list, description="claims the grounding checks dropped or re-cited"
    )
    window: WindowOut | None = Field(
        None, description="the time the question asked about, when it named one"
    )
    outlets: list[str] = Field(
        default_factory=list,
        description="outlets the question named by their full name: only their articles "
        "were searched",
    )


class ErrorOut(BaseModel):
    detail: str
    retry_after: int | None = None
    queue: dict[str, int] | None = None


class Health(BaseModel):
    status: str
    passages: int
    documents: int
    llm: str
    embedder: str
    generations: dict[str, float | int] = {}
    limits: dict[str, float | int] = Field(
        default_factory=dict, description="max_upload_mb, max_question_chars"
    )
    auth: dict[str, bool] = Field(
        default_factory=dict, description="whether writes and reads need an API key"
    )


class DocumentInfo(BaseModel):
    doc_id: str
    title: str
    keywords: list[str]
    passages: int
    language: str
    source: str = Field("", description="file path, `upload:NAME`, `api:ID` or the URL read")
    state: str = Field("ready", description="`writing` or `deleting` while a change is under way")
    added_at: float = Field(0.0, description="unix time of the last change")
    published: str = Field(
        "",
        description='ISO 8601: "2020-02-14" (day only) or "2020-02-14T09:30:00+01:00"; "" when '
        "unknown",
    )
    outlet: str = ""
    authors: list[str] = Field(default_factory=list)
    url: str = Field("", description="the original article's address")
    feed: str = Field("", description="the address of the feed it came from")

    @classmethod
    def of(cls, doc) -> DocumentInfo:
        return cls(
            doc_id=doc.doc_id,
            title=doc.title,
            keywords=list(doc.keywords),
            passages=doc.n_chunks,
            language=doc.language,
            source=doc.source,
            state=doc.state,
            added_at=round(doc.added_at, 3),
            published=doc.published,
            outlet=doc.outlet,
            authors=list(doc.authors),
            url=doc.url,
            feed=doc.feed,
        )


class DocumentText(DocumentInfo):
    text: str


class DocumentPage(BaseModel):
    total: int
    offset: int
    limit: int
    documents: list[DocumentInfo]


class FileOutcome(BaseModel):
    name: str
    status: Literal["added", "updated", "unchanged", "deleted", "error", "conflict"]
    doc_id: str | None = None
    passages: int = 0
    embedded: int = 0
    detail: str = ""


class JobOut(BaseModel):
    """An ingestion job: `queued`, `running`, then `done` (per-file outcomes) or `failed`."""

    id: str
    state: Literal["queued", "running", "done", "failed"]
    created: float
    updated: float
    documents: int
    embedded: int = Field(description="passages embedded so far")
    to_embed: int = Field(description="passages to embed in all (known once the job runs)")
    outcomes: list[FileOutcome]
    error: str = ""


class RetrieveRequest(BaseModel):
    question: Text = Field(..., examples=["What are the agreement's four objectives?"])
    top_k: int | None = Field(None, ge=1, le=50, description="Passages to return")
    filters: FiltersIn | None = _FILTERS

    _check = field_validator("question")(not_empty)


class RetrievedPassageOut(PassageOut):
    scores: dict[str, float]


class RetrieveResponse(BaseModel):
    passages: list[RetrievedPassageOut]
    timings: dict[str, float]
