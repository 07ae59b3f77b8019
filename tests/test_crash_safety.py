"""Kill -9 real ingestion processes (`rag ingest`, and `rag serve` mid-upload) at several
points, then check: no duplicate passages, nothing retrievable without its document record
(at its version, offsets exact), and after re-ingesting, the counts of a clean ingestion."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT, LiveServer

pytestmark = pytest.mark.slow  # real processes killed and restarted; minutes

ENV = {"RAG_EMBEDDER": "hashing", "RAG_LLM": "scripted", "RAG_LOG_LEVEL": "warning"}
WORDS = (
    "titane uranium accord usine énergie ministre contrat région port marché export rail "
    "budget emploi projet centrale réseau eau hydrogène batterie lithium cuivre zinc nickel "
    "fonds banque État ville commune industrie recherche laboratoire brevet satellite"
).split()


def write_corpus(folder: Path, n_docs: int = 160, paragraphs: int = 5) -> None:
    rng = random.Random(7)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n_docs):
        body = "\n\n".join(
            " ".join(rng.choice(WORDS) for _ in range(60)).capitalize() + f" (article {i}, {p})."
            for p in range(paragraphs)
        )
        (folder / f"article-{i:03d}.txt").write_text(f"Article numéro {i}\n\n{body}\n")


def check(data_dir: str) -> dict:
    """The store's state, read by a fresh process: counts and invariant violations."""
    from rag.components import make_embedder, make_passage_index, make_store
    from rag.settings import Settings

    settings = Settings(data_dir=Path(data_dir), embedder="hashing", llm="scripted")
    store = make_store(settings.store, make_embedder(settings.models))
    keywords = make_passage_index(settings.store)
    records = {d.doc_id: d for d in store.documents()}
    chunks = store.all_chunks()
    texts = {d: store.get_document(d).text for d in records}
    visible = {p.chunk.id for p in store.visible([_passage(c) for c in chunks])}
    without_record = [c.id for c in chunks if c.id in visible and c.doc_id not in records]
    wrong_offsets = [
        c.id
        for c in chunks
        if c.id in visible and texts.get(c.doc_id, "")[c.start : c.end] != c.text
    ]
    # what retrieval actually returns, for many questions: each has its record, at its version
    from rag.retrieval import HybridRetriever

    retriever = HybridRetriever(store, make_embedder(settings.models), keywords)
    rng = random.Random(3)
    retrieved = []
    for i in range(30):
        retrieved += retriever.retrieve(" ".join(rng.sample(WORDS, 3)) + f" article {i}", 10)
    bad_retrieved = [
        p.chunk.id
        for p in retrieved
        if p.chunk.doc_id not in records
        or records[p.chunk.doc_id].state != "ready"
        or texts[p.chunk.doc_id][p.chunk.start : p.chunk.end] != p.chunk.text
    ]
    return {
        "documents": len(records),
        "ready": sum(d.state == "ready" for d in records.values()),
        "chunks": len(chunks),
        "distinct_chunks": len({c.id for c in chunks}),
        "keyword_rows": keywords.count(),
        "visible": len(visible),
        "visible_without_record": without_record,
        "visible_with_wrong_offsets": wrong_offsets,
        "retrieved": len(retrieved),
        "retrieved_without_ready_record_or_offsets": bad_retrieved,
        "chunk_ids": sorted(c.id for c in chunks),
    }


def _passage(chunk):
    from rag.schema import Passage

    return Passage(chunk, 0.0)


def inspect(data_dir: Path) -> dict:
    code = (
        "import json; from tests.test_crash_safety import check; "
        f"print(json.dumps(check({str(data_dir)!r})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, **ENV},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def ingest(data_dir: Path, corpus: Path) -> subprocess.Popen:
    env = {**os.environ, **ENV, "RAG_DATA_DIR": str(data_dir)}
    return subprocess.Popen(
        [sys.executable, "-m", "api.cli", "ingest", "-q", str(corpus)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def assert_consistent(state: dict) -> None:
    assert state["chunks"] == state["distinct_chunks"]  # no duplicate passages
    assert state["visible_without_record"] == []
    assert state["visible_with_wrong_offsets"] == []
    assert state["retrieved_without_ready_record_or_offsets"] == []


def test_kill_9_during_cli_ingestion(tmp_path: Path):
    corpus = tmp_path / "corpus"
    write_corpus(corpus)
    t0 = time.monotonic()
    clean_run = ingest(tmp_path / "clean", corpus)
    assert clean_run.wait(timeout=600) == 0, clean_run.stderr.read()
    duration = time.monotonic() - t0
    clean = inspect(tmp_path / "clean")
    assert clean["documents"] == clean["ready"] == 160 and clean["keyword_rows"] == clean["chunks"]

    crashed = tmp_path / "crashed"
    partial = 0
    for fraction in (0.45, 0.6, 0.7, 0.8, 0.9, 0.95):
        proc = ingest(crashed, corpus)
        time.sleep(duration * fraction)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        state = inspect(crashed)
        assert_consistent(state)
        partial += 0 < state["visible"] < clean["chunks"] or state["ready"] < state["documents"]
    assert partial >= 2, "the kills should land while passages are being written"

    finish = ingest(crashed, corpus)
    assert finish.wait(timeout=600) == 0, finish.stderr.read()
    final = inspect(crashed)
    assert_consistent(final)
    for key in ("documents", "ready", "chunks", "keyword_rows", "visible", "chunk_ids"):
        assert final[key] == clean[key], key


def test_kill_9_during_an_http_upload_then_the_job_resumes(tmp_path: Path):
    corpus = tmp_path / "corpus"
    write_corpus(corpus, n_docs=120)
    files = sorted(corpus.iterdir())
    clean_dir = tmp_path / "clean"
    clean_run = ingest(clean_dir, corpus)
    assert clean_run.wait(timeout=600) == 0
    clean = inspect(clean_dir)

    env = {**ENV, "RAG_INLINE_UPLOAD_KB": "0"}
    server = LiveServer(tmp_path / "served", env=env, ingest=()).wait_ready()
    try:
        upload = [("files", (f.name, f.read_bytes(), "text/plain")) for f in files]
        r = httpx.post(f"{server.url}/v1/documents", files=upload, timeout=60)
        assert r.status_code == 202, r.text
        job_id = r.json()["id"]
        deadline = time.monotonic() + 120
        while httpx.get(f"{server.url}/healthz").json()["documents"] < 20:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        server.proc.send_signal(signal.SIGKILL)  # mid-job
        server.proc.wait(timeout=30)
    state = inspect(tmp_path / "served")
    assert_consistent(state)
    assert state["ready"] < 120

    server = LiveServer(tmp_path / "served", env=env, ingest=()).wait_ready()
    try:
        deadline = time.monotonic() + 300
        while (job := httpx.get(f"{server.url}/v1/jobs/{job_id}").json())["state"] != "done":
            assert time.monotonic() < deadline, job
            time.sleep(0.2)
    finally:
        server.stop()
    assert {o["status"] for o in job["outcomes"]} <= {"added", "updated", "unchanged"}
    final = inspect(tmp_path / "served")
    assert_consistent(final)
    for key in ("documents", "ready", "chunks", "keyword_rows", "visible"):
        assert final[key] == clean[key], key


@pytest.fixture(autouse=True)
def _quiet_tokenizers(monkeypatch):
    monkeypatch.setenv("TOKENIZERS_PARALLELISM", "false")
