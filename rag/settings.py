"""One typed settings object for the whole service, read from `RAG_*` environment variables.

Defaults work offline on a laptop: embedded Chroma under `./data`, models under `./models`.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class VerifySettings(BaseModel):
    """Thresholds of the verification stage (rag.verify): what a draft's claims must meet."""

    model_config = ConfigDict(frozen=True)

    # share of a claim's own words (those not in the question) some passage must hold
    min_support: float = Field(0.5, ge=0.0, le=1.0)
    # an uncited claim cites the passage holding most of its words, if at least this share...
    lexical_minimum: float = Field(0.6, ge=0.0, le=1.0)
    # ...and at least this much more than the runner-up
    lexical_margin: float = Field(0.0, ge=0.0, le=1.0)
    # across languages, the passages within this e5 similarity of the best one are cited too
    crosslingual_margin: float = Field(0.02, ge=0.0, le=2.0)
    # Across languages, a claim and a sentence or clause say the same thing from this e5
    # similarity (claims of 6 words or more / shorter ones): an uncited claim then cites that
    # passage, and `polarity` compares their negations (round 7 used 0.8 there, which
    # unrelated text reaches: a title was "contradicted" by « a refusé de commenter »). Of 300
    # unrelated English sentences none reaches 0.86 against the sentences and clauses of 5
    # French passages, of 300 fragments of 3-5 words one reaches 0.91
    # (rag bench crosslingual_null); translated sentences and list items: 0.88-0.96
    crosslingual_cite_minimum: float = Field(0.87, ge=-1.0, le=1.0)
    crosslingual_cite_minimum_short: float = Field(0.91, ge=-1.0, le=1.0)
    # quote-first drafts (rag.verify.quoted): the share of the quote's words one sentence of
    # the sources must hold, and that sentence's least e5 similarity to the question; 0: not
    # checked. On PIAF, 0.8 declines 0.77 of unanswerable questions instead of 0.40, but 0.31
    # of answerable ones instead of 0.14 (docs/EVALUATION.md, round 3): off by default.
    quote_found: float = Field(0.0, ge=0.0, le=1.0)
    quote_min_similarity: float = Field(0.0, ge=0.0, le=1.0)
    # questions whose names the passages a claim cites must name (rule "question-names").
    # Not English by default: English capitalises nationalities ("British" asked over a
    # passage saying "English"), which cost XQuAD one right answer and one false abstention
    # for unanswerable questions the English relevance gate already declines (round 5).
    names_languages: frozenset[str] = frozenset({"fr"})
    # rule names (rag.verify.rules.ORDER) not applied: for ablations
    rules_off: frozenset[str] = frozenset()


