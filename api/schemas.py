"""Request and response models of the HTTP API."""

from __future__ import annotations

from pydantic import BaseModel, Field, field_validator

from rag.settings import get_settings


def check_question(value: str) -> str:
    limit = get_settings().max_question_chars
    if not value.strip():
        raise ValueError("the question is empty")
    if len(value) > limit:
        raise ValueError(f"the question is {len(value)} characters long; the limit is {limit}")
    return value.strip()


class AskRequest(BaseModel):
    question: str = Field(..., examples=["What are the agreement's four objectives?"])
    top_k: int | None = Field(None, ge=1, le=20, description="Passages given to the model")
    stream: bool = False

    _check = field_validator("question")(check_question)


class CitationOut(BaseModel):
    n: int
    doc_id: str
    title: str
    text: str
    start: int
    end: int
    score: float
    source: str = ""


class AskResponse(BaseModel):
    answer: str
    citations: list[CitationOut]
    language: str
    abstained: bool
    searched: str
    timings: dict[str, float | int | None]


class Health(BaseModel):
    status: str
    passages: int
    documents: int
    llm: str
    embedder: str


class DocumentInfo(BaseModel):
    doc_id: str
    title: str
    keywords: list[str]
    passages: int
    language: str


class DocumentText(DocumentInfo):
    text: str
