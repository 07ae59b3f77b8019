"""Every component built from its settings group, in one place (PrivateGPT-style): the
engines that answering and ingestion share (embedder, vector store, passage index), the LLM,
and the answer service. Backends are chosen by settings, never by editing code."""

from __future__ import annotations

import os

from rag.embedding import Embedder, HashingEmbedder, SentenceTransformerEmbedder
from rag.engines import Engines
from rag.passage_index import PassageIndex
from rag.settings import ModelSettings, Settings, StoreSettings
from rag.store import ChunkStore

# Nothing may reach a model hub at run time: fail in seconds on a wrong name instead of hanging.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


def make_embedder(models: ModelSettings) -> Embedder:
    if models.embedder == "hashing":
        return HashingEmbedder()
    return SentenceTransformerEmbedder(
        models.embed_model_path, models.embed_model, models.embed_dtype
    )


def make_client(store: StoreSettings):
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if store.vector_store == "chroma-http":
        return chromadb.HttpClient(
            host=store.chroma_host, port=store.chroma_port, settings=chroma_settings
        )
    path = store.data_dir / "chroma"
    path.mkdir(parents=True, exist_ok=True)
    from rag.store import lock_embedded

    lock_embedded(path)
    return chromadb.PersistentClient(path=str(path), settings=chroma_settings)


def make_store(store: StoreSettings, embedder: Embedder) -> ChunkStore:
    client = make_client(store)
    return ChunkStore(
        client, store.collection, embedder.name, embedder.dim, store.hnsw, embedder.text_form
    )


def make_passage_index(store: StoreSettings) -> PassageIndex:
    return PassageIndex(store.index_path, store.collection)


def make_engines(settings: Settings, embedder: Embedder | None = None) -> Engines:
    from rag.stories import StoryIndex

    embedder = embedder or make_embedder(settings.models)
    store = settings.store
    return Engines(
        embedder,
        make_store(store, embedder),
        make_passage_index(store),
        StoryIndex(store.index_path, store.collection),
    )


def make_llm(models: ModelSettings):
    from rag.llm import LlamaCppChat, ScriptedLLM

    if models.llm == "scripted":
        return ScriptedLLM()
    if models.llm == "openai-like":
        from llama_index.llms.openai_like import OpenAILike

        return OpenAILike(
            model=models.openai_model,
            api_base=models.openai_base_url,
            api_key=models.openai_api_key,
            is_chat_model=True,
            context_window=models.llm_context_window,
            max_tokens=models.llm_max_new_tokens,
            temperature=models.llm_temperature,
        )
    path = models.llm_model_path
    if not path.exists():
        raise FileNotFoundError(
            f"LLM {models.llm_model!r} not found at {path}: run scripts/setup.sh"
        )
    return LlamaCppChat(
        model_path=str(path),
        context_window=models.llm_context_window,
        max_new_tokens=models.llm_max_new_tokens,
        temperature=models.llm_temperature,
        n_threads=models.llm_threads,
        prompt_cache=models.llm_prompt_cache,
        prompt_cache_mb=models.llm_prompt_cache_mb,
    )


def make_service(
    settings: Settings, embedder: Embedder | None = None, llm=None, engines: Engines | None = None
):
    from rag.counters import SharedCounters
    from rag.gate import GenerationGate
    from rag.service import AnswerService

    engines = engines or make_engines(settings, embedder)
    gate = GenerationGate(settings.serve.queue_size, settings.serve.generation_slots)
    service = AnswerService(engines, llm or make_llm(settings.models), settings.retrieval, gate)
    service.counters = SharedCounters(settings.store.index_path, settings.store.collection)
    return service
