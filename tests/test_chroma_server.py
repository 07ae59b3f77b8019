"""The same store code against a real `chroma run` server (RAG_VECTOR_STORE=chroma-http)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from rag.settings import Settings
from tests.conftest import SEED, _free_port, ingest_into, make_test_service

CHROMA = Path(sys.executable).parent / "chroma"


@pytest.fixture
def chroma_server(tmp_path: Path):
    if not CHROMA.exists() and not shutil.which("chroma"):
        pytest.skip("the `chroma` command (chromadb) is not installed")
    port = _free_port()
    log = (tmp_path / "chroma.log").open("w")
    proc = subprocess.Popen(
        [str(CHROMA), "run", "--path", str(tmp_path / "chroma"), "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        for _ in range(200):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/v2/heartbeat").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            pytest.fail("chroma run did not start: " + (tmp_path / "chroma.log").read_text())
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


def test_ingest_and_answer_through_a_chroma_server(chroma_server: int, tmp_path: Path):
    settings = Settings(
        data_dir=tmp_path / "unused",
        vector_store="chroma-http",
        chroma_port=chroma_server,
        embedder="hashing",
        llm="scripted",
    )
    service = make_test_service(settings, lambda m: "Le premier objectif est la géologie [1].")
    report = ingest_into(service, settings, [SEED])
    n = service.store.count()
    assert report.added == n > 0
    assert ingest_into(service, settings, [SEED]).unchanged == 1
    assert service.store.count() == n
    assert not (tmp_path / "unused" / "chroma").exists()  # no embedded store was opened
    answer = service.ask("Quel est le premier objectif de l'accord ?")
    assert answer.citations and answer.citations[0].doc_id == SEED.stem
    # a second client (another process would do the same) sees the same data
    fresh = make_test_service(settings)
    assert fresh.store.count() == n
    assert fresh.store.get_document(SEED.stem).text == SEED.read_text()
