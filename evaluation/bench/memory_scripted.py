"""RSS of the service without llama.cpp (a scripted model) over many distinct soak questions.

Real embedder and Chroma, a scripted model that copies a sentence of the first source. Tells
whether a server's memory growth comes from the model or from the rest (retrieval,
verification, highlights); with `--trace`, the Python allocations that grew (tracemalloc).

    RAG_DATA_DIR=/tmp/soak-data rag bench memory_scripted 900
    RAG_DATA_DIR=/tmp/soak-data rag bench memory_scripted 400 --trace

(the data dir: `rag bench soak --write-corpus DIR`, then `rag ingest DIR`).
"""

from __future__ import annotations

import argparse
import re
import sys
import time
import tracemalloc

from llama_index.core.llms import ChatMessage

from evaluation.bench._measures import own_rss_mb
from evaluation.bench._workloads import soak_questions
from rag.components import make_service
from rag.llm import ScriptedLLM
from rag.memory import release_free_memory, tune_malloc
from rag.settings import Settings


def copy_first_sentence(messages: list[ChatMessage]) -> str:
    """The first sentence of source [1], cited; or the no-answer sentence."""
    last = messages[-1].content
    m = re.search(r"\[1\] [^\n]*\n([^\n]+)", last)
    if not m:
        return "The sources do not say."
    first = re.split(r"(?<=[.!?])\s", m.group(1).lstrip("… "))[0]
    return first.rstrip(".") + " [1]."


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="rag bench memory_scripted",
        description=__doc__,
        formatter_class=argparse.RawTextHelpFormatter,
    )
    ap.add_argument("questions", type=int, help="distinct soak questions to ask")
    ap.add_argument("--trace", action="store_true", help="print the allocations that grew")
    args = ap.parse_args(argv)

    tune_malloc()
    svc = make_service(Settings(), llm=ScriptedLLM(copy_first_sentence))
    qs = soak_questions(args.questions)
    svc.ask("warm-up question")
    if args.trace:
        tracemalloc.start(10)
        snap0 = tracemalloc.take_snapshot()
    t0 = time.time()
    print("start", own_rss_mb(), flush=True)
    for i, q in enumerate(qs, 1):
        svc.ask(q)
        release_free_memory()
        if i % 100 == 0:
            print(i, own_rss_mb(), f"{time.time() - t0:.0f}s", flush=True)
    if args.trace:
        snap = tracemalloc.take_snapshot()
        for st in snap.compare_to(snap0, "traceback")[:8]:
            print(st)
            for line in st.traceback.format()[-6:]:
                print("   ", line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