_VERIFY = VerifySettings()


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RAG_", env_file=".env", extra="ignore")

    # Storage
    data_dir: Path = Field(PROJECT_ROOT / "data", description="Embedded Chroma lives here")
    collection: str = "articles"
    vector_store: Literal["chroma-embedded", "chroma-http"] = "chroma-embedded"
    chroma_host: str = "127.0.0.1"
    chroma_port: int = 8001
    # HNSW graph of a new passage collection (an existing one keeps the graph it was built
    # with). Chroma's defaults (16 neighbours, ef 100) lose the gold passage among 30k
    # near-duplicate news passages: dense recall@5 0.540 against 0.687 for exact search;
    # 32 / 200 / 500 give 0.667 for a few ms more a query (rag bench hnsw).
    hnsw_max_neighbors: int = Field(32, ge=4, le=256)
    hnsw_ef_construction: int = Field(200, ge=10)
    hnsw_ef_search: int = Field(500, ge=10)

    # Models
    # Shared by every checkout on the machine: models are large and identical everywhere.
    models_dir: Path = Path("~/.cache/ragkit/models")
    embedder: Literal["sentence-transformers", "hashing"] = "sentence-transformers"
    embed_model: str = "multilingual-e5-small"
    embed_dtype: Literal["auto", "float32", "bfloat16"] = "auto"
    embed_batch_size: int = Field(32, ge=1)
    # oneDNN (torch's bf16 kernels) keeps the kernels it built for each input shape, up to
    # 1,024 by default, ~0.4 MB each: queries and claims of every length filled it, and a
    # server's memory crept up by ~400 MB over hundreds of questions. 64 holds it flat for
    # ~4 ms more per query (rag bench embed_memory, docs/EVALUATION.md round 8).
    embed_kernel_cache: int = Field(64, ge=0)
    llm: Literal["llama-cpp", "openai-like", "scripted"] = "llama-cpp"
    llm_model: str = "qwen2.5-coder-1.5b-instruct-q4_k_m"
    llm_context_window: int = Field(4096, ge=512)
    llm_max_new_tokens: int = Field(320, ge=1)
    llm_threads: int = Field(default_factory=lambda: os.cpu_count() or 2, ge=1)
    llm_temperature: float = Field(0.0, ge=0.0, le=2.0)
    llm_prompt_cache: bool = Field(True, description="Reuse the KV cache of shared prompt prefixes")
    # Every saved state counts in full (KV, token ids, one row of logits): ~30 MB per
    # 1,000-token prompt, so 256 MB keeps the last ~8 prompts; every one of them starts with
    # the fixed instructions and demonstrations, which is what the cache is for.
    llm_prompt_cache_mb: int = Field(256, ge=0)
    openai_base_url: str = "http://127.0.0.1:8080/v1"
    openai_api_key: str = "not-needed"
    openai_model: str = "local"

    # Each passage's sentence vectors, computed at ingestion (rag.ingest pipeline): "pooled"
    # from the passage's own forward pass, or "separate" (each sentence embedded again).
    sentence_vectors: Literal["pooled", "separate"] = "separate"

    # Chunking
    chunk_size: int = Field(
        320, ge=16, le=512, description="Max tokens per chunk (multilingual-e5 tokens)"
    )
    chunk_overlap: int = Field(30, ge=0)

    # Retrieval and answering
    top_k: int = Field(5, ge=1, le=20, description="Most passages given to the model")
    # A passage is given to the model only when it scores at least this share of the best one
    # (never fewer than min_passages): fewer, closer passages keep the gold paragraph as often
    # and halve the prompt (docs/EVALUATION.md, "How many passages"). 0 keeps all top_k.
    relative_score: float = Field(0.6, ge=0.0, le=1.0)
    # 1: a best passage that stands out is read alone. A passage far below it was a place to
    # copy a wrong fact from (PIAF contains 0.480 -> 0.550, docs/EVALUATION.md round 9).
    min_passages: int = Field(1, ge=1, le=20)
    retrieval: Literal["hybrid", "dense", "bm25"] = "hybrid"
    candidates: int = Field(30, ge=1, description="Per-retriever pool before fusion")
    max_question_chars: int = Field(2000, ge=1)
    # How the model is asked (docs/EVALUATION.md, "The quality push"): "cited" answers with a
    # marker after every claim; "quote" copies the answering sentence first, then answers.
    prompt_style: Literal["cited", "quote"] = "cited"
    # One demonstrated turn (a French cited answer): the English list turn cost French
    # answers and abstentions, the French abstention turn gained nothing for 96 prompt tokens,
    # and none at all cost answers and citations (docs/EVALUATION.md, rounds 1 and 3)
    prompt_examples: int = Field(1, ge=0, le=3, description="Demonstrated turns in the prompt")
    # What the demonstrated answers look like: a sentence around the answering words
    # ("sentences"), or those words alone ("short", asked to answer briefly)
    prompt_answers: Literal["sentences", "short"] = "sentences"
    # What it reads of each passage: its best sentence and `context_window` sentences either
    # side ("sentences", rag.focus), or all of it ("passages"). Sentences won on PIAF: answers
    # +0.04, cites gold +0.04, false abstentions -0.05, first token -1.8 s, for 2 of 30
    # unanswerable questions (docs/EVALUATION.md, "The quality push").
    context: Literal["passages", "sentences"] = "sentences"
    context_window: int = Field(1, ge=0, le=10)
    # The window of every passage after the best-ranked one (None: `context_window` for all)
    context_window_rest: int | None = Field(None, ge=0, le=10)
    # Grammar-constrained decoding (rag.grammar, llama-cpp only): "cited" forces every part
    # of the draft to end with a marker of a passage that exists. Off: see docs/EVALUATION.md.
    grammar: Literal["off", "cited"] = "off"
    # Abstain without generating when the passages' closest sentence to the question (e5
    # cosine, read at retrieval) is below this; 0 never (rag bench relevance_gate)
    min_relevance: float = Field(0.0, ge=0.0, le=1.0)
    # The same for an English question over an English passage (a cross-lingual similarity
    # runs ~0.05 lower, so a French passage is judged by `min_relevance`). 0.817 is
    # multilingual-e5-small's: on XQuAD it declines 0.967 of the unanswerable questions for
    # no answerable one (docs/EVALUATION.md, round 4); another embedder needs its own.
    min_relevance_en: float = Field(0.817, ge=0.0, le=1.0)
    # Demonstrated turns: French for every question ("fr"), or in the question's language
    # ("question": English turns over English sources for English questions)
    prompt_demos: Literal["fr", "question"] = "fr"
    # Questions in these languages read the best passage last, next to the question (numbered
    # as shown); others read it first. "fr" gave 0.08 more PIAF answers holding the reference,
    # but an instruction planted in an article next to the question was then obeyed, and the
    # seed's first objective was lost (tests/test_integration.py): none by default
    # (docs/EVALUATION.md, round 6). Not English either: it cost gold citations on XQuAD.
    prompt_best_last: str = Field(
        "", description="Comma-separated languages whose questions read the best passage last"
    )

    # Verification of the model's draft (rag.verify), read as one group: `Settings.verify`
    verify_min_support: float = Field(_VERIFY.min_support, ge=0.0, le=1.0)
    verify_lexical_minimum: float = Field(_VERIFY.lexical_minimum, ge=0.0, le=1.0)
    verify_lexical_margin: float = Field(_VERIFY.lexical_margin, ge=0.0, le=1.0)
    verify_crosslingual_margin: float = Field(_VERIFY.crosslingual_margin, ge=0.0, le=2.0)
    verify_crosslingual_cite_minimum: float = Field(
        _VERIFY.crosslingual_cite_minimum, ge=-1.0, le=1.0
    )
    verify_crosslingual_cite_minimum_short: float = Field(
        _VERIFY.crosslingual_cite_minimum_short, ge=-1.0, le=1.0
    )
    verify_quote_found: float = Field(_VERIFY.quote_found, ge=0.0, le=1.0)
    verify_quote_min_similarity: float = Field(_VERIFY.quote_min_similarity, ge=0.0, le=1.0)
    verify_rules_off: str = Field("", description="Comma-separated rule names to switch off")
    verify_names_languages: str = Field(
        ",".join(sorted(_VERIFY.names_languages)),
        description="Comma-separated languages whose questions' names a cited passage must name",
    )

    # Serving
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    log_level: Literal["debug", "info", "warning", "error", "critical"] = "warning"
    queue_size: int = Field(4, ge=0, description="Generations waiting beyond the running ones")
    # Generations one process runs at once: 1 for the embedded llama.cpp model (one context);
    # more with a remote OpenAI-compatible server, which queues requests itself.
    generation_slots: int = Field(1, ge=1, le=64)
    workers: int = Field(1, ge=1, le=64, description="API worker processes (rag serve)")

    # Access control and limits
    # Comma-separated keys, or the path of a file with one key per line (# comments).
    api_keys: str = Field("", repr=False)
    auth_reads: bool = Field(False, description="Also require a key to ask, chat and read")
    allow_anonymous: bool = Field(
        False, description="Serve on a non-loopback address without API keys"
    )
    max_upload_mb: float = Field(10.0, gt=0, description="Largest accepted upload body")
    inline_upload_kb: int = Field(
        256, ge=0, description="Uploads up to this size are ingested before the response"
    )

    @field_validator("verify_rules_off")
    @classmethod
    def _known_rules(cls, value: str) -> str:
        from rag.verify.rules import RULE_NAMES

        unknown = sorted(set(_names(value)) - set(RULE_NAMES))
        if unknown:
            raise ValueError(
                f"unknown rule(s) {', '.join(unknown)}; the rules are {', '.join(RULE_NAMES)}"
            )
        return value

    @field_validator("prompt_best_last", "verify_names_languages")
    @classmethod
    def _known_languages(cls, value: str) -> str:
        unknown = sorted(set(_names(value)) - {"fr", "en"})
        if unknown:
            raise ValueError(f"unknown language(s) {', '.join(unknown)}; known: en, fr")
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _check(self) -> Settings:
        self.data_dir = self.data_dir.expanduser().resolve()
        self.models_dir = self.models_dir.expanduser().resolve()
        if self.chunk_overlap >= self.chunk_size:
            raise ValueError(
                f"RAG_CHUNK_OVERLAP ({self.chunk_overlap}) must be smaller than "
                f"RAG_CHUNK_SIZE ({self.chunk_size})"
            )
        if self.min_passages > self.top_k:
            raise ValueError(
                f"RAG_MIN_PASSAGES ({self.min_passages}) cannot exceed RAG_TOP_K ({self.top_k})"
            )
        if self.generation_slots > 1 and self.llm == "llama-cpp":
            raise ValueError(
                "RAG_GENERATION_SLOTS > 1 needs RAG_LLM=openai-like: one llama.cpp context "
                "runs one generation at a time"
            )
        self.api_key_list()  # a missing key file or a short key fails at start-up
        return self

    @property
    def verify(self) -> VerifySettings:
        return VerifySettings(
            min_support=self.verify_min_support,
            lexical_minimum=self.verify_lexical_minimum,
            lexical_margin=self.verify_lexical_margin,
            crosslingual_margin=self.verify_crosslingual_margin,
            crosslingual_cite_minimum=self.verify_crosslingual_cite_minimum,
            crosslingual_cite_minimum_short=self.verify_crosslingual_cite_minimum_short,
            quote_found=self.verify_quote_found,
            quote_min_similarity=self.verify_quote_min_similarity,
            rules_off=frozenset(_names(self.verify_rules_off)),
            names_languages=frozenset(_names(self.verify_names_languages)),
        )

    @property
    def best_last_languages(self) -> frozenset[str]:
        return frozenset(_names(self.prompt_best_last))

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

    @property
    def index_path(self) -> Path:
        """SQLite file beside the store: keyword index and ingestion jobs."""
        return self.data_dir / "index.sqlite3"

    @property
    def embed_model_path(self) -> Path:
        return self.models_dir / self.embed_model

    @property
    def llm_model_path(self) -> Path:
        return self.models_dir / f"{self.llm_model}.gguf"


def _names(value: str) -> list[str]:
    return [n.strip() for n in value.split(",") if n.strip()]


def describe_settings_error(err: ValidationError) -> str:
    """One line per invalid setting, named by its environment variable."""
    lines = []
    for e in err.errors():
        name = "RAG_" + "_".join(str(p) for p in e["loc"]).upper() if e["loc"] else ""
        value = e.get("input")
        shown = f"={value}" if name and not isinstance(value, dict) else ""
        msg = e["msg"].removeprefix("Value error, ")
        lines.append(f"{name}{shown}: {msg}" if name else msg)
    return "invalid settings: " + "; ".join(lines)


@lru_cache
def get_settings() -> Settings:
    return Settings()
