"""The SQLite files beside Chroma (passage index, stories, jobs, feeds, counters): one way to
open them, one connection per thread."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path


def connect(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


class PerThread:
    """`conn()`: this thread's connection to the file at `path`, opened on first use (a
    transaction must not interleave with another thread's on one connection)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()

    def __call__(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = connect(self.path)
        return conn
