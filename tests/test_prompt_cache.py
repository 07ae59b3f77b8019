"""The llama.cpp prompt cache counts every byte a saved state holds (issue: 16 GB servers)."""

from __future__ import annotations

import numpy as np
import pytest

llama_cpp = pytest.importorskip("llama_cpp", reason="llama-cpp-python is built by setup.sh")

from rag.prompt_cache import BoundedPromptCache, state_nbytes  # noqa: E402

VOCAB = 151_936  # Qwen2.5
MB = 1 << 20


def saved_state(n_tokens: int, kv_bytes: int, batch_rows: int = 512):
    """A state as `Llama.save_state` builds it with logits_all=False: the KV blob, every
    context token id, and a copy of the (n_batch x vocabulary) logits buffer."""
    return llama_cpp.llama.LlamaState(
        input_ids=np.zeros(4096, dtype=np.intc),
        scores=np.zeros((min(n_tokens, batch_rows), VOCAB), dtype=np.single),
        n_tokens=n_tokens,
        llama_state=b"\0" * kv_bytes,
        llama_state_size=kv_bytes,
        seed=0,
    )


def test_the_library_cache_undercounts_by_the_logits_copy():
    state = saved_state(n_tokens=900, kv_bytes=25 * MB)
    library = llama_cpp.LlamaRAMCache(capacity_bytes=1 << 30)
    library[tuple(range(900))] = state
    assert library.cache_size == 25 * MB  # what the library believes it holds
    assert state_nbytes(state) > 320 * MB  # what it really holds: the logits copy is ~297 MB


def test_size_accounting_includes_everything_a_state_holds():
    cache = BoundedPromptCache(capacity_bytes=1 << 30)
    state = saved_state(n_tokens=900, kv_bytes=25 * MB)
    cache[tuple(range(900))] = state
    kept = cache.cache_state[tuple(range(900))]
    # one row of logits is kept (load_state broadcasts it back), and it is counted
    assert kept.scores.shape == (1, VOCAB)
    assert cache.cache_size == 25 * MB + VOCAB * 4 + 4096 * 4 == state_nbytes(kept)


def test_capacity_bounds_the_real_size_and_keeps_the_recent_states():
    cache = BoundedPromptCache(capacity_bytes=100 * MB)
    for i in range(10):  # ten 26 MB states into 100 MB: the oldest go
        cache[(1, 2, 3, 100 + i)] = saved_state(n_tokens=900, kv_bytes=25 * MB)
    assert cache.cache_size <= 100 * MB
    assert len(cache.cache_state) == 3
    assert (1, 2, 3, 109) in cache.cache_state and (1, 2, 3, 100) not in cache.cache_state
    # a new prompt sharing only the fixed prefix still finds a state to start from
    assert (1, 2, 3, 555) in cache


def test_a_restored_state_broadcasts_the_kept_logits_row():
    state = saved_state(n_tokens=600, kv_bytes=MB)
    state.scores[-1, 7] = 3.5
    cache = BoundedPromptCache(capacity_bytes=1 << 30)
    cache[(1,)] = state
    scores = np.zeros((512, VOCAB), dtype=np.single)
    scores[:600, :] = cache[(1,)].scores.copy()  # what Llama.load_state does
    assert scores[0, 7] == scores[511, 7] == 3.5


@pytest.mark.integration
def test_prompt_tokens_are_counted_with_the_template_the_gguf_carries():
    """Counted prompt tokens (timings, `rag eval`) are the tokens llama.cpp reads."""
    from rag.components import make_llm
    from rag.llm import to_chat_messages
    from rag.prompting import build_messages
    from rag.settings import Settings

    settings = Settings(llm="llama-cpp", llm_prompt_cache=False)
    if not settings.models.llm_model_path.exists():
        pytest.skip(f"no model at {settings.models.llm_model_path}: run scripts/setup.sh")
    llm = make_llm(settings.models)
    messages = to_chat_messages(build_messages("Quand ouvrira la ligne ?", [], "fr"))
    read = llm._llama.create_chat_completion(
        messages=[{"role": m.role.value, "content": m.content} for m in messages], max_tokens=1
    )["usage"]["prompt_tokens"]
    # the whole prompt, not a fragment: one demonstrated turn and the instructions (231 tokens;
    # > 300 held while build_messages defaulted to three demonstrated turns, which the
    # service never used: RAG_PROMPT_EXAMPLES was 1)
    assert llm.count_tokens(messages) == read > 200
