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
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

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
from ingest.readers import (
    DOC_ID,
    ReadError,
    ReadResult,
    article_from_fields,
    parse_mapping,
    read_upload,
)
from ingest.remote import page_fetcher
from ingest.service import IngestionService, notes_of
from rag.schema import Document, published_day
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
    by_url = DocumentUrl if many_files else DocumentUrlReplace
    json_schema = {"oneOf": [model.model_json_schema(), by_url.model_json_schema()]}
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": json_schema},
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "files": files,
                            "mapping": {
                                "type": "string",
                                "description": "JSON: an export's fields by dotted path",
                            },
                        },
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


@dataclass
class Read:
    """What a request holds: documents to ingest, the items refused up front (`places[i]`:
    the file of `rejected[i]`), notes on what a reader lost, and the size in bytes."""

    articles: list[Document] = field(default_factory=list)
    rejected: list[Outcome] = field(default_factory=list)
    places: list[int] = field(default_factory=list)
    notes: dict[str, str] = field(default_factory=dict)
    size: int = 0

    def reject(self, name: str, detail: str, place: int) -> None:
        self.rejected.append(Outcome(name, "error", detail=detail))
        self.places.append(place)

    def take(self, result: ReadResult, name: str, place: int) -> None:
        for error in result.errors:
            self.reject(name, error, place)
        self.articles += result.documents
        self.notes |= notes_of(result)
        self.size += sum(len(d.text.encode()) for d in result.documents)


def _mapping(given: dict[str, Any] | None) -> dict[str, str]:
    """An export mapping, checked (422 naming the unknown field)."""
    try:
        return parse_mapping({str(k): str(v) for k, v in (given or {}).items()})
    except ReadError as err:
        raise _invalid(("body", "mapping"), str(err)) from None


def _invalid(loc: tuple[str | int, ...], msg: str) -> RequestValidationError:
    return RequestValidationError([{"type": "value_error", "loc": loc, "msg": msg, "input": None}])


class DocumentUrlReplace(BaseModel):
    """An article (a page), a feed (each entry, read once) or an export at a URL, fetched
    with the RAG_FETCH_* and RAG_ALLOW_PRIVATE_URLS settings."""

    url: Text = Field(..., min_length=1, max_length=2000, examples=["https://example.org/a"])
    mapping: dict[str, Text] | None = Field(
        None,
        description="an export's fields by dotted path, for the ones not found by their common "
        'names: {"text": "story.body_text", "published": "meta.ts"}',
        examples=[{"text": "story.body_text"}],
    )


class DocumentUrl(DocumentUrlReplace):
    doc_id: str | None = Field(
        None, pattern=DOC_ID.pattern, description="default: from the URL (a single article only)"
    )


def _validated(model: type[BaseModel], data: Any) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as err:
        errors = [{**e, "loc": ("body", *e["loc"])} for e in err.errors(include_url=False)]
        raise RequestValidationError(errors) from None


def _read_files(
    files: list[tuple[str, bytes, str]],
    doc_id: str | None,
    limit: int,
    fetch_page,
    mapping: dict[str, str],
) -> Read:
    """Read uploaded files (name, bytes, content type), each in any supported format."""
    read = Read()
    seen: set[str] = set()
    for i, (name, raw, content_type) in enumerate(files):
        label = name or f"file {i + 1}"
        try:
            if name in seen:
                raise ReadError(f"{name}: the same file name twice in one upload")
            seen.add(name)
            result = read_upload(name, raw, content_type, doc_id, limit, fetch_page, mapping)
        except ReadError as err:
            read.reject(label, str(err), i)
            continue
        read.take(result, label, i)
    return read


async def _read_upload(
    request: Request,
    settings: Settings,
    ingestion: IngestionService,
    doc_id: str | None,
    single: bool,
) -> Read:
    """The documents of a request, and the files (or items) refused up front, with reasons."""
    limit = int(settings.serve.max_upload_mb * 1_000_000)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        try:
            data = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise _invalid(("body",), f"the body is not valid JSON: {err}") from None
        if isinstance(data, dict) and "url" in data:
            given = _validated(DocumentUrlReplace if single else DocumentUrl, data)
            own_id = doc_id or getattr(given, "doc_id", None)
            mapping = _mapping(given.mapping)
            result = await run_in_threadpool(ingestion.read_url, given.url, own_id, mapping)
            read = Read()
            read.take(result, given.url, 0)
            if not read.articles:
                raise _invalid(("body", "url"), "; ".join(result.errors))
            return read
        fields = _validated(DocumentReplace if single else DocumentIn, data)
        try:
            article = article_from_fields(
                fields.title,
                fields.text,
                tuple(fields.keywords),
                doc_id or getattr(fields, "doc_id", None),
            )
        except ReadError as err:
            raise _invalid(("body",), str(err)) from None
        return Read([article], size=len(fields.text.encode()))
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
    mapping = form.get("mapping")
    if mapping is not None and not isinstance(mapping, str):
        raise _invalid(("body", "mapping"), "the mapping is a form field, not a file")
    try:
        given = json.loads(mapping) if mapping else None
    except json.JSONDecodeError as err:
        raise _invalid(("body", "mapping"), f"the mapping is not valid JSON: {err}") from None
    if given is not None and not isinstance(given, dict):
        raise _invalid(("body", "mapping"), 'the mapping is a JSON object: {"text": "body"}')
    export_fields = _mapping(given)
    files = [(u.filename or "", await u.read(), u.content_type or "") for u in uploads]
    # pages are parsed, and feed entries' pages fetched, off the event loop
    fetch_page = page_fetcher(ingestion.fetch_options)
    read = await run_in_threadpool(_read_files, files, doc_id, limit, fetch_page, export_fields)
    read.size = sum(len(raw) for _, raw, _ in files)
    if not read.articles:
        raise RequestValidationError(
            [
                {"type": "value_error", "loc": ("body", "files", i), "msg": o.detail}
                for o, i in zip(read.rejected, read.places, strict=True)
            ]
        )
    return read


