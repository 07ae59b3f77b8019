"""Text embedders: multilingual-e5-small through sentence-transformers, and a hashing stand-in.

E5 needs `query: ` / `passage: ` prefixes; the converted model folder declares them as prompts.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Protocol

import numpy as np

from rag.text import TEXT_FORM, normal_form

Progress = Callable[[int], None]

# Texts per forward pass: sentence-transformers sorts each call's texts by length, so 32 pads
# little; larger batches were no faster on 2 cores (MODELS.md: batch 32 measured).
BATCH_SIZE = 32
# Kernels oneDNN keeps for the bf16 embedder, one per input shape. Its own default (1,024,
# ~0.4 MB each) grew a server by ~730 MB over hundreds of questions; 64 holds it flat for
# ~4 ms more a query (rag bench embed_memory, docs/EVALUATION.md round 8).
KERNEL_CACHE = 64


class Embedder(Protocol):
    name: str
    dim: int
    text_form: int  # the normal form texts are read in (rag.text.TEXT_FORM; 0: as given)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_passages(
        self, texts: Sequence[str], progress: Progress | None = None
    ) -> np.ndarray: ...


def _normalise(m: np.ndarray) -> np.ndarray:
    return m / np.maximum(np.linalg.norm(m, axis=-1, keepdims=True), 1e-12)


class Combiner:
    """Runs `fn(texts)` on whatever requests are waiting, one batch at a time: the questions
    that arrive while a batch is being embedded form the next one. No timer, so a lone
    question waits for nothing; 50 concurrent ones share a few forward passes instead of
    queueing for 50 (each with its own threads fighting for two cores)."""

    def __init__(self, fn: Callable[[list[str]], np.ndarray]) -> None:
        self._fn = fn
        self._cond = threading.Condition()
        self._pending: list[dict] = []
        self._busy = False
        self.batches = 0  # forward passes run, for tests and curiosity

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        mine = {"texts": list(texts), "done": False, "out": None, "error": None}
        with self._cond:
            self._pending.append(mine)
            while self._busy and not mine["done"]:
                self._cond.wait()
            if not mine["done"]:  # lead the next batch: everything waiting, ours included
                self._busy = True
                batch, self._pending = self._pending, []
        if not mine["done"]:
            try:
                vectors = self._fn([t for item in batch for t in item["texts"]])
                at = 0
                for item in batch:
                    item["out"] = vectors[at : at + len(item["texts"])]
                    at += len(item["texts"])
            except BaseException as err:  # every caller of the batch sees the failure
                for item in batch:
                    item["error"] = err
            finally:
                with self._cond:
                    for item in batch:
                        item["done"] = True
                    self._busy = False
                    self.batches += 1
                    self._cond.notify_all()
        if mine["error"] is not None:
            raise mine["error"]
        return mine["out"]


def cpu_has_fast_bf16() -> bool:
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


class SentenceTransformerEmbedder:
    def __init__(
        self,
        model_dir: Path,
        name: str,
        dtype: str = "auto",
        batch_size: int = BATCH_SIZE,
        kernel_cache: int | None = KERNEL_CACHE,
        text_form: int = TEXT_FORM,
    ) -> None:
        if not (model_dir / "modules.json").exists():
            raise FileNotFoundError(
                f"Embedding model {name!r} not found in {model_dir}: run scripts/setup.sh first"
            )
        self.name = name
        self.text_form = text_form
        self.batch_size = batch_size
        self._dir = model_dir
        self._dtype = dtype
        self._kernel_cache = kernel_cache
        self._loaded = None
        self._lock = threading.Lock()
        # Every forward pass runs on this one thread: torch's OpenMP keeps a team of helper
        # threads per calling thread, so passes from 40 server workers left 40 idle teams.
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="embed")
        self._queries = Combiner(lambda texts: self._encode(texts, "query", None))
        self.dim = int(json.loads((model_dir / "config.json").read_text())["hidden_size"])

    @property
    def model(self):
        """The SentenceTransformer as the service runs it (evaluation.bench.scale times its
        own encode). Loaded on first use: re-ingesting unchanged files never needs it."""
        with self._lock:
            if self._loaded is None:
                if self._kernel_cache is not None:
                    # read by oneDNN when it first builds a kernel, so before the first pass
                    os.environ["ONEDNN_PRIMITIVE_CACHE_CAPACITY"] = str(self._kernel_cache)
                import torch
                from sentence_transformers import SentenceTransformer

                model = SentenceTransformer(str(self._dir), device="cpu", local_files_only=True)
                # bf16 keeps cosine >= 0.9999 to fp32 and is ~1.5-2.6x faster on bf16 CPUs.
                if self._dtype == "bfloat16" or (self._dtype == "auto" and cpu_has_fast_bf16()):
                    model.to(torch.bfloat16)
                self._loaded = model
            return self._loaded

    def warm_up(self) -> None:
        self.embed_queries(["warm-up"])

    def _on_one_thread(self, fn: Callable, *args, **kwargs):
        return self._thread.submit(fn, *args, **kwargs).result()

    def _encode(self, texts: Sequence[str], prompt: str, progress: Progress | None) -> np.ndarray:
        # Several batches per call: the library sorts each call's texts by length (little
        # padding) and we still report progress as it goes.
        parts = []
        step = self.batch_size * 8
        for start in range(0, len(texts), step):
            part = list(texts[start : start + step])
            parts.append(
                self._on_one_thread(
                    self.model.encode,
                    part,
                    prompt_name=prompt,
                    batch_size=self.batch_size,
                    normalize_embeddings=True,
                    convert_to_numpy=True,
                    show_progress_bar=False,
                ).astype(np.float32)
            )
            if progress:
                progress(len(part))
        return np.concatenate(parts) if parts else np.zeros((0, self.dim), np.float32)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._queries(_in_form(texts, self.text_form))

    def embed_passages(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        return self._encode(_in_form(texts, self.text_form), "passage", progress)


def _in_form(texts: Sequence[str], form: int) -> list[str]:
    return [normal_form(t) for t in texts] if form else list(texts)


_WORD = re.compile(r"\w+", re.UNICODE)


class HashingEmbedder:
    """Deterministic bag-of-words-and-trigrams vectors: fast unit tests, no model files."""

    def __init__(self, dim: int = 384) -> None:
        self.name = "hashing"
        self.dim = dim
        self.text_form = TEXT_FORM

    def _vector(self, text: str) -> list[float]:
        vec = [0.0] * self.dim
        for word in _WORD.findall(text.lower()):
            feats = [word] + [word[i : i + 3] for i in range(max(1, len(word) - 2))]
            for feat in feats:
                h = int.from_bytes(hashlib.blake2b(feat.encode(), digest_size=8).digest(), "big")
                vec[h % self.dim] += 1.0 if (h >> 32) & 1 else -1.0
        norm = math.sqrt(sum(v * v for v in vec)) or 1.0
        return [v / norm for v in vec]

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        vectors = [self._vector(normal_form(t)) for t in texts]
        return np.asarray(vectors, dtype=np.float32).reshape(-1, self.dim)

    def embed_passages(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        vectors = self.embed_queries(texts)
        if progress:
            progress(len(texts))
        return vectors
