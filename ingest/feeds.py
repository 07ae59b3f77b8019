"""Feed subscriptions, kept current: a table in the SQLite file beside the index (like the
jobs), and a poller thread per process.

Each poll of a feed: a conditional GET (If-None-Match / If-Modified-Since from the last
answer); 304 is "not modified"; else the feed is parsed, and each entry that is new or whose
item changed (title, link, content, summary, dates, authors, categories) is read (its content,
else its linked page fetched with the same safety rules, else its summary) and ingested with
replace semantics: a new guid is added once, a changed entry updates its document, an
unchanged one is left as it is (content hashes decide). An entry that cannot be read is
reported and tried again at the next poll; its siblings are stored.

Per feed the table records the last poll, its outcome ("ok", "not modified", "failed"), the
error, the failures in a row and the next poll: a feed that fails is polled again after
interval x 2^failures (at most a day later). Only one poller polls a feed at a time: a lease
row updated in one SQLite transaction (every worker of a host shares the file); a lease whose
process died is taken over at once, one of another host after it expires. A restart resumes
from the table: feeds that were due are polled at once.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ingest.fetch import FetchError
from ingest.formats import FeedEntry, FormatError, parse_feed, sniff
from ingest.identity import slug
from ingest.jobs import owner_gone
from ingest.news import host_of
from ingest.pipeline import Ingestor, IngestReport
from ingest.readers import feed_documents
from ingest.remote import FetchOptions, get, page_fetcher
from rag.sqlite import PerThread

log = logging.getLogger(__name__)

MAX_BACKOFF_S = 24 * 3600.0
MIN_INTERVAL_MINUTES = 1.0
LEASE_S = 15 * 60.0  # renewed as the poll goes: a poll that dies frees its feed after this
CHECK_S = 30.0  # how often a poller looks for feeds another process subscribed

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feeds (
    id TEXT PRIMARY KEY,
    url TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL DEFAULT '',
    interval_s REAL NOT NULL,
    created REAL NOT NULL,
    etag TEXT NOT NULL DEFAULT '',
    last_modified TEXT NOT NULL DEFAULT '',
    last_poll REAL NOT NULL DEFAULT 0,
    outcome TEXT NOT NULL DEFAULT '',
    error TEXT NOT NULL DEFAULT '',
    failures INTEGER NOT NULL DEFAULT 0,
    next_poll REAL NOT NULL,
    counts TEXT NOT NULL DEFAULT '{}',
    entry_errors TEXT NOT NULL DEFAULT '[]',
    lease_owner TEXT NOT NULL DEFAULT '',
    lease_until REAL NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS feed_entries (
    feed_id TEXT NOT NULL,
    guid TEXT NOT NULL,
    doc_id TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    first_seen REAL NOT NULL,
    last_changed REAL NOT NULL,
    PRIMARY KEY (feed_id, guid)
);
"""
_COLUMNS = (
    "id, url, title, interval_s, created, etag, last_modified, last_poll, outcome, error, "
    "failures, next_poll, counts, entry_errors, "
    "(SELECT count(*) FROM feed_entries e WHERE e.feed_id = feeds.id)"
)


class FeedError(ValueError):
    """A feed that cannot be subscribed or polled; the message names its URL."""


class FeedBusyError(RuntimeError):
    """Another poller holds this feed right now."""


@dataclass
class Subscription:
    id: str
    url: str
    title: str
    interval_minutes: float
    created: float
    last_poll: float  # unix time; 0: never polled
    outcome: str  # "", "ok", "not modified" or "failed"
    error: str
    failures: int  # failed polls in a row
    next_poll: float
    entries: int  # entries seen (stored) so far
    counts: dict[str, int] = field(default_factory=dict)  # last read: added, updated, ...
    entry_errors: list[str] = field(default_factory=list)  # entries of the last read
    etag: str = field(default="", repr=False)
    last_modified: str = field(default="", repr=False)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        del out["etag"], out["last_modified"]
        return out


