"""OpenAI-compatible chat completions, so existing clients and chat front ends work unchanged.

Citations travel in an extra top-level `citations` field (and in the last chunk when streamed).
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from sse_starlette.sse import EventSourceResponse
from starlette.background import BackgroundTask

from api.deps import ServiceDep, SettingsDep, require_read
from api.routes import ANSWER_RESPONSES, UNAUTHORIZED, question_or_422
from api.schemas import FiltersIn, Text, filters_of, valid_text
from api.streaming import ClientGoneError, final_answer, run_in_thread
from rag.service import Answer, Event
from rag.settings import Settings

router = APIRouter(
    tags=["openai-compatible"], dependencies=[Depends(require_read)], responses=UNAUTHORIZED
)
log = logging.getLogger(__name__)
MODEL_ID = "ragkit"
COMPLETION_RESPONSES = {
    **ANSWER_RESPONSES,
    200: {
        "content": {
            "text/event-stream": {
                "itemSchema": {
                    "type": "object",
                    "properties": {
                        "data": {"type": "string", "description": "a chunk as JSON, or [DONE]"}
                    },
                    "required": ["data"],
                }
            }
        }
    },
}


class OAMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: Annotated[str | list[dict[str, Any]] | None, BeforeValidator(valid_text)] = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(p.get("text", "") for p in self.content if p.get("type") == "text")
        return self.content or ""


class OAChatRequest(BaseModel):
    model_config = ConfigDict(extra="allow")  # temperature, top_p... are accepted and ignored
    model: Text = MODEL_ID  # echoed in the response
    messages: list[OAMessage] = Field(..., min_length=1)
    stream: bool = False
    # ours, as extra body fields (the `openai` client's `extra_body`)
    filters: FiltersIn | None = Field(
        None, description="limit the search: publication days, outlets, languages"
    )
    now: datetime | None = Field(
        None, description="the time relative expressions of the question count from"
    )


def _conversation(body: OAChatRequest, settings: Settings) -> list[dict]:
    # System prompts are ours: the answer must come from the sources with citations.
    messages = [
        {"role": m.role, "content": m.text()}
        for m in body.messages
        if m.role in ("user", "assistant")
    ]
    last = ("body", "messages", len(body.messages) - 1)
    if not messages or messages[-1]["role"] != "user":
        error = {
            "type": "value_error",
            "loc": last,
            "msg": "the last message must be the user's question",
            "input": None,
        }
        raise RequestValidationError([error])
    messages[-1]["content"] = question_or_422(messages[-1]["content"], settings, (*last, "content"))
    return messages


def _usage(answer: Answer) -> dict[str, int]:
    prompt = int(answer.timings.get("prompt_tokens") or 0)
    completion = int(answer.timings.get("completion_pieces") or 0)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


@router.get("/v1/models")
def models(settings: SettingsDep) -> dict:
    return {
        "object": "list",
        "data": [
            {
                "id": MODEL_ID,
                "object": "model",
                "created": 0,
                "owned_by": "ragkit",
                "llm": settings.models.llm_model,
                "embedder": settings.models.embed_model,
            }
        ],
    }


@router.post("/v1/chat/completions", responses=COMPLETION_RESPONSES)
async def chat_completions(
    body: OAChatRequest, request: Request, service: ServiceDep, settings: SettingsDep
):
    messages = _conversation(body, settings)
    run = service.open(messages, None, filters_of(body), body.now)  # 503 now when full
    completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
    created = int(time.time())
    events = run_in_thread(run.events)
    if not body.stream:
        try:
            answer = await final_answer(events, request.is_disconnected)
        except ClientGoneError:
            return Response(status_code=499)
        finally:
            run.close()
        return {
            "id": completion_id,
            "object": "chat.completion",
            "created": created,
            "model": body.model,
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": answer.answer},
                }
            ],
            "usage": _usage(answer),
            "citations": answer.to_dict()["citations"],
            "searched": answer.searched,
            "window": answer.window,
            "outlets": answer.outlets,
        }

    def chunk(delta: dict, finish: str | None = None, **extra: Any) -> dict[str, str]:
        payload = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": body.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            **extra,
        }
        return {"data": json.dumps(payload, ensure_ascii=False)}

    async def frames(events: AsyncIterator[Event]) -> AsyncIterator[dict[str, str]]:
        yield chunk({"role": "assistant", "content": ""})
        try:
            async for e in events:
                if e.kind == "token":
                    yield chunk({"content": e.text})
                elif e.kind == "done" and e.answer:
                    d = e.answer.to_dict()
                    yield chunk(
                        {},
                        "stop",
                        citations=d["citations"],
                        answer=d["answer"],
                        searched=d["searched"],
                        usage=_usage(e.answer),
                    )
        except Exception as exc:
            # OpenAI clients read an `error` object in the stream, and need [DONE] to stop.
            log.exception("chat completion stream failed")
            error = {"message": f"generation failed: {exc}", "type": "server_error"}
            yield {"data": json.dumps({"error": error}, ensure_ascii=False)}
        yield {"data": "[DONE]"}

    return EventSourceResponse(frames(events), ping=10, background=BackgroundTask(run.close))
