"""One writer at a time per store on a host: threads of a process and the processes of a host
(`rag ingest`, every `rag serve` worker) take the same lock before changing documents."""

from __future__ import annotations

import fcntl
import os
import threading
import time
from pathlib import Path


class WriteLockTimeoutError(TimeoutError):
    pass


class WriteLock:
    """A re-entrant lock: a thread lock inside, an flock on `path` across processes (released
    by the kernel when a process dies, kill -9 included). `path=None`: this process only."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._thread = threading.RLock()
        self._depth = 0
        self._fd: int | None = None

    def acquire(self, timeout: float | None = None) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout
        if not self._thread.acquire(timeout=-1 if timeout is None else timeout):
            raise WriteLockTimeoutError("another ingestion holds the store")
        try:
            if self._depth == 0 and self.path is not None:
                self._lock_file(deadline)
        except BaseException:
            self._thread.release()
            raise
        self._depth += 1

    def _lock_file(self, deadline: float | None) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                self._fd = fd
                return
            except BlockingIOError:
                if deadline is not None and time.monotonic() > deadline:
                    os.close(fd)
                    raise WriteLockTimeoutError("another process is ingesting") from None
                time.sleep(0.05)

    def release(self) -> None:
        self._depth -= 1
        if self._depth == 0 and self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
        self._thread.release()

    def __enter__(self) -> WriteLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
