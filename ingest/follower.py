"""Keeps this host's passage index in step with changes made through another host.

Every document change is logged in the shared vector store (rag.store `log_change`), tagged
with the passage index that made it. Workers of one host share one index file, so they skip
each other's entries; another host's entries are applied here within `interval` seconds:
its new passages get their keyword rows and sentence vectors, its removed ones go.
"""

from __future__ import annotations

import logging
import threading
import time

from ingest.pipeline import Ingestor

log = logging.getLogger(__name__)
SKEW = 10.0  # seconds of clock difference between hosts that are tolerated


class IndexFollower:
    def __init__(self, ingestor: Ingestor, interval: float = 2.0, keep: float = 86_400) -> None:
        self.ingestor = ingestor
        self.interval = interval
        self.keep = keep
        self.watermark = time.time() - 60  # start-up reconciliation covered what came before
        self._seen: dict[str, float] = {}
        self._stop = threading.Event()
        self._pruned = 0.0
        self._thread = threading.Thread(target=self._run, name="index-follower", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.step()
            except Exception:
                log.exception("could not follow the change log")

    def step(self) -> list[str]:
        """Apply the changes logged since the last step; returns the documents followed."""
        store = self.ingestor.store
        entries = [e for e in store.changes_since(self.watermark - SKEW) if e[0] not in self._seen]
        foreign = sorted({doc for _, doc, origin, _ in entries if origin != self.ingestor.origin})
        if foreign:
            with self.ingestor.lock:
                self.ingestor.follow(foreign)
            log.info("followed %d document change(s) made elsewhere", len(foreign))
        for entry_id, _, _, at in entries:
            self._seen[entry_id] = at
            self.watermark = max(self.watermark, at)
        self._seen = {i: at for i, at in self._seen.items() if at > self.watermark - 2 * SKEW}
        if time.time() - self._pruned > 3600:
            store.prune_changes(time.time() - self.keep)
            self._pruned = time.time()
        return foreign
