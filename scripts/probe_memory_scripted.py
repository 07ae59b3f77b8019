"""RSS of the service without llama.cpp: real embedder and Chroma, a scripted model that
copies a sentence of the first source, over many distinct soak questions. Tells whether a
server's memory growth comes from the model or from the rest (retrieval, verification,
highlights); with a second argument, the Python allocations that grew (tracemalloc).

    RAG_DATA_DIR=/tmp/soak-data .venv/bin/python scripts/probe_memory_scripted.py 900
    RAG_DATA_DIR=/tmp/soak-data .venv/bin/python scripts/probe_memory_scripted.py 400 trace

(the data dir: `scripts/bench_soak.py --write-corpus` then `rag ingest`)."""

import re
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_soak import questions

from rag.components import make_service
from rag.llm import ScriptedLLM
from rag.memory import release_free_memory, tune_malloc
from rag.settings import Settings


def script(messages):
    last = messages[-1].content
    m = re.search(r"\[1\] [^\n]*\n([^\n]+)", last)
    if not m:
        return "The sources do not say."
    first = re.split(r"(?<=[.!?])\s", m.group(1).lstrip("… "))[0]
    return first.rstrip(".") + " [1]."


def rss():
    return int(open("/proc/self/statm").read().split()[1]) * 4096 >> 20


tune_malloc()
llm = ScriptedLLM(script)
svc = make_service(Settings(), llm=llm)
qs = questions(int(sys.argv[1]))
TRACE = len(sys.argv) > 2
svc.ask("warm-up question")
if TRACE:
    tracemalloc.start(10)
    snap0 = tracemalloc.take_snapshot()
t0 = time.time()
print("start", rss(), flush=True)
for i, q in enumerate(qs, 1):
    svc.ask(q)
    release_free_memory()
    if i % 100 == 0:
        print(i, rss(), f"{time.time() - t0:.0f}s", flush=True)
if TRACE:
    snap = tracemalloc.take_snapshot()
    for st in snap.compare_to(snap0, "traceback")[:8]:
        print(st)
        for line in st.traceback.format()[-6:]:
            print("   ", line)
