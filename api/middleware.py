"""ASGI middleware: request body limits (413, with or without Content-Length), worker header."""

from __future__ import annotations

import json
import os

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyLimit:
    """`upload_bytes` for document uploads, `other_bytes` for every other request."""

    def __init__(self, app: ASGIApp, upload_bytes: int, other_bytes: int = 2_000_000) -> None:
        self.app = app
        self.upload_bytes = upload_bytes
        self.other_bytes = other_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        upload = scope["path"].startswith("/v1/documents")
        limit = self.upload_bytes if upload else self.other_bytes
        what = "an upload" if upload else "a request body"
        reason = f"{what} may not exceed {limit / 1e6:g} MB" + (
            " (RAG_MAX_UPLOAD_MB)" if upload else ""
        )
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length", b"").decode(errors="replace")
        if length.isdigit() and int(length) > limit:
            await _reply_413(send, reason)
            return
        received = 0

        async def counted() -> Message:
            # a body without Content-Length (chunked) is counted as it arrives; the
            # HTTPException reaches FastAPI's handler from wherever the body is read
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise HTTPException(413, reason)
            return message

        await self.app(scope, counted, send)


async def _reply_413(send: Send, reason: str) -> None:
    body = json.dumps({"detail": reason}, separators=(",", ":")).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class WorkerHeader:
    """`X-Worker: <pid>` on every response: which worker process answered (several workers
    share one port)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.value = str(os.getpid()).encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def tagged(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message["headers"], (b"x-worker", self.value)]}
            await send(message)

        await self.app(scope, receive, tagged)
