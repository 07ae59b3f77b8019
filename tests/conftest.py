"""Shared fixtures. Unit tests use deterministic stand-ins (hashing embedder, scripted LLM) with a
real embedded Chroma in a temporary folder; integration tests use the real models."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "seeds" / "000_7304b3bcc082d340.txt"
SHARED_DATA = ROOT.parent / "shared" / "data"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The real models and the browser are slow by nature: the fast tier (`-m "not slow"`,
    `./test.sh --fast`) leaves them out, with the system tests marked `slow` in their module."""
    for item in items:
        if item.get_closest_marker("integration") or item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def settings(tmp_path: Path):
    from rag.settings import Settings

    # min_passages=2: the scripted answers of the unit tests cite a second passage, which the
    # hashing embedder does not always score close to the best
    return Settings(data_dir=tmp_path / "data", embedder="hashing", llm="scripted", min_passages=2)


def make_test_service(settings, script: Callable[[Sequence], str] | None = None):
    from rag.components import make_service
    from rag.llm import ScriptedLLM

    return make_service(settings, llm=ScriptedLLM(script))


def ingest_into(service, settings, paths: list[Path]):
    from ingest.service import make_ingestor

    return make_ingestor(settings, service.engines).ingest_paths(paths, progress=False)


@contextmanager
def serving(app) -> Iterator[str]:
    """A real uvicorn server for `app` in a thread of this process; yields its URL."""
    import threading
    import time

    import uvicorn

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                httpx.get(f"{url}/healthz")
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """`rag serve` in a subprocess on a free port, with its own data folder."""

    def __init__(self, data_dir: Path, env: dict[str, str] | None = None, ingest=(SEED,)):
        import subprocess
        import sys

        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = data_dir / "server.log"
        data_dir.mkdir(parents=True, exist_ok=True)
        # Only the settings given here: a RAG_* variable of the caller's shell (RAG_LLM=scripted,
        # say) must not turn a real-model test into a stand-in one.
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
        full_env = {
            **inherited,
            "RAG_DATA_DIR": str(data_dir),
            "RAG_LOG_LEVEL": "info",
            **(env or {}),
        }
        args = [sys.executable, "-m", "api.cli", "serve", "--port", str(self.port)]
        if ingest:
            args += ["--ingest", *map(str, ingest)]
        self._log = self.log_path.open("w")
        self.proc = subprocess.Popen(
            args, cwd=ROOT, env=full_env, stdout=self._log, stderr=subprocess.STDOUT
        )

    def wait_ready(self, timeout: float = 180.0) -> LiveServer:
        import time

        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise TimeoutError(f"server not ready in {timeout}s:\n{self.log()}")

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text()

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except Exception:
            self.proc.kill()
        self._log.close()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    """The real service (real models, embedded Chroma) with the seed article ingested."""
    real = {"RAG_LLM": "llama-cpp", "RAG_EMBEDDER": "sentence-transformers"}
    server = LiveServer(tmp_path_factory.mktemp("live"), env=real).wait_ready()
    health = httpx.get(f"{server.url}/healthz", timeout=10).json()
    # these tests are about the real models: say so if anything else is answering
    assert health["llm"] == "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf", health
    assert health["embedder"] == "multilingual-e5-small", health
    yield server
    server.stop()
