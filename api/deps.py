"""Dependency aliases (FastAPI full-stack template style) and API-key access control."""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from ingest.service import IngestionService
from rag.service import AnswerService
from rag.settings import ServeSettings, Settings


def get_service(request: Request) -> AnswerService:
    return request.app.state.service


def get_ingestion(request: Request) -> IngestionService:
    return request.app.state.ingestion


def get_app_settings(request: Request) -> Settings:
    return request.app.state.settings


def key_digests(serve: ServeSettings) -> list[bytes]:
    return [hashlib.sha256(k.encode()).digest() for k in serve.api_key_list()]


def _unauthorized(reason: str) -> HTTPException:
    return HTTPException(401, reason, headers={"WWW-Authenticate": 'Bearer realm="ragkit"'})


def check_key(request: Request, write: bool) -> None:
    """With RAG_API_KEYS set, writes (and reads when RAG_AUTH_READS) need
    `Authorization: Bearer <key>`. Keys are compared as SHA-256 digests with
    `hmac.compare_digest`, every key every time, so timing tells nothing."""
    digests: list[bytes] = request.app.state.key_digests
    if not digests or not (write or request.app.state.settings.serve.auth_reads):
        return
    header = request.headers.get("authorization")
    if header is None:
        raise _unauthorized("an API key is required: send `Authorization: Bearer <key>`")
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("malformed Authorization header: expected `Bearer <key>`")
    given = hashlib.sha256(token.strip().encode("latin-1", "replace")).digest()
    valid = False
    for digest in digests:
        valid |= hmac.compare_digest(given, digest)
    if not valid:
        raise _unauthorized("the API key is not valid")


def require_read(request: Request) -> None:
    check_key(request, write=False)


def require_write(request: Request) -> None:
    check_key(request, write=True)


ServiceDep = Annotated[AnswerService, Depends(get_service)]
IngestionDep = Annotated[IngestionService, Depends(get_ingestion)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]
ReadAccess = Annotated[None, Depends(require_read)]
WriteAccess = Annotated[None, Depends(require_write)]
