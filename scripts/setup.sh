#!/usr/bin/env bash
# One-time (and idempotent) setup: virtualenv, Python stack, llama-cpp-python built for this CPU,
# and the offline models with their hashes checked. A second run takes seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
VENV=${RAG_VENV:-$ROOT/.venv}
CACHE=${RAG_CACHE_DIR:-$HOME/.cache/ragkit}
LLAMA_CPP_VERSION=0.3.36
export PIP_DISABLE_PIP_VERSION_CHECK=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1

t_start=$(date +%s)
step() { printf '\n==> %s  (+%ss)\n' "$*" "$(( $(date +%s) - t_start ))"; }

PY=${PYTHON:-python3}
"$PY" -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'

if [ ! -x "$VENV/bin/python" ]; then
  step "Creating virtualenv $VENV"
  "$PY" -m venv "$VENV"
  "$VENV/bin/pip" install -q --upgrade pip
fi
PIP="$VENV/bin/pip"

deps_stamp="$VENV/.deps-$(sha256sum pyproject.toml | cut -c1-16)"
if [ ! -f "$deps_stamp" ]; then
  step "Installing the Python stack (torch 2.13.0 CPU, llama-index, chromadb, sentence-transformers, fastapi)"
  # torch is pinned in pyproject.toml: an unpinned resolve pulls several GB of CUDA wheels.
  "$PIP" install -q -e ".[dev]"
  rm -f "$VENV"/.deps-*
  touch "$deps_stamp"
else
  step "Python stack already installed"
fi

# The models need only the Python stack: fetch, convert and verify them while llama.cpp
# compiles (the compile is most of a fresh setup).
step "Models (multilingual-e5-small, qwen2.5-coder-1.5b-instruct-q4_k_m): fetch, convert, verify, in the background"
models_log=$(mktemp)
"$VENV/bin/python" -m provision.setup >"$models_log" 2>&1 &
models_pid=$!

# llama-cpp-python has no wheel on PyPI. A native (-march=native) build segfaults on some CPUs,
# so build with explicit flags: AVX-512 where the CPU has it (1.4x faster prompts), else AVX2.
# Only the library: not llava/mtmd (multimodal, ~a third of the compile, never loaded here).
flags=$(grep -m1 '^flags' /proc/cpuinfo || true)
variant=avx2
cmake_args="-DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF"
if [[ $flags == *avx512f* && $flags == *avx512_vnni* && $flags == *avx512_bf16* && $flags == *avx512vbmi* ]]; then
  variant=avx512
  cmake_args="$cmake_args -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=ON -DGGML_AVX512_VNNI=ON -DGGML_AVX512_BF16=ON -DGGML_AVX512_VBMI=ON"
  # AVX-VNNI (the VEX form) is a separate flag from AVX512-VNNI: a CPU with only the latter
  # dies with SIGILL in the kernels that use it (Q4_0 repacking, a q8_0 KV cache).
  if [[ " $flags " == *" avx_vnni "* ]]; then
    variant=avx512-avxvnni
    cmake_args="$cmake_args -DGGML_AVX_VNNI=ON"
  else
    variant=avx512-noavxvnni
    cmake_args="$cmake_args -DGGML_AVX_VNNI=OFF"
  fi
fi
variant="$variant-lib"  # library targets only (see above): a wheel cache of its own
have=$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("llama_cpp_python"))' 2>/dev/null || true)
if [ "$have" != "$LLAMA_CPP_VERSION" ] || [ ! -f "$VENV/.llama-$variant" ]; then
  wheels="$CACHE/wheels/llama-cpp-$variant"
  if ! ls "$wheels"/llama_cpp_python-$LLAMA_CPP_VERSION-*.whl >/dev/null 2>&1; then
    step "Building llama-cpp-python $LLAMA_CPP_VERSION for $variant (about 3-4 minutes on 2 cores)"
    mkdir -p "$wheels"
    CMAKE_ARGS="$cmake_args" CMAKE_BUILD_PARALLEL_LEVEL=$(nproc) "$PIP" wheel -q --no-deps \
      --no-cache-dir -w "$wheels" "llama-cpp-python==$LLAMA_CPP_VERSION"
  fi
  step "Installing llama-cpp-python ($variant build)"
  "$PIP" install -q --no-deps --force-reinstall "$wheels"/llama_cpp_python-$LLAMA_CPP_VERSION-*.whl
  # its runtime dependencies (already in the stack, listed for a clean venv)
  "$PIP" install -q "diskcache>=5.6.1" "jinja2>=2.11.3" "numpy>=1.20.0" "typing-extensions>=4.5.0"
  rm -f "$VENV"/.llama-*
  touch "$VENV/.llama-$variant"
else
  step "llama-cpp-python $have ($variant) already installed"
fi

if ! wait "$models_pid"; then
  cat "$models_log" >&2
  echo "error: the models could not be installed (see above)" >&2
  exit 1
fi
sed 's/^/    /' "$models_log" | tr '\r' '\n' | grep -v '^ *$' | grep -v '%|' || true
rm -f "$models_log"
step "Models ready"

step "Setup done in $(( $(date +%s) - t_start ))s; models in $("$VENV/bin/python" -c 'from rag.settings import get_settings; print(get_settings().models.models_dir)')"
