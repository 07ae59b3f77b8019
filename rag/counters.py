"""Counters every worker of a host adds to and reads: one SQLite table beside the index."""

from __future__ import annotations

from pathlib import Path

from rag.sqlite import PerThread


class SharedCounters:
    def __init__(self, path: Path, scope: str) -> None:
        self.path = path
        self.scope = scope  # the collection: counters of one corpus
        self._conn = PerThread(self.path)
        self._conn().execute(
            "CREATE TABLE IF NOT EXISTS counters "
            "(scope TEXT, name TEXT, value INTEGER, PRIMARY KEY (scope, name))"
        )

    def add(self, name: str, n: int = 1) -> None:
        self._conn().execute(
            "INSERT INTO counters(scope, name, value) VALUES (?, ?, ?) "
            "ON CONFLICT(scope, name) DO UPDATE SET value = value + excluded.value",
            (self.scope, name, n),
        )

    def read(self) -> dict[str, int]:
        rows = self._conn().execute(
            "SELECT name, value FROM counters WHERE scope = ?", (self.scope,)
        )
        return dict(rows)
