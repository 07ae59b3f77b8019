"""Ingestion jobs for the HTTP API, kept in SQLite beside the keyword index.

A job holds its documents' text until it is done, so a server killed mid-job resumes it at
its next start; every worker of a host sees every job (GET /v1/jobs/{id} works whichever
worker answers) and any worker's runner may take a queued one. A job whose runner process is
gone (same host, its pid no longer runs) is taken again at once; one whose runner, on another
host, stops sending progress for `STALE_AFTER` seconds is taken again then.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from ingest.pipeline import Ingestor, IngestReport, Outcome
from rag.memory import release_free_memory
from rag.schema import Document
from rag.sqlite import PerThread

log = logging.getLogger(__name__)
STALE_AFTER = 120.0
NOTE = "_note"  # a document's note in a job's payload (beside its fields)
JobState = Literal["queued", "running", "done", "failed"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    state TEXT NOT NULL,
    owner TEXT NOT NULL DEFAULT '',
    replace INTEGER NOT NULL,
    payload TEXT NOT NULL,
    outcomes TEXT NOT NULL DEFAULT '[]',
    embedded INTEGER NOT NULL DEFAULT 0,
    to_embed INTEGER NOT NULL DEFAULT 0,
    total INTEGER NOT NULL DEFAULT 0,
    error TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs(state, created);
"""


@dataclass
class Job:
    id: str
    state: JobState
    created: float
    updated: float
    documents: int
    outcomes: list[dict[str, Any]]
    embedded: int
    to_embed: int
    error: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class JobStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn = PerThread(self.path)
        self._conn().executescript(_SCHEMA)

    def create(
        self,
        articles: Sequence[Document],
        replace: bool,
        rejected: Sequence[Outcome],
        notes: Mapping[str, str] | None = None,
    ) -> str:
        """A queued job for these documents; `rejected` are files refused before any work
        (their outcomes are reported with the job's); `notes`: what a reader lost of a
        document (doc_id -> text), reported in its outcome."""
        job_id = uuid.uuid4().hex
        now = time.time()
        notes = notes or {}
        payload = json.dumps(
            [{**asdict(a), NOTE: notes.get(a.doc_id, "")} for a in articles], ensure_ascii=False
        )
        outcomes = json.dumps([o.to_dict() for o in rejected], ensure_ascii=False)
        state = "queued" if articles else "done"
        self._conn().execute(
            "INSERT INTO jobs(id, created, updated, state, replace, payload, outcomes, total) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                job_id,
                now,
                now,
                state,
                int(replace),
                payload,
                outcomes,
                len(articles) + len(rejected),
            ),
        )
        return job_id

    def get(self, job_id: str) -> Job | None:
        row = (
            self._conn()
            .execute(
                "SELECT id, state, created, updated, total, outcomes, embedded, to_embed, error "
                "FROM jobs WHERE id = ?",
                (job_id,),
            )
            .fetchone()
        )
        if row is None:
            return None
        jid, state, created, updated, total, outcomes, embedded, to_embed, error = row
        return Job(
            jid, state, created, updated, total, json.loads(outcomes), embedded, to_embed, error
        )

    def claim(self, owner: str) -> tuple[str, list[Document], bool, dict[str, str]] | None:
        """Take the oldest queued job, or one whose runner died or went silent."""
        stale = time.time() - STALE_AFTER
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            rows = conn.execute(
                "SELECT id, payload, replace, state, owner, updated FROM jobs "
                "WHERE state IN ('queued', 'running') ORDER BY created"
            ).fetchall()
            takeable = (r for r in rows if r[3] == "queued" or r[5] < stale or owner_gone(r[4]))
            row = next(takeable, None)
            if row is not None:
                conn.execute(
                    "UPDATE jobs SET state = 'running', owner = ?, updated = ? WHERE id = ?",
                    (owner, time.time(), row[0]),
                )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        if row is None:
            return None
        payload = json.loads(row[1])
        articles = [_article(d) for d in payload]
        notes = {a.doc_id: d[NOTE] for a, d in zip(articles, payload, strict=True) if d.get(NOTE)}
        return row[0], articles, bool(row[2]), notes

    def progress(self, job_id: str, embedded: int, to_embed: int) -> None:
        self._conn().execute(
            "UPDATE jobs SET embedded = ?, to_embed = ?, updated = ? WHERE id = ?",
            (embedded, to_embed, time.time(), job_id),
        )

    def finish(self, job_id: str, report: IngestReport | None, error: str = "") -> None:
        conn = self._conn()
        row = conn.execute("SELECT outcomes FROM jobs WHERE id = ?", (job_id,)).fetchone()
        outcomes = json.loads(row[0]) if row else []
        if report is not None:
            outcomes += [o.to_dict() for o in report.outcomes]
        conn.execute(
            "UPDATE jobs SET state = ?, outcomes = ?, error = ?, payload = '[]', updated = ? "
            "WHERE id = ?",
            (
                "failed" if error else "done",
                json.dumps(outcomes, ensure_ascii=False),
                error,
                time.time(),
                job_id,
            ),
        )

    def forget_older_than(self, seconds: float) -> None:
        self._conn().execute(
            "DELETE FROM jobs WHERE state IN ('done', 'failed') AND updated < ?",
            (time.time() - seconds,),
        )


class JobRunner:
    """One thread per process that runs queued jobs through the ingestor, one at a time."""

    def __init__(self, jobs: JobStore, ingestor: Ingestor, poll: float = 1.0) -> None:
        self.jobs = jobs
        self.ingestor = ingestor
        self.poll = poll
        self.owner = f"{socket.gethostname()}:{os.getpid()}"
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ingestion", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=30)

    def wake(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                claimed = self.jobs.claim(self.owner)
            except Exception:
                log.exception("could not read the job queue")
                claimed = None
            if claimed is None:
                self._wake.wait(self.poll)
                self._wake.clear()
                continue
            self.run_job(*claimed)

    def run_job(
        self,
        job_id: str,
        articles: list[Document],
        replace: bool,
        notes: Mapping[str, str] | None = None,
    ) -> None:
        try:
            report = self.ingestor.ingest_articles(
                articles,
                IngestReport(files=len(articles)),
                progress=False,
                replace=replace,
                on_progress=lambda done, total: self.jobs.progress(job_id, done, total),
                notes=notes,
            )
        except Exception as err:
            log.exception("ingestion job %s failed", job_id)
            self.jobs.finish(job_id, None, f"{type(err).__name__}: {err}")
        else:
            self.jobs.finish(job_id, report)
        finally:
            release_free_memory()


def owner_gone(owner: str) -> bool:
    """The runner `owner` ("host:pid") was a process of this host that no longer runs."""
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return False


def _article(data: dict[str, Any]) -> Document:
    data = dict(data)
    data["keywords"] = tuple(data.get("keywords", ()))
    known = Document.__dataclass_fields__
    return Document(**{k: v for k, v in data.items() if k in known})
