"""One typed settings object for the whole service, read from `RAG_*` environment variables.

Defaults work offline on a laptop: embedded Chroma under `./data`, models under `./models`.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RAG_", env_file=".env", extra="ignore")

    # Storage
    data_dir: Path = Field(PROJECT_ROOT / "data", description="Embedded Chroma lives here")
    collection: str = "articles"
    vector_store: Literal["chroma-embedded", "chroma-http"] = "chroma-embedded"
    chroma_host: str = "127.0.0.1"
    chroma_port: int = 8001

    # Models
    # Shared by every checkout on the machine: models are large and identical everywhere.
    models_dir: Path = Path("~/.cache/ragkit/models")
    embedder: Literal["sentence-transformers", "hashing"] = "sentence-transformers"
    embed_model: str = "multilingual-e5-small"
    embed_dtype: Literal["auto", "float32", "bfloat16"] = "auto"
    embed_batch_size: int = 32
    llm: Literal["llama-cpp", "openai-like", "scripted"] = "llama-cpp"
    llm_model: str = "qwen2.5-coder-1.5b-instruct-q4_k_m"
    llm_context_window: int = 4096
    llm_max_new_tokens: int = 320
    llm_threads: int = Field(default_factory=lambda: os.cpu_count() or 2)
    llm_temperature: float = 0.0
    llm_prompt_cache: bool = Field(True, description="Reuse the KV cache of shared prompt prefixes")
    openai_base_url: str = "http://127.0.0.1:8080/v1"
    openai_api_key: str = "not-needed"
    openai_model: str = "local"

    # Chunking
    chunk_size: int = Field(320, description="Max tokens per chunk (multilingual-e5 tokens)")
    chunk_overlap: int = 30

    # Retrieval and answering
    top_k: int = Field(5, ge=1, le=20, description="Most passages given to the model")
    # A passage is given to the model only when it scores at least this share of the best one
    # (never fewer than min_passages): fewer, closer passages keep the gold paragraph as often
    # and halve the prompt (docs/EVALUATION.md, "How many passages"). 0 keeps all top_k.
    relative_score: float = Field(0.6, ge=0.0, le=1.0)
    min_passages: int = Field(2, ge=1, le=20)
    retrieval: Literal["hybrid", "dense", "bm25"] = "hybrid"
    candidates: int = Field(30, ge=1, description="Per-retriever pool before fusion")
    max_question_chars: int = 2000

    # Serving
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "warning"
    queue_size: int = Field(4, ge=0, description="Generations waiting beyond the running one")

    @model_validator(mode="after")
    def _absolute_paths(self) -> Settings:
        self.data_dir = self.data_dir.expanduser().resolve()
        self.models_dir = self.models_dir.expanduser().resolve()
        return self

    @property
    def embed_model_path(self) -> Path:
        return self.models_dir / self.embed_model

    @property
    def llm_model_path(self) -> Path:
        return self.models_dir / f"{self.llm_model}.gguf"


@lru_cache
def get_settings() -> Settings:
    return Settings()
