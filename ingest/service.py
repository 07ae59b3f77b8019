"""Ingestion as one service: the ingestor (one writer per process), the job queue and its
runner (HTTP uploads, resumed after a crash), the follower (changes made through another
host), start-up recovery, and a check of the vector graph's shape. `rag ingest`, the HTTP
API and `rag eval` all go through it; the app's lifespan only starts and stops it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

from ingest.feeds import Feeds
from ingest.follower import IndexFollower
from ingest.jobs import Job, JobRunner, JobStore
from ingest.locking import WriteLock
from ingest.pipeline import Ingestor, IngestReport, Outcome, make_chunker
from ingest.readers import ReadResult
from ingest.remote import FetchOptions, page_fetcher, read_url
from rag.engines import Engines
from rag.schema import Document
from rag.settings import Settings

log = logging.getLogger(__name__)
KEEP_JOBS_S = 7 * 24 * 3600  # finished jobs are forgotten after a week


def make_ingestor(settings: Settings, engines: Engines) -> Ingestor:
    chunker = make_chunker(settings.ingest, settings.models)
    return Ingestor(engines, chunker, WriteLock(settings.store.data_dir / "ingest.lock"))


class IngestionService:
    def __init__(self, settings: Settings, engines: Engines) -> None:
        self.settings = settings
        self.ingestor = make_ingestor(settings, engines)
        self.store = engines.store
        self._jobs: JobStore | None = None
        self._runner: JobRunner | None = None
        self._follower: IndexFollower | None = None
        self.fetch_options = FetchOptions.of(settings.ingest)
        self.feeds = Feeds(
            settings.store.index_path,
            self.ingestor,
            self.fetch_options,
            settings.ingest.feed_interval_minutes,
        )

    # --- the server's life ----------------------------------------------------------------
    def start(self) -> None:
        """Bring the store up to date (what a killed process left half-written, vectors of an
        older text form), then run queued jobs (resuming those a killed server left), follow
        changes made through another host, and poll the subscribed feeds when they are due."""
        self.prepare(progress=False)
        self._check_graph()
        self._jobs = JobStore(self.settings.store.index_path)
        self._jobs.forget_older_than(KEEP_JOBS_S)
        self._runner = JobRunner(self._jobs, self.ingestor)
        self._runner.start()
        self._follower = IndexFollower(self.ingestor)
        self._follower.start()
        self.feeds.start()

    def stop(self) -> None:
        self.feeds.stop()
        if self._runner is not None:
            self._runner.stop()
        if self._follower is not None:
            self._follower.stop()

    def recover(self, progress: bool = False) -> IngestReport:
        return self.ingestor.recover(progress)

    def prepare(self, progress: bool = True) -> IngestReport:
        """What every writer does first: finish an interrupted change, and embed the store
        again if it was embedded in another text form than the embedder reads."""
        recovered = self.recover(progress)
        if recovered.outcomes:
            log.warning("recovered an interrupted ingestion: %s", recovered.summary())
        self.ingestor.embed_again(progress)
        return recovered

    def _check_graph(self) -> None:
        graph, wanted = self.store.graph(), self.settings.store.hnsw
        if graph and graph != wanted:
            log.warning(
                "the vector graph was built with %s, not the configured %s: `rag reindex` "
                "rebuilds it from the stored vectors (denser graphs find more at 30k+ passages)",
                graph,
                wanted,
            )

    # --- writes -----------------------------------------------------------------------------
    def submit(
        self,
        documents: Sequence[Document],
        replace: bool,
        rejected: Sequence[Outcome] = (),
        notes: Mapping[str, str] | None = None,
    ) -> str:
        """Queue a job for these documents (`rejected`: refused before any work, reported
        with it; `notes`: what the reader lost of a document, by id); returns its id."""
        jobs = self._started_jobs()
        job_id = jobs.create(documents, replace, rejected, notes)
        assert self._runner is not None
        self._runner.wake()
        return job_id

    def job(self, job_id: str) -> Job | None:
        return self._started_jobs().get(job_id)

    def delete(self, doc_id: str, wait: float | None = None) -> int:
        """Delete a document and its passages (-1: no such document)."""
        return self.ingestor.delete(doc_id, wait=wait)

    def ingest_paths(
        self,
        paths: Sequence[Path],
        progress: bool = True,
        sync: bool = False,
        mapping: dict[str, str] | None = None,
    ) -> IngestReport:
        fetch_page = page_fetcher(self.fetch_options)  # feed entries without content
        return self.ingestor.ingest_paths(
            paths, progress=progress, sync=sync, fetch_page=fetch_page, mapping=mapping
        )

    def ingest_documents(
        self,
        documents: Sequence[Document],
        progress: bool = True,
        notes: Mapping[str, str] | None = None,
    ) -> IngestReport:
        return self.ingestor.ingest_articles(documents, progress=progress, notes=notes)

    def read_url(
        self, url: str, doc_id: str | None = None, mapping: dict[str, str] | None = None
    ) -> ReadResult:
        """The articles at `url` (a page, a feed read once, an export), fetched with the
        RAG_FETCH_* and RAG_ALLOW_PRIVATE_URLS settings."""
        return read_url(url, self.fetch_options, doc_id, mapping)

    def ingest_url(
        self,
        url: str,
        doc_id: str | None = None,
        progress: bool = True,
        mapping: dict[str, str] | None = None,
    ) -> IngestReport:
        """Fetch, read and store the articles at `url`; what could not be read is reported
        as `error` outcomes naming the URL."""
        read = self.read_url(url, doc_id, mapping)
        report = IngestReport(files=1)
        report.outcomes += [Outcome(url, "error", detail=e) for e in read.errors]
        if read.documents:
            notes = notes_of(read)
            self.ingestor.ingest_articles(read.documents, report, progress=progress, notes=notes)
        return report

    def _started_jobs(self) -> JobStore:
        if self._jobs is None:
            raise RuntimeError("the ingestion service is not started")
        return self._jobs


def notes_of(read: ReadResult) -> dict[str, str]:
    """What the reader lost of each document (doc_id -> text), for its outcome."""
    return {d.doc_id: "; ".join(w) for d, w in zip(read.documents, read.warnings, strict=True) if w}
