"""Articles from a URL: a page, a feed (each entry's article) or an export, fetched with the
safety rules of `ingest.fetch` (timeouts, size limit, content types, no private addresses
unless RAG_ALLOW_PRIVATE_URLS, redirects checked again) and read by `ingest.readers`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ingest.fetch import ACCEPT, Fetched, FetchError, fetch
from ingest.readers import ReadResult, read_source
from rag.settings import IngestSettings

PAGE_TYPES = ("text/html", "application/xhtml+xml")


@dataclass(frozen=True)
class FetchOptions:
    allow_private: bool = False
    timeout: float = 10.0
    max_bytes: int = 10_000_000

    @classmethod
    def of(cls, settings: IngestSettings) -> FetchOptions:
        return cls(
            allow_private=settings.allow_private_urls,
            timeout=settings.fetch_timeout_s,
            max_bytes=int(settings.fetch_max_mb * 1_000_000),
        )


def get(
    url: str,
    options: FetchOptions,
    accept: tuple[str, ...] = ACCEPT,
    headers: dict[str, str] | None = None,
) -> Fetched:
    """GET `url` with these options; FetchError names the URL and the reason."""
    return fetch(
        url,
        allow_private=options.allow_private,
        timeout=options.timeout,
        max_bytes=options.max_bytes,
        accept=accept,
        headers=headers,
    )


def page_fetcher(options: FetchOptions) -> Callable[[str], bytes | None]:
    """How a feed entry without content gets its linked page: with the same safety rules,
    HTML only (FetchError says why not, and the entry falls back to its summary)."""

    def fetch_page(url: str) -> bytes | None:
        return get(url, options, accept=PAGE_TYPES).body

    return fetch_page


def read_url(
    url: str,
    options: FetchOptions,
    doc_id: str | None = None,
    mapping: dict[str, str] | None = None,
) -> ReadResult:
    """The articles at `url` (a page, a feed read once, an export); what could not be fetched
    or read is in `errors`, naming the URL."""
    url = url.strip()
    try:
        fetched = get(url, options)
    except FetchError as err:
        return ReadResult(errors=[str(err)])
    return read_from(fetched, options, doc_id, mapping)


def read_from(
    fetched: Fetched,
    options: FetchOptions,
    doc_id: str | None = None,
    mapping: dict[str, str] | None = None,
) -> ReadResult:
    """The articles of a fetched page, feed or export."""
    return read_source(
        fetched.url,
        fetched.body,
        fetched.content_type,
        url=fetched.url,
        doc_id=doc_id,
        fetch_page=page_fetcher(options),
        mapping=mapping,
        max_bytes=options.max_bytes,
    )
