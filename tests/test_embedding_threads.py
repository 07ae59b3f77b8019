"""The real embedder runs every forward pass on one thread: torch's OpenMP keeps a team of
helper threads per thread that calls it, so 40 server workers embedding questions would each
keep one (the thread count a soak saw climb from 81 to 108)."""

from __future__ import annotations

import os
import threading

import numpy as np
import pytest

from rag.settings import Settings


def _threads() -> int:
    return len(os.listdir(f"/proc/{os.getpid()}/task"))


@pytest.mark.integration
def test_long_lived_callers_do_not_each_get_helper_threads():
    from rag.components import make_embedder

    settings = Settings(embedder="sentence-transformers")
    if not settings.models.embed_model_path.exists():
        pytest.skip(f"no embedder at {settings.models.embed_model_path}: run scripts/setup.sh")
    if not os.path.isdir(f"/proc/{os.getpid()}/task"):
        pytest.skip("needs /proc to count threads")
    embedder = make_embedder(settings.models)
    reference = embedder.embed_queries(["question 0"])
    before = _threads()
    release, ready = threading.Event(), threading.Barrier(16)
    out: list[np.ndarray] = []

    def caller(i: int) -> None:  # like a server worker: embeds, then stays alive
        out.append(embedder.embed_queries(["question 0"]))
        ready.wait()
        release.wait()

    callers = [threading.Thread(target=caller, args=(i,)) for i in range(15)]
    for t in callers:
        t.start()
    ready.wait()
    grown = _threads() - before
    release.set()
    for t in callers:
        t.join()
    assert grown <= 15 + 1, f"{grown} threads for 15 callers: helper teams per caller"
    assert all(np.allclose(v, reference, atol=1e-3) for v in out)


@pytest.mark.integration
def test_the_kernel_cache_bound_is_set_before_the_first_pass(monkeypatch):
    """oneDNN reads its kernel cache capacity when it first builds a kernel; unbounded (1,024
    kernels of every input shape) it grew a server by ~400 MB (rag bench embed_memory)."""
    from rag.embedding import SentenceTransformerEmbedder

    models = Settings(embedder="sentence-transformers").models
    if not models.embed_model_path.exists():
        pytest.skip(f"no embedder at {models.embed_model_path}: run scripts/setup.sh")
    monkeypatch.delenv("ONEDNN_PRIMITIVE_CACHE_CAPACITY", raising=False)
    embedder = SentenceTransformerEmbedder(
        models.embed_model_path, models.embed_model, kernel_cache=48
    )
    embedder.embed_queries(["question 0"])
    assert os.environ["ONEDNN_PRIMITIVE_CACHE_CAPACITY"] == "48"
