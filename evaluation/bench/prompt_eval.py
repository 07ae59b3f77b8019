"""How fast llama.cpp reads a prompt, per model setting: the first token waits on it.

    rag bench prompt_eval --tokens 450 --rounds 3

Each setting runs in its own process (one model at a time), interleaved over rounds so that
machine noise falls on every setting alike. Prints prompt tokens/s, generation tokens/s, and
the ratio to the first setting (today's). Nothing else heavy should run meanwhile.
A quantised KV cache died with SIGILL until setup.sh stopped enabling AVX-VNNI on CPUs that
lack it (2026-11-30); it runs now, and is slower here (x0.85).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

from rag.settings import Settings

SETTINGS: dict[str, dict] = {
    "today (n_batch 512)": {},
    "flash_attn": {"flash_attn": True},
    "n_ubatch 256": {"n_ubatch": 256},
    "flash_attn + n_ubatch 256": {"flash_attn": True, "n_ubatch": 256},
    "flash_attn + q8_0 KV cache": {"flash_attn": True, "type_k": 8, "type_v": 8},
}

# A French news paragraph: the prompts this service reads are mostly French passages.
TEXT = (
    "Le président français Emmanuel Macron a signé mardi un accord de coopération qui vise à "
    "renforcer les échanges économiques, à soutenir la transition énergétique, à développer "
    "la formation professionnelle et à faciliter la mobilité des étudiants entre les deux pays. "
    "Selon le ministère, les premières mesures entreront en vigueur dès le mois de janvier, "
    "avec un budget de 120 millions d'euros sur trois ans. "
)


def measure(model: str, extra: dict, n_tokens: int) -> dict:
    from llama_cpp import Llama

    llama = Llama(
        model_path=model,
        n_ctx=4096,
        n_threads=2,
        n_threads_batch=2,
        n_batch=512,
        verbose=False,
        **extra,
    )
    tokens = llama.tokenize((TEXT * 40).encode())[:n_tokens]
    llama.eval(tokens[:8])  # warm the weights in
    llama.reset()
    t0 = time.perf_counter()
    llama.eval(tokens)
    prompt_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    n_gen = 0
    for _ in llama.generate(tokens, temp=0.0):  # reuses the evaluated prefix
        n_gen += 1
        if n_gen == 24:
            break
    gen_s = time.perf_counter() - t0
    return {"prompt_tps": n_tokens / prompt_s, "gen_tps": n_gen / gen_s}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="rag bench prompt_eval",
        description=__doc__,
        formatter_class=argparse.RawTextHelpFormatter,
    )
    ap.add_argument("--model", default=str(Settings().models.llm_model_path))
    ap.add_argument("--tokens", type=int, default=450)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(measure(args.model, json.loads(args.child), args.tokens)))
        return 0
    results: dict[str, list[dict]] = {name: [] for name in SETTINGS}
    for r in range(args.rounds):
        for name, extra in SETTINGS.items():
            out = subprocess.run(
                [  # this module again, one model a process
                    sys.executable,
                    "-m",
                    __spec__.name,
                    "--model",
                    args.model,
                    "--tokens",
                    str(args.tokens),
                    "--child",
                    json.dumps(extra),
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            results[name].append(json.loads(out.stdout.strip().splitlines()[-1]))
            print(f"round {r + 1}: {name}: {results[name][-1]}", file=sys.stderr, flush=True)
    base = None
    print(
        f"{'setting':<28} {'prompt tok/s':>12} {'ratio':>6} {'gen tok/s':>10} "
        f"{'first token at ' + str(args.tokens):>20}"
    )
    for name, rows in results.items():
        p = statistics.median(r["prompt_tps"] for r in rows)
        g = statistics.median(r["gen_tps"] for r in rows)
        base = base or p
        print(f"{name:<28} {p:>12.1f} {p / base:>6.2f} {g:>10.1f} {args.tokens / p:>19.2f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
