"""Native API: ask, chat (both optionally streamed), retrieve, documents, health."""

from __future__ import annotations

import os
import time

from fastapi import APIRouter, Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from sse_starlette.sse import EventSourceResponse
from starlette.background import BackgroundTask

from api.deps import ServiceDep, SettingsDep, require_read
from api.schemas import (
    AskRequest,
    AskResponse,
    ChatRequest,
    ErrorOut,
    Health,
    RetrievedPassageOut,
    RetrieveRequest,
    RetrieveResponse,
    check_question,
    filters_of,
)
from api.streaming import ClientGoneError, final_answer, rag_events, run_in_thread
from rag.service import AnswerService
from rag.settings import Settings

UNAUTHORIZED: dict[int | str, dict] = {
    401: {"model": ErrorOut, "description": "RAG_API_KEYS is set and no valid key was sent"}
}
router = APIRouter(dependencies=[Depends(require_read)], responses=UNAUTHORIZED)
health_router = APIRouter()

SSE_EVENT = {
    "type": "object",
    "description": "One server-sent event",
    "properties": {
        "event": {"type": "string", "enum": ["meta", "token", "citations", "done", "error"]},
        "data": {"type": "string", "description": "a JSON object"},
    },
    "required": ["data"],
}
ANSWER_RESPONSES: dict[int | str, dict] = {
    200: {
        "content": {
            "text/event-stream": {
                "itemSchema": SSE_EVENT,
                "description": 'with `"stream": true`: meta, token..., citations, done events',
            }
        }
    },
    400: {"model": ErrorOut, "description": "The body could not be decoded"},
    413: {"model": ErrorOut, "description": "The body is larger than 2 MB"},
    503: {
        "model": ErrorOut,
        "description": "The generation queue is full; `Retry-After` estimates the wait",
    },
}

STREAM_DOC = (
    'With `"stream": true` the response is `text/event-stream`: one `meta` event '
    '(`{"searched", "language"}`), `token` events (`{"text"}`), one `citations` event, then '
    "one `done` event carrying the full response. Text is released claim by claim once each "
    "claim has passed the checks (`verification`), so the `token` texts joined are exactly "
    "`done.answer`: nothing streamed is ever taken back."
)


def question_or_422(text: str, settings: Settings, loc: tuple[str | int, ...]) -> str:
    """The app's own question-length limit (not a global one), as a regular 422."""
    try:
        return check_question(text, settings.serve.max_question_chars)
    except ValueError as err:
        error = {"type": "value_error", "loc": loc, "msg": str(err), "input": None}
        raise RequestValidationError([error]) from None


async def _answer(
    request: Request, service: AnswerService, messages: list[dict], body: AskRequest | ChatRequest
):
    filters, now = filters_of(body), body.now
    run = service.open(messages, body.top_k, filters, now)  # 503 now when the queue is full
    stream = body.stream
    events = run_in_thread(run.events)
    if stream:
        # If the stream never starts (client gone first), the reserved place must not leak.
        return EventSourceResponse(
            rag_events(events), ping=10, background=BackgroundTask(run.close)
        )
    try:
        answer = await final_answer(events, request.is_disconnected)
    except ClientGoneError:
        return Response(status_code=499)  # nobody is listening any more
    finally:
        run.close()
    return AskResponse(**answer.to_dict())


@router.post(
    "/v1/ask",
    response_model=AskResponse,
    tags=["answers"],
    description=STREAM_DOC,
    responses=ANSWER_RESPONSES,
)
async def ask(body: AskRequest, request: Request, service: ServiceDep, settings: SettingsDep):
    """Answer one question from the ingested articles, with numbered citations."""
    question = question_or_422(body.question, settings, ("body", "question"))
    messages = [{"role": "user", "content": question}]
    return await _answer(request, service, messages, body)


@router.post(
    "/v1/chat",
    response_model=AskResponse,
    tags=["answers"],
    description=STREAM_DOC,
    responses=ANSWER_RESPONSES,
)
async def chat(body: ChatRequest, request: Request, service: ServiceDep, settings: SettingsDep):
    """Answer the last user message; earlier messages are the conversation (the server keeps no
    state). A follow-up is rewritten into a standalone question (`searched`) before retrieval."""
    messages = [m.model_dump() for m in body.messages]
    last = len(messages) - 1
    messages[-1]["content"] = question_or_422(
        messages[-1]["content"], settings, ("body", "messages", last, "content")
    )
    return await _answer(request, service, messages, body)


@router.post(
    "/v1/retrieve",
    response_model=RetrieveResponse,
    tags=["answers"],
    responses={400: ANSWER_RESPONSES[400], 413: ANSWER_RESPONSES[413]},
)
def retrieve(body: RetrieveRequest, service: ServiceDep, settings: SettingsDep) -> RetrieveResponse:
    """The passages retrieval gives the model, best first, without generating (used by
    `rag eval --url` for its retrieval metrics)."""
    question = question_or_422(body.question, settings, ("body", "question"))
    t0 = time.perf_counter()
    passages = service.retrieve(question, body.top_k, filters_of(body))
    return RetrieveResponse(
        passages=[
            RetrievedPassageOut(
                **RetrievedPassageOut.chunk_fields(p.chunk),
                score=round(p.score, 6),
                scores={k: round(v, 6) for k, v in p.scores.items()},
            )
            for p in passages
        ],
        timings={"retrieval_ms": round((time.perf_counter() - t0) * 1000, 1)},
    )


@health_router.get("/healthz", response_model=Health, tags=["service"])
def healthz(service: ServiceDep, settings: SettingsDep, request: Request) -> Health:
    """Liveness, counters and limits; never needs a key (for load balancers and the page)."""
    keys = bool(request.app.state.key_digests)
    return Health(
        limits={
            "max_upload_mb": settings.serve.max_upload_mb,
            "max_question_chars": settings.serve.max_question_chars,
        },
        auth={"writes": keys, "reads": keys and settings.serve.auth_reads},
        status="ok",
        passages=service.store.count(),
        documents=service.store.document_count(),
        llm=service.llm.metadata.model_name,
        embedder=service.retriever.embedder.name,
        generations={
            **service.gate.snapshot(),
            "started": service.generations_started,
            "finished": service.generations_finished,
            "cancelled": service.generations_cancelled,
            "worker_pid": os.getpid(),
            **{
                f"all_workers_{k.removeprefix('generations_')}": v
                for k, v in (service.counters.read() if service.counters else {}).items()
            },
        },
    )
