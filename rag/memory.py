"""glibc malloc settings for a long-running server.

Each llama.cpp state the prompt cache saves or drops is a ~30 MB block. glibc raises its mmap
threshold after the first such block is freed (up to 32 MB), so later ones land in the heap
and per-thread arenas (64 MB each, one per thread that ever allocated) and are never handed
back: resident memory creeps up with every distinct question. A fixed threshold keeps large
blocks in their own mappings (returned on free), few arenas bound the rest, and a trim after
each answer hands back what the heap has free.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger(__name__)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD, _M_ARENA_MAX = -1, -3, -8


def _libc():
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None
    except OSError:
        return None


_LIBC = _libc()


def tune_malloc(mmap_threshold: int = 1 << 20, arenas: int = 2) -> bool:
    """Call once, early (before models load). False where libc is not glibc."""
    if _LIBC is None:
        return False
    ok = _LIBC.mallopt(_M_MMAP_THRESHOLD, mmap_threshold) == 1
    ok &= _LIBC.mallopt(_M_ARENA_MAX, arenas) == 1
    ok &= _LIBC.mallopt(_M_TRIM_THRESHOLD, 64 << 20) == 1
    if not ok:
        log.warning("could not tune malloc")
    return ok


def release_free_memory() -> None:
    """Give the heap's free pages back to the system (cheap: a few ms)."""
    if _LIBC is not None:
        _LIBC.malloc_trim(0)
