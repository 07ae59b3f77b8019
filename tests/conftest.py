"""Shared fixtures. Unit tests use deterministic stand-ins (hashing embedder, scripted LLM) with a
real embedded Chroma in a temporary folder; integration tests use the real models."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "seeds" / "000_7304b3bcc082d340.txt"
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture
def settings(tmp_path: Path):
    from rag.settings import Settings

    return Settings(data_dir=tmp_path / "data", embedder="hashing", llm="scripted")


def make_test_service(settings, script: Callable[[Sequence], str] | None = None):
    from rag.components import make_service
    from rag.llm import ScriptedLLM

    return make_service(settings, llm=ScriptedLLM(script))


def ingest_into(service, settings, paths: list[Path]):
    from ingest.pipeline import Ingestor, make_chunker

    embedder = service.retriever.embedder
    ingestor = Ingestor(service.store, embedder, make_chunker(settings, embedder))
    return ingestor.ingest_paths(paths, progress=False)
