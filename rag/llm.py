"""Generative models behind llama-index's LLM interface, chosen by `RAG_LLM`.

- `llama-cpp`: the embedded GGUF model through llama-cpp-python (default, offline);
- `openai-like`: any OpenAI-compatible server (llama.cpp server, vLLM, Ollama...);
- `scripted`: a deterministic stand-in for tests.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from functools import lru_cache
from typing import Any

import numpy as np
from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    ChatResponseGen,
    CompletionResponse,
    CompletionResponseGen,
    LLMMetadata,
    MessageRole,
)
from llama_index.core.llms import LLM, CustomLLM
from pydantic import Field, PrivateAttr


def to_chat_messages(messages: Sequence[dict]) -> list[ChatMessage]:
    return [ChatMessage(role=MessageRole(m["role"]), content=m["content"]) for m in messages]


class DeltaChatLLM(CustomLLM):
    """llama-index's LLM interface on top of one method, `_deltas`: the text pieces of a chat
    answer, as generated. Closing the iterator must stop the generation."""

    def _deltas(self, messages: Sequence[ChatMessage], **kwargs: Any) -> Iterator[str]:
        raise NotImplementedError

    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        def gen() -> ChatResponseGen:
            text = ""
            deltas = self._deltas(messages, **kwargs)
            try:
                for delta in deltas:
                    text += delta
                    yield ChatResponse(
                        message=ChatMessage(role=MessageRole.ASSISTANT, content=text),
                        delta=delta,
                    )
            finally:
                deltas.close()  # type: ignore[attr-defined]

        return gen()

    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        text = "".join(self._deltas(messages, **kwargs))
        return ChatResponse(message=ChatMessage(role=MessageRole.ASSISTANT, content=text))

    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        return CompletionResponse(text=self.chat([ChatMessage(content=prompt)]).message.content)

    def stream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseGen:
        def gen() -> CompletionResponseGen:
            for response in self.stream_chat([ChatMessage(content=prompt)], **kwargs):
                yield CompletionResponse(text=response.message.content or "", delta=response.delta)

        return gen()


class LlamaCppChat(DeltaChatLLM):
    """llama-cpp-python with the chat template stored in the GGUF file."""

    model_path: str
    context_window: int = 4096
    max_new_tokens: int = 320
    temperature: float = 0.0
    n_threads: int = 2
    prompt_cache: bool = True
    prompt_cache_mb: int = 256
    _llama: Any = PrivateAttr(default=None)
    _formatter: Any = PrivateAttr(default=None)
    _states: Any = PrivateAttr(default=None)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    def __init__(self, **data: Any) -> None:
        super().__init__(**data)
        from llama_cpp import Llama

        from rag.prompt_cache import PromptStates

        self._llama = Llama(
            model_path=self.model_path,
            n_ctx=self.context_window,
            n_threads=self.n_threads,
            n_threads_batch=self.n_threads,
            n_batch=512,
            verbose=False,
        )
        # Prompts share long prefixes (instructions, demonstrated turns): their KV states are
        # kept so that they are not read again (`_start`).
        self._states = PromptStates(capacity_bytes=self.prompt_cache_mb << 20)
        # The Python-side logits buffer (n_batch x vocabulary floats: 300 MB for Qwen2.5) is
        # never read with logits_all=False (sampling happens inside llama.cpp), yet restoring
        # a cached state writes all of it. One row is all `load_state` and `save_state` need.
        self._llama.scores = np.zeros((1, self._llama.n_vocab()), dtype=np.single)
        self._formatter = _gguf_chat_formatter(self._llama)

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(
            context_window=self.context_window,
            num_output=self.max_new_tokens,
            is_chat_model=True,
            model_name=self.model_path.rsplit("/", 1)[-1],
        )

    def prompt_ids(self, messages: Sequence[ChatMessage]) -> list[int]:
        """The tokens llama.cpp reads for `messages`: the GGUF's own chat template, applied as
        create_chat_completion applies it."""
        prompt = self._formatter(
            messages=[{"role": m.role.value, "content": m.content} for m in messages]
        ).prompt
        return self._llama.tokenize(prompt.encode(), add_bos=False, special=True)

    def count_tokens(self, messages: Sequence[ChatMessage]) -> int:
        return len(self.prompt_ids(messages))

    def _deltas(self, messages: Sequence[ChatMessage], **kwargs: Any) -> Iterator[str]:
        # One generation at a time per model: llama.cpp contexts are not thread-safe.
        with self._lock:
            if self.prompt_cache:
                self._start(messages)
            else:
                self._llama.reset()  # read the whole prompt again: cold-start benchmarks
            chunks = self._llama.create_chat_completion(
                messages=[{"role": m.role.value, "content": m.content} for m in messages],
                temperature=kwargs.get("temperature", self.temperature),
                max_tokens=kwargs.get("max_tokens", self.max_new_tokens),
                repeat_penalty=1.1,
                grammar=_grammar(kwargs.get("grammar")),
                stream=True,
            )
            try:
                for chunk in chunks:
                    delta = chunk["choices"][0].get("delta", {}).get("content")
                    if delta:
                        yield delta
            finally:
                chunks.close()  # stops generation when the consumer goes away

    def tokens_to_read(self, messages: Sequence[ChatMessage]) -> int:
        """How many of the prompt's tokens llama.cpp will evaluate for `messages`: those after
        the longest kept state `_start` starts from (every token without the prompt cache)."""
        ids, fixed = self._parts(messages)
        if not self.prompt_cache:
            return len(ids)
        if ids[:-1] in self._states:
            return 1
        return len(ids) - fixed if fixed and ids[:fixed] in self._states else len(ids)

    def _parts(self, messages: Sequence[ChatMessage]) -> tuple[list[int], int]:
        """The prompt's tokens, and how many of them are its fixed part (every message but
        the last: instructions and demonstrated turns), at most all but the last token."""
        ids = self.prompt_ids(messages)
        if len(messages) < 2:
            return ids, 0
        return ids, min(common_prefix(ids, self.prompt_ids(messages[:-1])), len(ids) - 1)

    def _start(self, messages: Sequence[ChatMessage]) -> None:
        """Bring the context to the prompt of `messages` but its last token, computed the same
        way whatever was asked before: the fixed part from an empty context, then the rest;
        both states are kept. Generation then reads the last token and samples. Reusing
        whatever prefix the previous request left made answers depend on it."""
        ids, fixed = self._parts(messages)
        head = tuple(ids[:-1])
        state = self._states.get(head)
        if state is not None:
            self._llama.load_state(state)
            return
        start = self._states.get(head[:fixed]) if fixed else None
        if start is not None:
            self._llama.load_state(start)
        else:
            self._llama.reset()
            if fixed:
                self._llama.eval(head[:fixed])
                self._states.put(head[:fixed], self._llama.save_state())
        self._llama.eval(head[fixed:])
        self._states.put(head, self._llama.save_state())


def common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    """How many leading tokens `a` and `b` share."""
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


@lru_cache(maxsize=16)
def _grammar(gbnf: str | None) -> Any:
    """A GBNF text compiled for llama.cpp (rag.grammar), kept: prompts differ only in how
    many passages they hold."""
    if not gbnf:
        return None
    from llama_cpp import LlamaGrammar

    return LlamaGrammar.from_string(gbnf, verbose=False)


def _gguf_chat_formatter(llama: Any) -> Any:
    """The chat template the GGUF file carries, as llama-cpp-python builds it when no chat
    format is given (Llama.__init__)."""
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    def text(token: int) -> str:
        return llama._model.token_get_text(token) if token != -1 else ""

    return Jinja2ChatFormatter(
        template=llama.metadata["tokenizer.chat_template"],
        eos_token=text(llama.token_eos()),
        bos_token=text(llama.token_bos()),
    )


Script = Callable[[Sequence[ChatMessage]], str]


class ScriptedLLM(DeltaChatLLM):
    """Deterministic stand-in: answers with `script(messages)`, streamed a few characters at a
    time so that marker filtering is exercised across piece boundaries."""

    piece_size: int = 3
    delay: float = 0.0  # seconds per piece, to simulate a slow model
    pieces_emitted: int = 0
    calls: list[list[ChatMessage]] = Field(default_factory=list)  # the last `keep_calls`
    keep_calls: int = 64  # a scripted server soaked for hours must not grow with every call
    _script: Script = PrivateAttr()

    def __init__(self, script: Script | None = None, **data: Any) -> None:
        super().__init__(**data)
        self._script = script or (lambda messages: "The sources do not say.")

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(
            context_window=4096, num_output=256, is_chat_model=True, model_name="scripted"
        )

    def count_tokens(self, messages: Sequence[ChatMessage]) -> int:
        return sum(len(m.content.split()) for m in messages)

    def _deltas(self, messages: Sequence[ChatMessage], **kwargs: Any) -> Iterator[str]:
        self.calls.append(list(messages))
        del self.calls[: -self.keep_calls]
        text = self._script(messages)
        for i in range(0, len(text), self.piece_size):
            if self.delay:
                time.sleep(self.delay)
            self.pieces_emitted += 1
            yield text[i : i + self.piece_size]


def count_prompt_tokens(llm: LLM, messages: Sequence[ChatMessage]) -> int | None:
    counter = getattr(llm, "count_tokens", None)
    return counter(messages) if counter else None
