"""The ingestion job queue (ingest.jobs): a job whose runner died is taken again at once."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

from ingest.jobs import JobStore
from rag.schema import Document

DOC = Document("d", "T", "T\n\nUn texte.", content_hash="h")


def _dead_runner() -> str:
    """A runner name of this host whose process has ended."""
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    return f"{socket.gethostname()}:{int(child.stdout)}"


def test_a_job_left_running_by_a_dead_process_is_taken_at_once(tmp_path):
    jobs = JobStore(tmp_path / "jobs.sqlite3")
    first = jobs.create([DOC], replace=False, rejected=[])
    assert jobs.claim(_dead_runner())[0] == first  # taken, then its runner was killed
    second = jobs.create([DOC], replace=False, rejected=[])
    assert jobs.claim("other-host:2")[0] == first  # the dead runner's job, oldest first
    assert jobs.claim("other-host:3")[0] == second
    assert jobs.claim("other-host:4") is None  # both have runners that may still be alive


def test_a_job_of_a_live_runner_is_left_to_it(tmp_path):
    jobs = JobStore(tmp_path / "jobs.sqlite3")
    jobs.create([DOC], replace=False, rejected=[])
    assert jobs.claim(f"{socket.gethostname()}:{os.getpid()}") is not None  # this process
    assert jobs.claim("other-host:2") is None
