"""Builds the swappable components from settings (PrivateGPT-style): embedder, store, LLM."""

from __future__ import annotations

import os

from rag.embedding import Embedder, HashingEmbedder, SentenceTransformerEmbedder
from rag.settings import Settings

# Nothing may reach a model hub at run time: fail in seconds on a wrong name instead of hanging.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


def make_embedder(settings: Settings) -> Embedder:
    if settings.embedder == "hashing":
        return HashingEmbedder()
    return SentenceTransformerEmbedder(
        settings.embed_model_path,
        settings.embed_model,
        dtype=settings.embed_dtype,
        batch_size=settings.embed_batch_size,
    )


def hnsw_settings(settings: Settings) -> dict[str, int]:
    return {
        "max_neighbors": settings.hnsw_max_neighbors,
        "ef_construction": settings.hnsw_ef_construction,
        "ef_search": settings.hnsw_ef_search,
    }


def make_store(settings: Settings, embedder: Embedder):
    from rag.store import ChunkStore, make_client

    return ChunkStore(
        make_client(settings),
        settings.collection,
        embedder.name,
        embedder.dim,
        hnsw=hnsw_settings(settings),
    )


def make_passage_index(settings: Settings):
    from rag.passage_index import PassageIndex

    return PassageIndex(settings.index_path, settings.collection)


def make_service(settings: Settings, embedder: Embedder | None = None, llm=None):
    from rag.counters import SharedCounters
    from rag.llm import make_llm
    from rag.retrieval import HybridRetriever
    from rag.service import AnswerService

    embedder = embedder or make_embedder(settings)
    store = make_store(settings, embedder)
    index = make_passage_index(settings)
    retriever = HybridRetriever(store, embedder, index, settings.retrieval, settings.candidates)
    service = AnswerService(
        store,
        retriever,
        llm or make_llm(settings),
        top_k=settings.top_k,
        relative_score=settings.relative_score,
        min_passages=settings.min_passages,
        max_waiting=settings.queue_size,
        slots=settings.generation_slots,
        verify_settings=settings.verify,
        prompt_style=settings.prompt_style,
        context=settings.context,
        context_window=settings.context_window,
        prompt_examples=settings.prompt_examples,
    )
    service.counters = SharedCounters(settings.index_path, settings.collection)
    return service
