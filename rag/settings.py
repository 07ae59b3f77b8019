"""The service's settings: what a user or an operator sets, in groups, read from `RAG_*`
environment variables (or `.env`).

Each group is read on its own (`StoreSettings()` reads `RAG_DATA_DIR`, `RAG_COLLECTION`, ...)
and each component takes its group: the store takes `settings.store`, the retriever
`settings.retrieval`. Variable names stay flat (`RAG_TOP_K`, not `RAG_RETRIEVAL__TOP_K`), so
`Settings(top_k=3, data_dir=...)` routes each name to its group. What was tuned by a
measurement is not here: it is a module constant beside the measurement that chose it.
"""

from __future__ import annotations

import os
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
_ENV = SettingsConfigDict(env_prefix="RAG_", env_file=".env", extra="ignore", frozen=True)


class StoreSettings(BaseSettings):
    """Where passages and documents live."""

    model_config = _ENV

    data_dir: Path = Field(PROJECT_ROOT / "data", description="embedded Chroma lives here")
    collection: str = "articles"
    vector_store: Literal["chroma-embedded", "chroma-http"] = "chroma-embedded"
    chroma_host: str = "127.0.0.1"
    chroma_port: int = Field(8001, ge=1, le=65535)
    # The HNSW graph of a new passage collection (an existing one keeps its own until
    # `rag reindex`). Chroma's defaults (16 neighbours, ef 100) lose the gold passage among 30k
    # near-duplicate news passages: dense recall@5 0.540 against 0.687 for exact search;
    # 32 / 200 / 500 give 0.667 for a few ms more a query (rag bench hnsw).
    hnsw_max_neighbors: int = Field(32, ge=4, le=256)
    hnsw_ef_construction: int = Field(200, ge=10)
    hnsw_ef_search: int = Field(500, ge=10)

    @field_validator("data_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @property
    def index_path(self) -> Path:
        """SQLite file beside the store: keyword index, sentence vectors, ingestion jobs."""
        return self.data_dir / "index.sqlite3"

    @property
    def hnsw(self) -> dict[str, int]:
        return {
            "max_neighbors": self.hnsw_max_neighbors,
            "ef_construction": self.hnsw_ef_construction,
            "ef_search": self.hnsw_ef_search,
        }


class ModelSettings(BaseSettings):
    """The embedder and the generative model."""

    model_config = _ENV

    # Shared by every checkout on the machine: models are large and identical everywhere.
    models_dir: Path = Path("~/.cache/ragkit/models")
    embedder: Literal["sentence-transformers", "hashing"] = "sentence-transformers"
    embed_model: str = "multilingual-e5-small"
    embed_dtype: Literal["auto", "float32", "bfloat16"] = "auto"
    llm: Literal["llama-cpp", "openai-like", "scripted"] = "llama-cpp"
    llm_model: str = "qwen2.5-coder-1.5b-instruct-q4_k_m"
    llm_context_window: int = Field(4096, ge=512)
    llm_max_new_tokens: int = Field(320, ge=1)
    llm_threads: int = Field(default_factory=lambda: os.cpu_count() or 2, ge=1)
    llm_temperature: float = Field(0.0, ge=0.0, le=2.0)
    llm_prompt_cache: bool = Field(True, description="Reuse the KV cache of shared prefixes")
    # Every saved state counts in full (KV, token ids, one row of logits): ~30 MB per
    # 1,000-token prompt, so 256 MB keeps the last ~8 prompts; every one of them starts with
    # the fixed instructions and demonstration, which is what the cache is for.
    llm_prompt_cache_mb: int = Field(256, ge=0)
    openai_base_url: str = "http://127.0.0.1:8080/v1"
    openai_api_key: str = Field("not-needed", repr=False)
    openai_model: str = "local"

    @field_validator("models_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @property
    def embed_model_path(self) -> Path:
        return self.models_dir / self.embed_model

    @property
    def llm_model_path(self) -> Path:
        return self.models_dir / f"{self.llm_model}.gguf"


class IngestSettings(BaseSettings):
    """How articles are cut into passages, and how pages and feeds are fetched."""

    model_config = _ENV

    # Tokens of the embedder for paragraphs that must be split: 320 keeps long paragraphs
    # whole (PIAF R@5 0.926 against 0.922 at 220, docs/EVALUATION.md).
    chunk_size: int = Field(320, ge=16, le=512, description="most e5 tokens in a passage")
    chunk_overlap: int = Field(30, ge=0)
    allow_private_urls: bool = Field(
        False, description="fetch URLs on private, loopback and link-local networks"
    )
    fetch_timeout_s: float = Field(10.0, gt=0, description="connect and read timeout of a fetch")
    fetch_max_mb: float = Field(10.0, gt=0, description="largest page, feed or export fetched")
    feed_interval_minutes: float = Field(
        30.0, ge=1, description="how often a new feed subscription is polled (by default)"
    )

    @model_validator(mode="after")
    def _overlap(self) -> IngestSettings:
        if self.chunk_overlap >= self.chunk_size:
            raise ValueError(
                f"RAG_CHUNK_OVERLAP ({self.chunk_overlap}) must be smaller than "
                f"RAG_CHUNK_SIZE ({self.chunk_size})"
            )
        return self


class RetrievalSettings(BaseSettings):
    """How many passages the model reads."""

    model_config = _ENV

    top_k: int = Field(5, ge=1, le=20, description="most passages given to the model")
    # A passage is read only when it scores at least this share of the best one (never fewer
    # than min_passages): fewer, closer passages keep the gold paragraph as often and halve
    # the prompt (docs/EVALUATION.md, "How many passages"); 0 reads all top_k.
    relative_score: float = Field(0.6, ge=0.0, le=1.0)
    # 1: a best passage that stands out is read alone. A passage far below it was a place to
    # copy a wrong fact from (PIAF contains 0.480 -> 0.550, docs/EVALUATION.md round 9).
    min_passages: int = Field(1, ge=1, le=20)
    # The time a question's relative expressions ("last week", « hier ») count from; unset:
    # the clock's. For evaluations and tests that must give the same answers another day.
    reference_time: datetime | None = None

    @field_validator("reference_time")
    @classmethod
    def _zoned(cls, value: datetime | None) -> datetime | None:
        return value.astimezone() if value is not None and value.tzinfo is None else value

    @model_validator(mode="after")
    def _minimum(self) -> RetrievalSettings:
        if self.min_passages > self.top_k:
            raise ValueError(
                f"RAG_MIN_PASSAGES ({self.min_passages}) cannot exceed RAG_TOP_K ({self.top_k})"
            )
        return self


class ServeSettings(BaseSettings):
    """The HTTP server: address, queue, access and limits."""

    model_config = _ENV

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    log_level: Literal["debug", "info", "warning", "error", "critical"] = "warning"
    workers: int = Field(1, ge=1, le=64, description="API worker processes (rag serve)")
    queue_size: int = Field(4, ge=0, description="generations waiting beyond the running ones")
    # Generations one process runs at once: 1 for the embedded llama.cpp model (one context);
    # more with a remote OpenAI-compatible server, which queues requests itself.
    generation_slots: int = Field(1, ge=1, le=64)
    # Comma-separated keys, or the path of a file with one key per line (# comments).
    api_keys: str = Field("", repr=False)
    auth_reads: bool = Field(False, description="also require a key to ask, chat and read")
    allow_anonymous: bool = Field(False, description="serve beyond loopback without API keys")
    max_question_chars: int = Field(2000, ge=1)
    max_upload_mb: float = Field(10.0, gt=0, description="largest accepted upload body")
    inline_upload_kb: int = Field(256, ge=0, description="uploads ingested before the response")

    @field_validator("log_level", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _keys(self) -> ServeSettings:
        self.api_key_list()  # a missing key file or a short key fails at start-up
        return self

    def api_key_list(self) -> list[str]:
        """The accepted API keys (none: the service is open)."""
        raw = self.api_keys.strip()
        if not raw:
            return []
        path = Path(raw).expanduser()
        if "," not in raw and (path.is_file() or raw.startswith(("/", "./", "~"))):
            try:
                lines = path.read_text().splitlines()
            except OSError as err:
                raise ValueError(f"RAG_API_KEYS: cannot read key file {path}: {err}") from None
            keys = [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
        else:
            keys = [k.strip() for k in raw.split(",") if k.strip()]
        short = [k for k in keys if len(k) < 16]
        if short:
            raise ValueError(f"RAG_API_KEYS: {len(short)} key(s) shorter than 16 characters")
        return keys


class Settings(BaseModel):
    """Every group. `Settings(top_k=3, data_dir=p)` sets single values by their variable's
    name (without `RAG_`); the rest comes from the environment. Groups can be given whole."""

    model_config = ConfigDict(frozen=True)
    GROUPS: ClassVar[dict[str, type[BaseSettings]]] = {
        "store": StoreSettings,
        "models": ModelSettings,
        "ingest": IngestSettings,
        "retrieval": RetrievalSettings,
        "serve": ServeSettings,
    }

    store: StoreSettings
    models: ModelSettings
    ingest: IngestSettings
    retrieval: RetrievalSettings
    serve: ServeSettings

    def __init__(self, **values: Any) -> None:
        groups: dict[str, BaseSettings] = {}
        for name, cls in self.GROUPS.items():
            given = values.pop(name, None)
            own = {k: values.pop(k) for k in list(values) if k in cls.model_fields}
            if isinstance(given, cls):
                groups[name] = cls(**{**given.model_dump(), **own}) if own else given
            else:
                # a ValidationError here names the variable: its location is the field
                groups[name] = cls(**{**(given or {}), **own})
        if values:
            raise TypeError(f"unknown setting(s): {', '.join(sorted(values))}")
        super().__init__(**groups)

    @model_validator(mode="after")
    def _across_groups(self) -> Settings:
        if self.serve.generation_slots > 1 and self.models.llm == "llama-cpp":
            raise ValueError(
                "RAG_GENERATION_SLOTS > 1 needs RAG_LLM=openai-like: one llama.cpp context "
                "runs one generation at a time"
            )
        return self

    def changed(self, **values: Any) -> Settings:
        """A copy with these settings changed (by variable name, without `RAG_`), validated
        like the environment would be."""
        current: dict[str, Any] = {}
        for name in self.GROUPS:
            current.update(getattr(self, name).model_dump())
        return Settings(**{**current, **values})

    def model_copy(self, *, update: dict[str, Any] | None = None, deep: bool = False) -> Settings:
        """`update` by variable names, validated (pydantic's own copy would set them unchecked
        beside the groups)."""
        return self.changed(**update) if update else super().model_copy(deep=deep)

    @classmethod
    def names(cls) -> dict[str, str]:
        """Every setting's variable name (without `RAG_`, lower case) -> its group."""
        return {f: g for g, c in cls.GROUPS.items() for f in c.model_fields}


def describe_settings_error(err: ValidationError) -> str:
    """One line per invalid setting, named by its environment variable."""
    lines = []
    for e in err.errors():
        field = str(e["loc"][-1]) if e["loc"] else ""
        name = f"RAG_{field.upper()}" if field else ""
        value = e.get("input")
        shown = f"={value}" if name and not isinstance(value, dict) else ""
        msg = e["msg"].removeprefix("Value error, ")
        lines.append(f"{name}{shown}: {msg}" if name else msg)
    return "invalid settings: " + "; ".join(lines)


@lru_cache
def get_settings() -> Settings:
    return Settings()
