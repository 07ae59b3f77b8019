"""Documents over HTTP: list, read, add (files or JSON), replace, delete; ingestion jobs.

Every write goes through the ingestion service (ingest.service), like `rag ingest`
(content-hash idempotence holds across both), queued as a job in SQLite. Small uploads are
waited for and answered 200 with the job; larger ones (or `?wait=false`) answer 202 at once
with the job to poll.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError
from starlette.datastructures import UploadFile

from api.deps import IngestionDep, ServiceDep, SettingsDep, WriteAccess, require_read
from api.routes import UNAUTHORIZED
from api.schemas import DocumentInfo, DocumentPage, DocumentText, ErrorOut, JobOut, Text
from ingest.locking import WriteLockTimeoutError
from ingest.pipeline import Outcome
from ingest.readers import DOC_ID, ReadError, article_from_fields, article_from_upload
from ingest.service import IngestionService
from rag.settings import Settings

router = APIRouter(tags=["documents"], responses=UNAUTHORIZED)
READ = [Depends(require_read)]
MAX_FILES = 1000
INLINE_WAIT_S = 120.0


class DocumentIn(BaseModel):
    """An article as fields. Stored as `title`, a keyword line, a blank line and `text`."""

    title: Text = Field(..., min_length=1, max_length=300, examples=["Titane : un accord"])
    text: Text = Field(..., min_length=1, examples=["La France et le Kazakhstan ont signé…"])
    keywords: list[Annotated[Text, Field(max_length=60)]] = Field(default_factory=list)
    doc_id: str | None = Field(None, pattern=DOC_ID.pattern, description="default: from the title")


class DocumentReplace(BaseModel):
    title: Text = Field(..., min_length=1, max_length=300)
    text: Text = Field(..., min_length=1)
    keywords: list[Annotated[Text, Field(max_length=60)]] = Field(default_factory=list)


def _body(model: type[BaseModel], many_files: bool) -> dict[str, Any]:
    files: dict[str, Any] = {"type": "string", "format": "binary"}
    if many_files:
        files = {"type": "array", "items": files, "minItems": 1}
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": model.model_json_schema()},
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {"files": files},
                        "required": ["files"],
                    }
                },
            },
        }
    }


WRITE_RESPONSES: dict[int | str, dict[str, Any]] = {
    202: {"model": JobOut, "description": "Queued: poll GET /v1/jobs/{id}"},
    400: {"model": ErrorOut, "description": "The body could not be decoded"},
    413: {"model": ErrorOut, "description": "Larger than RAG_MAX_UPLOAD_MB"},
    415: {"model": ErrorOut, "description": "Neither JSON nor multipart/form-data"},
}


def _invalid(loc: tuple[str | int, ...], msg: str) -> RequestValidationError:
    return RequestValidationError([{"type": "value_error", "loc": loc, "msg": msg, "input": None}])


async def _read_upload(request: Request, settings: Settings, doc_id: str | None, single: bool):
    """The documents of a request, and the files refused up front (with their reasons)."""
    limit = int(settings.serve.max_upload_mb * 1_000_000)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    articles, rejected = [], []
    if content_type == "application/json":
        try:
            data = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise _invalid(("body",), f"the body is not valid JSON: {err}") from None
        model = DocumentReplace if single else DocumentIn
        try:
            fields = model.model_validate(data)
        except ValidationError as err:
            errors = [{**e, "loc": ("body", *e["loc"])} for e in err.errors(include_url=False)]
            raise RequestValidationError(errors) from None
        try:
            articles.append(
                article_from_fields(
                    fields.title,
                    fields.text,
                    tuple(fields.keywords),
                    doc_id or getattr(fields, "doc_id", None),
                )
            )
        except ReadError as err:
            raise _invalid(("body",), str(err)) from None
        return articles, rejected, len(fields.text.encode())
    if content_type != "multipart/form-data":
        raise HTTPException(415, "send application/json or multipart/form-data (field `files`)")
    try:
        form = await request.form(max_files=MAX_FILES, max_fields=20)
    except Exception as err:  # malformed multipart
        raise _invalid(("body",), f"the multipart body could not be read: {err}") from None
    uploads = [f for f in form.getlist("files") if isinstance(f, UploadFile)]
    if not uploads:
        raise _invalid(("body", "files"), "no file in the `files` field")
    if single and len(uploads) != 1:
        raise _invalid(("body", "files"), "send exactly one file to replace a document")
    seen: set[str] = set()
    size = 0
    for i, upload in enumerate(uploads):
        name = upload.filename or ""
        raw = await upload.read()
        size += len(raw)
        try:
            if name in seen:
                raise ReadError(f"{name}: the same file name twice in one upload")
            seen.add(name)
            articles.append(article_from_upload(name, raw, doc_id, limit))
        except ReadError as err:
            rejected.append(Outcome(name or f"file {i + 1}", "error", detail=str(err)))
    if not articles:
        raise RequestValidationError(
            [
                {"type": "value_error", "loc": ("body", "files", i), "msg": o.detail}
                for i, o in enumerate(rejected)
            ]
        )
    return articles, rejected, size


async def _submit(
    ingestion: IngestionService,
    settings: Settings,
    articles,
    rejected,
    size: int,
    replace: bool,
    wait: bool | None,
):
    job_id = await run_in_threadpool(ingestion.submit, articles, replace, rejected)
    inline = wait if wait is not None else size <= settings.serve.inline_upload_kb * 1024
    if inline:
        deadline = time.monotonic() + INLINE_WAIT_S
        while time.monotonic() < deadline:
            job = await run_in_threadpool(ingestion.job, job_id)
            if job is None or job.state in ("done", "failed"):
                break
            await asyncio.sleep(0.05)
    job = await run_in_threadpool(ingestion.job, job_id)
    body = JobOut(**job.to_dict()).model_dump()
    return JSONResponse(body, status_code=200 if job.state in ("done", "failed") else 202)


@router.post(
    "/v1/documents",
    response_model=JobOut,
    responses={**WRITE_RESPONSES, 422: {"description": "No acceptable document"}},
    openapi_extra=_body(DocumentIn, many_files=True),
    summary="Add documents (files or JSON)",
)
async def add_documents(
    request: Request,
    settings: SettingsDep,
    ingestion: IngestionDep,
    _: WriteAccess,
    wait: Annotated[bool | None, Query(description="wait for it (default: small uploads)")] = None,
):
    """Add one or more `.txt`/`.md` files (multipart field `files`) or one JSON document.
    A file's id is its name's stem (a JSON document's: `doc_id`, else its title). The same
    content again is `unchanged`; different content under an existing id is a `conflict`
    (replace it with PUT). Per-file outcomes come with the job."""
    articles, rejected, size = await _read_upload(request, settings, None, single=False)
    return await _submit(ingestion, settings, articles, rejected, size, False, wait)


@router.put(
    "/v1/documents/{doc_id}",
    response_model=JobOut,
    responses={**WRITE_RESPONSES, 422: {"description": "Not an acceptable document"}},
    openapi_extra=_body(DocumentReplace, many_files=False),
    summary="Replace (or create) one document",
)
async def replace_document(
    doc_id: Annotated[str, Path(pattern=DOC_ID.pattern)],
    request: Request,
    settings: SettingsDep,
    ingestion: IngestionDep,
    _: WriteAccess,
    wait: Annotated[bool | None, Query()] = None,
):
    """Replace the document `doc_id` with one file (multipart field `files`) or JSON
    fields; it is created when it does not exist."""
    articles, rejected, size = await _read_upload(request, settings, doc_id, single=True)
    return await _submit(ingestion, settings, articles, rejected, size, True, wait)


@router.delete(
    "/v1/documents/{doc_id}",
    responses={
        404: {"model": ErrorOut, "description": "No such document"},
        503: {"model": ErrorOut, "description": "A long ingestion holds the store; retry"},
    },
)
def delete_document(doc_id: str, ingestion: IngestionDep, _: WriteAccess) -> Any:
    """Delete a document and its passages: it is never retrieved or cited again."""
    try:
        removed = ingestion.delete(doc_id, wait=30.0)
    except WriteLockTimeoutError:
        return JSONResponse(
            {"detail": "an ingestion is writing to the store; try again shortly"},
            status_code=503,
            headers={"Retry-After": "10"},
        )
    if removed < 0:
        raise HTTPException(404, f"no document with id {doc_id!r}")
    return {"doc_id": doc_id, "deleted_passages": removed}


@router.get("/v1/documents", response_model=DocumentPage, dependencies=READ)
def list_documents(
    service: ServiceDep,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> DocumentPage:
    """Ingested articles sorted by title, a page at a time (`total` counts them all)."""
    docs = service.store.documents()
    return DocumentPage(
        total=len(docs),
        offset=offset,
        limit=limit,
        documents=[DocumentInfo.of(d) for d in docs[offset : offset + limit]],
    )


@router.get(
    "/v1/documents/{doc_id}",
    response_model=DocumentText,
    responses={404: {"model": ErrorOut, "description": "No such document"}},
    dependencies=READ,
)
def document(doc_id: str, service: ServiceDep) -> DocumentText:
    """A whole article, to show a citation inside its text."""
    doc = service.store.get_document(doc_id)
    if doc is None:
        raise HTTPException(404, f"no document with id {doc_id!r}")
    return DocumentText(**DocumentInfo.of(doc).model_dump(), text=doc.text)


@router.get(
    "/v1/jobs/{job_id}",
    response_model=JobOut,
    responses={404: {"model": ErrorOut, "description": "No such job"}},
    dependencies=READ,
)
def job(job_id: str, ingestion: IngestionDep) -> JobOut:
    """An ingestion job: its state, progress in passages embedded, and per-file outcomes."""
    found = ingestion.job(job_id)
    if found is None:
        raise HTTPException(404, f"no job with id {job_id!r}")
    return JobOut(**found.to_dict())
