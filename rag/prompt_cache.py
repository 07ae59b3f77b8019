"""llama.cpp prompt states kept so that an answer depends on its prompt alone (imports
llama-cpp-python only through the states it is given)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Any


def state_nbytes(state: Any) -> int:
    """Everything a saved llama.cpp state holds: the KV blob, the token ids and the logits."""
    return int(state.llama_state_size) + state.scores.nbytes + state.input_ids.nbytes


class PromptStates:
    """Saved llama.cpp states keyed by the exact tokens they hold, least recently used out
    first, bounded by every byte a state holds.

    llama-cpp-python's own `LlamaRAMCache` is not used: it restores the longest cached prefix
    of a prompt, which depends on the requests before it, and llama.cpp's logits depend on
    how a prompt was cut into batches, so greedy near-ties flipped with the history (the
    seed's four objectives listed three after other questions, four when asked alone). It
    also counted only the KV blob of each state, not its ~300 MB logits copy (16 GB servers)."""

    def __init__(self, capacity_bytes: int) -> None:
        self.capacity_bytes = capacity_bytes
        self._states: OrderedDict[tuple[int, ...], Any] = OrderedDict()

    @property
    def nbytes(self) -> int:
        return sum(state_nbytes(s) for s in self._states.values())

    def __len__(self) -> int:
        return len(self._states)

    def __contains__(self, tokens: Sequence[int]) -> bool:
        return tuple(tokens) in self._states

    def get(self, tokens: Sequence[int]) -> Any | None:
        key = tuple(tokens)
        state = self._states.get(key)
        if state is not None:
            self._states.move_to_end(key)
        return state

    def put(self, tokens: Sequence[int], state: Any) -> None:
        # With logits_all=False only the last row of the logits is ever read, and
        # `Llama.load_state` broadcasts it back over the restored tokens.
        if state.scores.shape[0] > 1:
            state.scores = state.scores[-1:].copy()
        self._states[tuple(tokens)] = state
        self._states.move_to_end(tuple(tokens))
        while len(self._states) > 1 and self.nbytes > self.capacity_bytes:
            self._states.popitem(last=False)