async def _submit(
    ingestion: IngestionService, settings: Settings, read: Read, replace: bool, wait: bool | None
):
    job_id = await run_in_threadpool(
        ingestion.submit, read.articles, replace, read.rejected, read.notes
    )
    inline = wait if wait is not None else read.size <= settings.serve.inline_upload_kb * 1024
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
    """Add files (multipart field `files`: `.txt`, `.md`, `.html` pages, `.xml`/`.rss`/`.atom`
    feeds, `.json`/`.jsonl` exports), one JSON document (`title`, `text`), or what a URL
    holds (`{"url": ...}`: a page, each entry of a feed, each object of an export). A file's
    id is its name's stem (a JSON document's: `doc_id`, else its title; a page's from a URL:
    its host and a hash of the URL; a feed entry's: the feed's host and a hash of its guid).
    The same content again is `unchanged`; different content under an existing id is a
    `conflict` (replace it with PUT). Per-file (per-article) outcomes come with the job; a
    URL that cannot be fetched or read is a 422 naming it and the reason."""
    read = await _read_upload(request, settings, ingestion, None, single=False)
    return await _submit(ingestion, settings, read, False, wait)


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
    """Replace the document `doc_id` with one file (multipart field `files`), JSON fields,
    or the article at `{"url": ...}`; it is created when it does not exist."""
    read = await _read_upload(request, settings, ingestion, doc_id, single=True)
    return await _submit(ingestion, settings, read, True, wait)


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
    sort: Annotated[
        Literal["title", "published", "added"],
        Query(description="published: by the article's date (undated ones last)"),
    ] = "title",
    order: Annotated[Literal["asc", "desc"], Query()] = "asc",
    outlet: Annotated[
        list[str] | None, Query(description="only these outlets (repeat it for several)")
    ] = None,
    published_after: Annotated[
        date | None, Query(description="published on this day or later (YYYY-MM-DD)")
    ] = None,
    published_before: Annotated[
        date | None, Query(description="published on this day or earlier (YYYY-MM-DD)")
    ] = None,
) -> DocumentPage:
    """Ingested articles, a page at a time (`total` counts those the filters keep): sorted
    by title (default), publication date or the time they were added, in either order;
    filtered by outlet (exact names, case-insensitive) and publication day (inclusive bounds;
    a date filter leaves out articles without a date)."""
    docs = filtered(service.store.documents(), outlet, published_after, published_before)
    docs = ordered(docs, sort, order == "desc")
    return DocumentPage(
        total=len(docs),
        offset=offset,
        limit=limit,
        documents=[DocumentInfo.of(d) for d in docs[offset : offset + limit]],
    )


def filtered(
    docs: list[Document], outlets: list[str] | None, after: date | None, before: date | None
) -> list[Document]:
    if outlets:
        wanted = {o.strip().casefold() for o in outlets}
        docs = [d for d in docs if d.outlet.casefold() in wanted]
    low = int(after.strftime("%Y%m%d")) if after else None
    high = int(before.strftime("%Y%m%d")) if before else None
    if low is not None or high is not None:
        days = [(d, published_day(d.published)) for d in docs]
        docs = [
            d
            for d, day in days
            if day and (low is None or day >= low) and (high is None or day <= high)
        ]
    return docs


def ordered(docs: list[Document], sort: str, descending: bool) -> list[Document]:
    """`docs` (sorted by title) in this order; undated articles stay last by date."""
    if sort == "title":
        return docs[::-1] if descending else docs
    if sort == "added":
        return sorted(docs, key=lambda d: d.added_at, reverse=descending)
    dated = sorted((d for d in docs if d.published), key=_moment, reverse=descending)
    return dated + [d for d in docs if not d.published]


def _moment(doc: Document) -> tuple[str, str]:
    """An article's date for sorting: its UTC instant when it has a time and a zone, else
    its own day and time as written."""
    try:
        value = datetime.fromisoformat(doc.published)
    except ValueError:
        return doc.published, doc.title.casefold()
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(), doc.title.casefold()


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
