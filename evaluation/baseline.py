"""The default LlamaIndex pipeline a user would write from its documentation, for comparison.

`SentenceSplitter()` defaults, `VectorStoreIndex` over Chroma, `CitationQueryEngine.from_args`
defaults, with the same embedding model (and its E5 `query: ` / `passage: ` prefixes, which is
only fair) and the same LLM instance as our service. One llama-index `Document` per paragraph.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    ChatResponseGen,
    CompletionResponse,
    CompletionResponseGen,
    LLMMetadata,
)
from llama_index.core.llms import LLM, CustomLLM
from pydantic import PrivateAttr

from evaluation.datasets import Paragraph
from evaluation.metrics import CitedPassage, looks_like_abstention
from rag.llm import common_prefix


class CountingLLM(CustomLLM):
    """Delegates to another LLM and records, per call, the prompt's tokens and how many of them
    the model really had to read: for llama.cpp in process, those after the state it starts
    from (rag.llm.LlamaCppChat.tokens_to_read); otherwise those after the prefix shared with
    the previous prompt (a server keeps it in its KV cache)."""

    _inner: Any = PrivateAttr()
    _calls: list[tuple[int, int]] = PrivateAttr(default_factory=list)
    _last: list[int] = PrivateAttr(default_factory=list)

    def __init__(self, inner: LLM, **data: Any) -> None:
        super().__init__(**data)
        self._inner = inner

    @property
    def metadata(self) -> LLMMetadata:
        return self._inner.metadata

    def count_tokens(self, messages: Sequence[ChatMessage]) -> int | None:
        counter = getattr(self._inner, "count_tokens", None)
        return counter(messages) if counter else None

    def take_prompt_tokens(self) -> tuple[int | None, int | None]:
        """(prompt tokens, prompt tokens read) summed over the calls since the last take."""
        calls, self._calls = self._calls, []
        if not calls:
            return None, None
        return sum(c[0] for c in calls), sum(c[1] for c in calls)

    def _count(self, messages: Sequence[ChatMessage]) -> None:
        prompt_ids = getattr(self._inner, "prompt_ids", None)  # llama.cpp's own tokens
        if prompt_ids is None:
            n = self.count_tokens(messages)
            if n is not None:
                self._calls.append((n, n))
            return
        ids = prompt_ids(messages)
        to_read = getattr(self._inner, "tokens_to_read", None)
        if to_read is not None:  # llama.cpp in process: what its kept states leave to read
            self._calls.append((len(ids), to_read(messages)))
            return
        shared = common_prefix(ids, self._last)
        self._last = list(ids)
        self._calls.append((len(ids), len(ids) - shared))

    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        self._count(messages)
        return self._inner.chat(messages, **kwargs)

    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        self._count(messages)
        return self._inner.stream_chat(messages, **kwargs)

    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        self._count([ChatMessage(content=prompt)])
        return self._inner.complete(prompt, formatted=formatted, **kwargs)

    def stream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseGen:
        self._count([ChatMessage(content=prompt)])
        return self._inner.stream_complete(prompt, formatted=formatted, **kwargs)


def make_embed_model(model_dir: Path):
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    return HuggingFaceEmbedding(
        model_name=str(model_dir),
        query_instruction="query: ",
        text_instruction="passage: ",
        device="cpu",
        local_files_only=True,
    )


class DefaultLlamaIndexPipeline:
    """What the LlamaIndex starter and citation guides show, on our data and models."""

    name = "default LlamaIndex"

    def __init__(
        self,
        paragraphs: Sequence[Paragraph],
        chroma_path: Path,
        collection: str,
        embed_model,
        llm: LLM | None,
        progress: bool = True,
    ) -> None:
        import chromadb
        from chromadb.config import Settings as ChromaSettings
        from llama_index.core import Document, Settings, StorageContext, VectorStoreIndex
        from llama_index.core.node_parser import SentenceSplitter
        from llama_index.vector_stores.chroma import ChromaVectorStore

        self.llm = CountingLLM(llm) if llm is not None else None
        Settings.embed_model = embed_model
        if self.llm is not None:
            Settings.llm = self.llm
        documents = [
            Document(text=p.text, id_=p.id, metadata={"title": p.title}) for p in paragraphs
        ]
        n_nodes = len(SentenceSplitter().get_nodes_from_documents(documents))
        chroma_path.mkdir(parents=True, exist_ok=True)
        client = chromadb.PersistentClient(
            path=str(chroma_path), settings=ChromaSettings(anonymized_telemetry=False)
        )
        chroma_collection = client.get_or_create_collection(collection)
        if chroma_collection.count() not in (0, n_nodes):  # a partial or older build
            client.delete_collection(collection)
            chroma_collection = client.get_or_create_collection(collection)
        vector_store = ChromaVectorStore(chroma_collection=chroma_collection)
        if chroma_collection.count() == n_nodes:
            self.index = VectorStoreIndex.from_vector_store(vector_store, embed_model=embed_model)
        else:
            storage_context = StorageContext.from_defaults(vector_store=vector_store)
            self.index = VectorStoreIndex.from_documents(
                documents,
                storage_context=storage_context,
                embed_model=embed_model,
                show_progress=progress,
            )
        self._engine = None

    @property
    def engine(self):
        if self._engine is None:
            from llama_index.core.query_engine import CitationQueryEngine

            self._engine = CitationQueryEngine.from_args(self.index, llm=self.llm)
        return self._engine

    def retrieve(self, question: str, k: int) -> tuple[list[str], float]:
        t0 = time.perf_counter()
        nodes = self.index.as_retriever(similarity_top_k=k).retrieve(question)
        ms = (time.perf_counter() - t0) * 1000
        return [n.node.ref_doc_id or "" for n in nodes], ms

    def answer(self, question: str) -> dict:
        t0 = time.perf_counter()
        response = self.engine.query(question)
        total_ms = (time.perf_counter() - t0) * 1000
        text = str(response.response or "")
        sources = response.source_nodes
        from evaluation.metrics import markers

        cited_numbers = sorted({n for n in markers(text) if 1 <= n <= len(sources)})
        return {
            "answer": text,
            "cited": [
                CitedPassage(
                    sources[n - 1].node.ref_doc_id or "", sources[n - 1].node.get_content()
                )
                for n in cited_numbers
            ],
            "n_sources": len(sources),
            "abstained": looks_like_abstention(text),
            "passages": [s.node.ref_doc_id or "" for s in sources],
            "total_ms": total_ms,
            "retrieval_ms": None,
            **dict(
                zip(
                    ("prompt_tokens", "prompt_tokens_read"),
                    self.llm.take_prompt_tokens() if self.llm else (None, None),
                    strict=True,
                )
            ),
        }
