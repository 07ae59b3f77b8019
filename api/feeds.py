"""Feed subscriptions over HTTP: subscribe (polled at once), list, read, poll now, remove.

The serving process polls every subscription on its interval (ingest.feeds); writes need
the write key, like documents."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from api.deps import IngestionDep, WriteAccess, require_read
from api.routes import ANSWER_RESPONSES, UNAUTHORIZED
from api.schemas import ErrorOut, Text
from ingest.feeds import MIN_INTERVAL_MINUTES, FeedBusyError, FeedError, Subscription

router = APIRouter(tags=["feeds"], responses=UNAUTHORIZED)
READ = [Depends(require_read)]
FEED_ID = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"
FeedId = Annotated[str, Path(pattern=FEED_ID)]


class FeedIn(BaseModel):
    url: Text = Field(..., min_length=1, max_length=2000, examples=["https://example.org/rss"])
    interval_minutes: float | None = Field(
        None, ge=MIN_INTERVAL_MINUTES, description="default: RAG_FEED_INTERVAL_MINUTES"
    )


class FeedOut(BaseModel):
    """A subscription: its last poll (unix time, 0: never), the outcome ("ok", "not
    modified", "failed"), the error (a failed poll, or entries that could not be read), the
    failures in a row (each doubles the wait, up to a day) and the next poll."""

    id: str
    url: str
    title: str
    interval_minutes: float
    created: float
    last_poll: float
    outcome: str
    error: str
    failures: int
    next_poll: float
    entries: int = Field(description="entries stored from this feed so far")
    counts: dict[str, int] = Field(
        description="the last poll that read the feed: entries, added, updated, unchanged, errors"
    )
    entry_errors: list[str] = Field(description="the entries it could not read, and why")

    @classmethod
    def of(cls, sub: Subscription) -> FeedOut:
        return cls(**sub.to_dict())


class FeedList(BaseModel):
    feeds: list[FeedOut]


NOT_FOUND = {404: {"model": ErrorOut, "description": "No such feed"}}


def _found(sub: Subscription | None, feed_id: str) -> FeedOut:
    if sub is None:
        raise HTTPException(404, f"no feed with id {feed_id!r}")
    return FeedOut.of(sub)


@router.post(
    "/v1/feeds",
    response_model=FeedOut,
    status_code=201,
    responses={
        200: {"model": FeedOut, "description": "Already subscribed: the subscription"},
        400: ANSWER_RESPONSES[400],
        413: ANSWER_RESPONSES[413],
        409: {"model": ErrorOut, "description": "Being polled by another worker"},
        422: {"description": "The feed cannot be fetched or read (the detail names the URL)"},
    },
)
async def subscribe(body: FeedIn, ingestion: IngestionDep, _: WriteAccess) -> Any:
    """Subscribe to a feed and poll it at once (its entries are ingested before the answer):
    the subscription with its first outcome. A feed whose first poll fails is not kept: the
    422 names the URL and why."""
    try:
        sub, new = await run_in_threadpool(
            ingestion.feeds.subscribe, body.url, body.interval_minutes
        )
    except FeedError as err:
        return JSONResponse({"detail": str(err)}, status_code=422)
    except FeedBusyError as err:
        return JSONResponse({"detail": str(err)}, status_code=409)
    return JSONResponse(FeedOut.of(sub).model_dump(), status_code=201 if new else 200)


@router.get("/v1/feeds", response_model=FeedList, dependencies=READ)
def feeds(ingestion: IngestionDep) -> FeedList:
    """Every subscription, oldest first."""
    return FeedList(feeds=[FeedOut.of(s) for s in ingestion.feeds.list()])


@router.get("/v1/feeds/{feed_id}", response_model=FeedOut, responses=NOT_FOUND, dependencies=READ)
def feed(feed_id: FeedId, ingestion: IngestionDep) -> FeedOut:
    return _found(ingestion.feeds.get(feed_id), feed_id)


@router.post(
    "/v1/feeds/{feed_id}/poll",
    response_model=FeedOut,
    responses={**NOT_FOUND, 409: {"model": ErrorOut, "description": "Being polled already"}},
)
def poll(feed_id: FeedId, ingestion: IngestionDep, _: WriteAccess) -> Any:
    """Poll the feed now, due or not: new entries are added, changed ones updated."""
    try:
        return _found(ingestion.feeds.poll(feed_id), feed_id)
    except FeedBusyError as err:
        return JSONResponse({"detail": str(err)}, status_code=409)


@router.delete("/v1/feeds/{feed_id}", responses=NOT_FOUND)
def unsubscribe(feed_id: FeedId, ingestion: IngestionDep, _: WriteAccess) -> dict[str, Any]:
    """Unsubscribe; the documents already ingested from it stay."""
    if not ingestion.feeds.remove(feed_id):
        raise HTTPException(404, f"no feed with id {feed_id!r}")
    return {"id": feed_id, "deleted": True}
