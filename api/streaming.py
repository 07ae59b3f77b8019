"""Bridge a blocking generation (llama.cpp runs in a thread) to an async SSE response.

The generation runs in its own thread and hands events to the event loop through a queue. When
the client disconnects, sse-starlette cancels the response task; we then set `cancel`, and the
generation stops before its next token, freeing the CPU and the model for the next question.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from rag.service import Event

log = logging.getLogger(__name__)
_END = object()


async def run_in_thread(
    make_events: Callable[[threading.Event], Iterator[Event]],
) -> AsyncIterator[Event]:
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Any] = asyncio.Queue()
    cancel = threading.Event()

    def hand_over(item: Any) -> None:
        try:
            loop.call_soon_threadsafe(queue.put_nowait, item)
        except RuntimeError:  # the event loop is gone (server shutting down): nobody listens
            cancel.set()

    def produce() -> None:
        events = make_events(cancel)
        try:
            for event in events:
                hand_over(event)
                if cancel.is_set():
                    break
        except BaseException as exc:  # surfaced to the client as an error event
            log.exception("generation failed")
            hand_over(exc)
        finally:
            events.close()  # type: ignore[attr-defined]
            hand_over(_END)

    thread = threading.Thread(target=produce, name="generation", daemon=True)
    thread.start()
    try:
        while (item := await queue.get()) is not _END:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        cancel.set()


class ClientGoneError(RuntimeError):
    """The client disconnected before its answer was ready."""


async def final_answer(events: AsyncIterator[Event], is_disconnected) -> Any:
    """The `done` answer of a generation, for a non-streamed request. When the client hangs
    up first, the generation is cancelled (its thread stops before the next token) and
    ClientGoneError is raised."""

    async def consume() -> Any:
        async for e in events:
            if e.kind == "done":
                return e.answer
        raise ClientGoneError("the generation was cancelled")

    task = asyncio.ensure_future(consume())
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=0.5)
            if done:
                return task.result()
            if await is_disconnected():
                raise ClientGoneError("the client disconnected")
    finally:
        if not task.done():
            task.cancel()  # run_in_thread's cleanup sets the cancel flag


def sse(event: str, data: Any) -> dict[str, str]:
    return {"event": event, "data": json.dumps(data, ensure_ascii=False)}


async def rag_events(events: AsyncIterator[Event]) -> AsyncIterator[dict[str, str]]:
    """Our own SSE framing: meta, token..., citations, done (or error)."""
    try:
        async for e in events:
            if e.kind == "meta":
                yield sse("meta", {"searched": e.searched, "language": e.language})
            elif e.kind == "token":
                yield sse("token", {"text": e.text})
            elif e.kind == "citations" and e.answer:
                yield sse("citations", {"citations": e.answer.to_dict()["citations"]})
            elif e.kind == "done" and e.answer:
                yield sse("done", e.answer.to_dict())
    except Exception as exc:
        yield sse("error", {"detail": f"generation failed: {exc}"})
