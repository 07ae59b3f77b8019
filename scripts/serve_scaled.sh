#!/usr/bin/env bash
# Scale-out on existing engines: a Chroma server (vectors, document records, change log), an
# OpenAI-compatible LLM server on the same GGUF (llama-cpp-python's own llama_cpp.server; vLLM
# or any other in production), and N API workers sharing both, plus the SQLite passage index
# and job queue in RAG_DATA_DIR. Ctrl-C stops all three.
#
#   WORKERS=3 scripts/serve_scaled.sh [rag serve options, e.g. --ingest seeds/]
#
# Ports: RAG_PORT (8000, the API), RAG_CHROMA_PORT (8001), LLM_PORT (8080).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
WORKERS=${WORKERS:-2}
export RAG_DATA_DIR=${RAG_DATA_DIR:-$PWD/data/scaled}
export RAG_CHROMA_PORT=${RAG_CHROMA_PORT:-8001}
LLM_PORT=${LLM_PORT:-8080}
LLM_THREADS=${LLM_THREADS:-$(nproc)}
MODEL=$($PY -c 'from rag.settings import get_settings; print(get_settings().models.llm_model_path)')
mkdir -p "$RAG_DATA_DIR"

pids=()
stop() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap stop EXIT INT TERM

wait_for() {  # url, what, pid
  for _ in $(seq 1 600); do
    curl -sf "$1" >/dev/null 2>&1 && return 0
    kill -0 "$3" 2>/dev/null || { echo "error: $2 exited; see its log in $RAG_DATA_DIR" >&2; exit 1; }
    sleep 0.2
  done
  echo "error: $2 did not start" >&2; exit 1
}

echo "==> Chroma server on 127.0.0.1:$RAG_CHROMA_PORT ($RAG_DATA_DIR/chroma-server)"
.venv/bin/chroma run --path "$RAG_DATA_DIR/chroma-server" --host 127.0.0.1 \
  --port "$RAG_CHROMA_PORT" >"$RAG_DATA_DIR/chroma.log" 2>&1 &
pids+=($!)
wait_for "http://127.0.0.1:$RAG_CHROMA_PORT/api/v2/heartbeat" "chroma run" "${pids[-1]}"

echo "==> LLM server on 127.0.0.1:$LLM_PORT ($(basename "$MODEL"), $LLM_THREADS threads)"
# logits_all=false: the server's default keeps n_ctx x vocabulary floats (GBs) it never reads
$PY -m llama_cpp.server --model "$MODEL" --model_alias local --host 127.0.0.1 --port "$LLM_PORT" \
  --n_ctx 4096 --n_threads "$LLM_THREADS" --n_threads_batch "$LLM_THREADS" \
  --logits_all false >"$RAG_DATA_DIR/llm.log" 2>&1 &
pids+=($!)
wait_for "http://127.0.0.1:$LLM_PORT/v1/models" "llama_cpp.server" "${pids[-1]}"

echo "==> $WORKERS API workers"
export RAG_VECTOR_STORE=chroma-http RAG_LLM=openai-like RAG_OPENAI_MODEL=local
export RAG_OPENAI_BASE_URL="http://127.0.0.1:$LLM_PORT/v1"
# the LLM server queues requests itself: let each worker hand it a few at once
export RAG_GENERATION_SLOTS=${RAG_GENERATION_SLOTS:-2}
.venv/bin/rag serve --workers "$WORKERS" "$@" &
pids+=($!)
wait "${pids[-1]}"
