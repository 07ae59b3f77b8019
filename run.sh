#!/usr/bin/env bash
# Set everything up (idempotent), ingest seeds/, then serve the API and chat page on 127.0.0.1:8000.
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/setup.sh
exec .venv/bin/rag serve --ingest seeds/ "$@"
