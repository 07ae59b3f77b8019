"""llama.cpp's prompt cache with honest size accounting (imports llama-cpp-python)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from llama_cpp import LlamaRAMCache


def state_nbytes(state: Any) -> int:
    """Everything a saved llama.cpp state holds: the KV blob, the token ids and the logits."""
    return int(state.llama_state_size) + state.scores.nbytes + state.input_ids.nbytes


class BoundedPromptCache(LlamaRAMCache):
    """`LlamaRAMCache` that counts every byte of a state and keeps one row of its logits.

    The library counts only the KV blob, while each state also carries a copy of the logits
    buffer: (n_batch x vocabulary) floats, ~300 MB for Qwen2.5, never read with
    `logits_all=False` (sampling happens inside llama.cpp). So its "1 GB" grew the server past
    16 GB. `Llama.load_state` broadcasts the one kept row back over the restored tokens.

    What the cache is for stays: every state begins with the fixed instructions and
    demonstrated turns, so the least recently used states can go without re-reading them."""

    @property
    def cache_size(self) -> int:
        return sum(state_nbytes(s) for s in self.cache_state.values())

    def __setitem__(self, key: Sequence[int], value: Any) -> None:
        if value.scores.shape[0] > 1:
            value.scores = value.scores[-1:].copy()
        super().__setitem__(key, value)