def backoff_s(interval_s: float, failures: int) -> float:
    """How long a feed that failed `failures` times in a row waits: interval x 2^failures,
    at most a day."""
    return min(interval_s * 2 ** min(failures, 20), max(MAX_BACKOFF_S, interval_s))


def fingerprint(entry: FeedEntry) -> str:
    """What a feed says of an entry: when it changes, the entry is read again."""
    parts = [
        entry.title,
        entry.link,
        entry.content_html,
        entry.summary_html,
        entry.published.isoformat() if entry.published else "",
        entry.updated.isoformat() if entry.updated else "",
        *entry.authors,
        "\x01",
        *entry.categories,
        entry.outlet,
    ]
    return hashlib.sha256("\x00".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


def check_feed_url(url: str) -> str:
    url = url.strip()
    if not url.lower().startswith(("http://", "https://")) or not host_of(url):
        raise FeedError(f"{url!r}: not a feed address (an http or https URL)")
    return url


class FeedStore:
    """The subscriptions and the entries seen, in SQLite (`path`: the index's file)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn = PerThread(self.path)
        self._conn().executescript(_SCHEMA)

    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    # --- subscriptions --------------------------------------------------------------------
    def add(self, url: str, interval_minutes: float) -> tuple[Subscription, bool]:
        """The subscription to `url`, and whether it is new (an existing one is returned as
        it is)."""
        found = self.by_url(url)
        if found is not None:
            return found, False
        feed_id = f"{slug(host_of(url), 60)}-{hashlib.sha1(url.encode()).hexdigest()[:8]}"
        now = time.time()
        with self._transaction() as conn:
            added = conn.execute(
                "INSERT OR IGNORE INTO feeds(id, url, interval_s, created, next_poll) "
                "VALUES (?, ?, ?, ?, ?)",
                # not due: its first poll is the subscriber's, no other poller's
                (feed_id, url, interval_minutes * 60.0, now, now + interval_minutes * 60.0),
            ).rowcount
        found = self.by_url(url)
        assert found is not None
        return found, bool(added)

    def get(self, feed_id: str) -> Subscription | None:
        row = self._conn().execute(f"SELECT {_COLUMNS} FROM feeds WHERE id = ?", (feed_id,))
        return next((_subscription(r) for r in row), None)

    def by_url(self, url: str) -> Subscription | None:
        row = self._conn().execute(f"SELECT {_COLUMNS} FROM feeds WHERE url = ?", (url,))
        return next((_subscription(r) for r in row), None)

    def all(self) -> list[Subscription]:
        rows = self._conn().execute(f"SELECT {_COLUMNS} FROM feeds ORDER BY created, id")
        return [_subscription(r) for r in rows]

    def remove(self, feed_id: str) -> bool:
        with self._transaction() as conn:
            gone = conn.execute("DELETE FROM feeds WHERE id = ?", (feed_id,)).rowcount
            conn.execute("DELETE FROM feed_entries WHERE feed_id = ?", (feed_id,))
        return bool(gone)

    def set_interval(self, feed_id: str, interval_minutes: float) -> None:
        """A new interval; the next poll moves with it (from the last poll, if any)."""
        interval_s = interval_minutes * 60.0
        self._conn().execute(
            "UPDATE feeds SET interval_s = ?, next_poll = CASE WHEN last_poll > 0 AND "
            "failures = 0 THEN last_poll + ? ELSE next_poll END WHERE id = ?",
            (interval_s, interval_s, feed_id),
        )

    def due(self, now: float | None = None) -> list[str]:
        now = time.time() if now is None else now
        rows = self._conn().execute(
            "SELECT id FROM feeds WHERE next_poll <= ? ORDER BY next_poll", (now,)
        )
        return [r[0] for r in rows]

    def seconds_to_next(self) -> float | None:
        row = self._conn().execute("SELECT min(next_poll) FROM feeds").fetchone()
        return None if row[0] is None else max(0.0, row[0] - time.time())

    # --- leases ---------------------------------------------------------------------------
    def claim(self, feed_id: str, owner: str, due_only: bool) -> bool:
        """Take the feed's lease for `owner` (free, expired, or its process gone), only when
        it is due if `due_only`. One transaction: two pollers never both get it."""
        now = time.time()
        with self._transaction() as conn:
            row = conn.execute(
                "SELECT lease_owner, lease_until, next_poll FROM feeds WHERE id = ?", (feed_id,)
            ).fetchone()
            if row is None:
                return False
            holder, until, next_poll = row
            held = bool(holder) and holder != owner and until > now
            if held and not owner_gone(holder.split("#")[0]):
                return False
            if due_only and next_poll > now:
                return False
            conn.execute(
                "UPDATE feeds SET lease_owner = ?, lease_until = ? WHERE id = ?",
                (owner, now + LEASE_S, feed_id),
            )
        return True

    def renew(self, feed_id: str, owner: str) -> None:
        self._conn().execute(
            "UPDATE feeds SET lease_until = ? WHERE id = ? AND lease_owner = ?",
            (time.time() + LEASE_S, feed_id, owner),
        )

    def release(self, feed_id: str, owner: str) -> None:
        self._conn().execute(
            "UPDATE feeds SET lease_owner = '', lease_until = 0 WHERE id = ? AND lease_owner = ?",
            (feed_id, owner),
        )

    def holder(self, feed_id: str) -> str:
        row = (
            self._conn()
            .execute("SELECT lease_owner, lease_until FROM feeds WHERE id = ?", (feed_id,))
            .fetchone()
        )
        return row[0] if row and row[1] > time.time() else ""

    # --- outcomes -------------------------------------------------------------------------
    def record(
        self,
        feed_id: str,
        *,
        outcome: str,
        error: str = "",
        failures: int = 0,
        next_poll: float,
        title: str | None = None,
        etag: str | None = None,
        last_modified: str | None = None,
        counts: dict[str, int] | None = None,
        entry_errors: list[str] | None = None,
    ) -> None:
        sets = ["last_poll = ?", "outcome = ?", "error = ?", "failures = ?", "next_poll = ?"]
        values: list[Any] = [time.time(), outcome, error, failures, next_poll]
        optional = {
            "title": title,
            "etag": etag,
            "last_modified": last_modified,
            "counts": None if counts is None else json.dumps(counts),
            "entry_errors": None
            if entry_errors is None
            else json.dumps(entry_errors, ensure_ascii=False),
        }
        for column, value in optional.items():
            if value is not None:
                sets.append(f"{column} = ?")
                values.append(value)
        self._conn().execute(f"UPDATE feeds SET {', '.join(sets)} WHERE id = ?", (*values, feed_id))

    def entries(self, feed_id: str) -> dict[str, tuple[str, str]]:
        """guid -> (doc_id, fingerprint) of the entries stored from this feed."""
        rows = self._conn().execute(
            "SELECT guid, doc_id, fingerprint FROM feed_entries WHERE feed_id = ?", (feed_id,)
        )
        return {guid: (doc_id, fp) for guid, doc_id, fp in rows}

    def remember(self, feed_id: str, seen: list[tuple[str, str, str]]) -> None:
        """Entries stored: (guid, doc_id, fingerprint)."""
        now = time.time()
        with self._transaction() as conn:
            for guid, doc_id, fp in seen:
                conn.execute(
                    "INSERT INTO feed_entries(feed_id, guid, doc_id, fingerprint, first_seen, "
                    "last_changed) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(feed_id, guid) DO "
                    "UPDATE SET doc_id = excluded.doc_id, fingerprint = excluded.fingerprint, "
                    "last_changed = excluded.last_changed",
                    (feed_id, guid, doc_id, fp, now, now),
                )


def _subscription(row: tuple) -> Subscription:
    (fid, url, title, interval_s, created, etag, modified, last_poll, outcome, error) = row[:10]
    failures, next_poll, counts, entry_errors, entries = row[10:]
    return Subscription(
        id=fid,
        url=url,
        title=title,
        interval_minutes=round(interval_s / 60.0, 3),
        created=created,
        last_poll=last_poll,
        outcome=outcome,
        error=error,
        failures=failures,
        next_poll=next_poll,
        entries=entries,
        counts=json.loads(counts),
        entry_errors=json.loads(entry_errors),
        etag=etag,
        last_modified=modified,
    )


class FeedPoller:
    """Polls subscriptions through an ingestor: `poll(id)` now, `poll_due()` every due feed,
    and (`start`) a thread that polls each feed when it is due."""

    def __init__(self, store: FeedStore, ingestor: Ingestor, options: FetchOptions) -> None:
        self.store = store
        self.ingestor = ingestor
        self.options = options
        # one owner per poller: two pollers of one process are two contenders too
        self.owner = f"{socket.gethostname()}:{os.getpid()}#{uuid.uuid4().hex[:8]}"
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- the thread -----------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="feeds", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=60)

    def wake(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_due()
                wait = self.store.seconds_to_next()
            except Exception:
                log.exception("could not poll the feeds")
                wait = None
            self._wake.wait(CHECK_S if wait is None else min(max(wait, 0.5), CHECK_S))
            self._wake.clear()

    def poll_due(self) -> int:
        """Poll every feed that is due and that no other poller holds; returns how many."""
        polled = 0
        for feed_id in self.store.due():
            if self._stop.is_set():
                break
            if self.store.claim(feed_id, self.owner, due_only=True):
                self._poll_claimed(feed_id)
                polled += 1
        return polled

    # --- one poll -------------------------------------------------------------------------
    def poll(self, feed_id: str) -> Subscription | None:
        """Poll a feed now, due or not (None: no such feed). FeedBusyError when another
        poller holds it."""
        if self.store.get(feed_id) is None:
            return None
        if not self.store.claim(feed_id, self.owner, due_only=False):
            holder = self.store.holder(feed_id) or "another poller"
            raise FeedBusyError(f"feed {feed_id} is being polled by {holder}; try again shortly")
        self._poll_claimed(feed_id)
        return self.store.get(feed_id)

    def _poll_claimed(self, feed_id: str) -> None:
        try:
            sub = self.store.get(feed_id)
            if sub is None:  # removed meanwhile
                return
            try:
                self._read(sub)
            except (FetchError, FormatError, FeedError) as err:
                self._failed(sub, str(err))
            except Exception as err:  # a store or model failure: reported, retried later
                log.exception("polling feed %s (%s) failed", sub.id, sub.url)
                self._failed(sub, f"{sub.url}: {type(err).__name__}: {err}")
        finally:
            self.store.release(feed_id, self.owner)

    def _failed(self, sub: Subscription, error: str) -> None:
        failures = sub.failures + 1
        wait = backoff_s(sub.interval_minutes * 60.0, failures)
        log.warning(
            "feed %s failed (%d in a row, next in %.0f s): %s", sub.id, failures, wait, error
        )
        self.store.record(
            sub.id,
            outcome="failed",
            error=error,
            failures=failures,
            next_poll=time.time() + wait,
        )

    def _read(self, sub: Subscription) -> None:
        headers = {}
        if sub.etag:
            headers["If-None-Match"] = sub.etag
        if sub.last_modified:
            headers["If-Modified-Since"] = sub.last_modified
        fetched = get(sub.url, self.options, headers=headers)
        next_poll = time.time() + sub.interval_minutes * 60.0
        if fetched.not_modified:
            self.store.record(sub.id, outcome="not modified", next_poll=next_poll)
            return
        kind = sniff(sub.url, fetched.content_type, fetched.body)
        if kind != "feed":
            hint = "; add a page as a document (rag ingest URL)" if kind == "html" else ""
            raise FeedError(
                f"{sub.url}: not an RSS or Atom feed but {kind} "
                f"({fetched.media_type or 'no content type'}){hint}"
            )
        feed = parse_feed(fetched.body, sub.url)
        seen = self.store.entries(sub.id)
        fetch_page = page_fetcher(self.options)
        documents, notes, errors, pending = [], {}, [], []
        unchanged = 0
        for entry in feed.entries:
            fp = fingerprint(entry)
            if entry.guid and seen.get(entry.guid, ("", ""))[1] == fp:
                unchanged += 1  # the feed says nothing new of it: not read again
                continue
            read = feed_documents(feed, sub.url, sub.url, None, fetch_page, [entry])
            errors += read.errors
            for document, warnings in zip(read.documents, read.warnings, strict=True):
                documents.append(document)
                if warnings:
                    notes[document.doc_id] = "; ".join(warnings)
                if entry.guid:
                    pending.append((entry.guid, document.doc_id, fp))
            self.store.renew(sub.id, self.owner)
        report = IngestReport(files=len(documents))
        if documents:
            self.ingestor.ingest_articles(
                documents,
                report,
                progress=False,
                replace=True,
                notes=notes,
                on_progress=lambda done, total: self.store.renew(sub.id, self.owner),
            )
        kept = ("added", "updated", "unchanged")
        stored = {o.doc_id for o in report.outcomes if o.status in kept}
        errors += report.errors
        self.store.remember(sub.id, [p for p in pending if p[1] in stored])
        counts = {
            "entries": len(feed.entries),
            "added": report.count("added"),
            "updated": report.count("updated"),
            "unchanged": unchanged + report.count("unchanged"),
            "errors": len(errors),
        }
        error = ""
        if errors:
            error = f"{len(errors)} entr{'y' if len(errors) == 1 else 'ies'} could not be read"
        self.store.record(
            sub.id,
            outcome="ok",
            error=error,
            next_poll=next_poll,
            title=feed.title or sub.title,
            # an entry that could not be read is tried again: the next GET is not conditional
            etag="" if errors else fetched.etag,
            last_modified="" if errors else fetched.last_modified,
            counts=counts,
            entry_errors=errors,
        )
        log.info("feed %s: %s", sub.id, counts)


class Feeds:
    """Subscriptions as the API and the CLI see them: subscribe (and poll at once), list,
    poll now, remove; and the poller thread of a serving process."""

    def __init__(self, path: Path, ingestor: Ingestor, options: FetchOptions, interval: float):
        self.store = FeedStore(path)
        self.poller = FeedPoller(self.store, ingestor, options)
        self.default_interval = interval

    def subscribe(
        self, url: str, interval_minutes: float | None = None
    ) -> tuple[Subscription, bool]:
        """Subscribe to `url` and poll it at once: the subscription with its first outcome,
        and whether it is new. A feed whose first poll fails is not kept (FeedError says
        why); subscribing again to a known URL returns its subscription (with the new
        interval when one is given)."""
        url = check_feed_url(url)
        interval = self.default_interval if interval_minutes is None else interval_minutes
        if interval < MIN_INTERVAL_MINUTES:
            raise FeedError(f"{url}: an interval of {interval:g} minutes; the least is 1")
        sub, new = self.store.add(url, interval)
        if not new:
            if interval_minutes is not None and interval_minutes != sub.interval_minutes:
                self.store.set_interval(sub.id, interval_minutes)
                sub = self.store.get(sub.id) or sub
            return sub, False
        polled = self.poller.poll(sub.id)
        if polled is None or polled.outcome == "failed":
            self.store.remove(sub.id)
            raise FeedError(polled.error if polled else f"{url}: removed while it was polled")
        self.poller.wake()
        return polled, True

    def list(self) -> list[Subscription]:
        return self.store.all()

    def get(self, feed_id: str) -> Subscription | None:
        return self.store.get(feed_id)

    def poll(self, feed_id: str) -> Subscription | None:
        return self.poller.poll(feed_id)

    def remove(self, feed_id: str) -> bool:
        """Unsubscribe; the documents already ingested stay."""
        return self.store.remove(feed_id)

    def start(self) -> None:
        self.poller.start()

    def stop(self) -> None:
        self.poller.stop()
