"""Every component built from settings, in one place (PrivateGPT-style): embedder, vector
store client, passage index, LLM, retriever, answer service. (Ingestion builds its own
chunker and ingestor from these, in ingest.pipeline: rag never imports ingest.)"""

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
        kernel_cache=settings.embed_kernel_cache,
    )


def hnsw_settings(settings: Settings) -> dict[str, int]:
    return {
        "max_neighbors": settings.hnsw_max_neighbors,
        "ef_construction": settings.hnsw_ef_construction,
        "ef_search": settings.hnsw_ef_search,
    }


def make_client(settings: Settings):
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if settings.vector_store == "chroma-http":
        return chromadb.HttpClient(
            host=settings.chroma_host, port=settings.chroma_port, settings=chroma_settings
        )
    path = settings.data_dir / "chroma"
    path.mkdir(parents=True, exist_ok=True)
    from rag.store import lock_embedded

    lock_embedded(path)
    return chromadb.PersistentClient(path=str(path), settings=chroma_settings)


def make_llm(settings: Settings):
    from rag.llm import LlamaCppChat, ScriptedLLM

    if settings.llm == "scripted":
        return ScriptedLLM()
    if settings.llm == "openai-like":
        from llama_index.llms.openai_like import OpenAILike

        return OpenAILike(
            model=settings.openai_model,
            api_base=settings.openai_base_url,
            api_key=settings.openai_api_key,
            is_chat_model=True,
            context_window=settings.llm_context_window,
            max_tokens=settings.llm_max_new_tokens,
            temperature=settings.llm_temperature,
        )
    path = settings.llm_model_path
    if not path.exists():
        raise FileNotFoundError(
            f"LLM {settings.llm_model!r} not found at {path}: run scripts/setup.sh"
        )
    return LlamaCppChat(
        model_path=str(path),
        context_window=settings.llm_context_window,
        max_new_tokens=settings.llm_max_new_tokens,
        temperature=settings.llm_temperature,
        n_threads=settings.llm_threads,
        prompt_cache=settings.llm_prompt_cache,
        prompt_cache_mb=settings.llm_prompt_cache_mb,
    )


def make_store(settings: Settings, embedder: Embedder):
    from rag.store import ChunkStore

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
        context_window_rest=settings.context_window_rest,
        prompt_examples=settings.prompt_examples,
        prompt_answers=settings.prompt_answers,
        grammar=settings.grammar,
        prompt_demos=settings.prompt_demos,
        best_last_languages=settings.best_last_languages,
        min_relevance=settings.min_relevance,
        min_relevance_en=settings.min_relevance_en,
    )
    service.counters = SharedCounters(settings.index_path, settings.collection)
    return service
