"""A cross-encoder reranker trained here from multilingual-e5-small (issue #29), measured
before it may enter the answer path.

The question and a passage are read together by e5-small's encoder (MiniLM-L12, 384 wide)
with a score head; what is trained is small: low-rank adapters (LoRA) on the attention's
query and value of every layer, the pooler and the head. Training reads the tuning half of
the dev sets (evaluation/splits) with hard negatives from our own retrieval; measuring
reads the checking half (no article in both).

  python -m evaluation.rerank candidates   # our top 30 for every dev question (JSONL)
  python -m evaluation.rerank train        # the adapter, its hash and its log
  python -m evaluation.rerank measure      # R@1, R@5, MRR without and with N = 10/20/30, ms

Everything is written under --out (default artifacts/rerank, not committed).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import random
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from evaluation.metrics import rank_of, recall_at, reciprocal_rank
from rag.settings import PROJECT_ROOT

DATA = PROJECT_ROOT.parent / "shared" / "data"
DATASETS = {
    "piaf": DATA / "piaf" / "piaf-v1.1-dev.json",
    "xquad": DATA / "xquad-en" / "xquad-en-dev.json",
}
DEPTH = 30
SEED = 29


def candidates(out: Path, depth: int = DEPTH) -> None:
    """Our hybrid retrieval's top `depth` for every question of both dev sets, with its half."""
    from evaluation.datasets import load_dataset
    from evaluation.runner import EvalConfig, fill_collection
    from evaluation.split import read_split
    from rag.components import make_engines
    from rag.retrieval import HybridRetriever

    out.mkdir(parents=True, exist_ok=True)
    for name, path in DATASETS.items():
        config = EvalConfig(dataset=path, progress=False)
        settings = config.settings()
        dataset = load_dataset(path)
        engines = make_engines(settings)
        fill_collection(config, dataset, settings, engines)
        retriever = HybridRetriever(engines.store, engines.embedder, engines.index)
        tune = read_split(dataset, "tune")[1]
        texts = {p.id: p.text for p in dataset.paragraphs}
        rows = []
        t0 = time.perf_counter()
        for i, q in enumerate(dataset.questions, 1):
            found = retriever.retrieve(q.question, depth)
            rows.append(
                {
                    "id": q.id,
                    "half": "tune" if q.id in tune else "check",
                    "question": q.question,
                    "answers": list(q.answers),
                    "gold": q.gold,
                    "gold_text": texts.get(q.gold or ""),
                    "found": [{"doc": p.chunk.doc_id, "text": p.chunk.text} for p in found],
                }
            )
            if i % 500 == 0:
                print(f"{name}: {i}/{len(dataset.questions)} questions", file=sys.stderr)
        with (out / f"{name}.jsonl").open("w", encoding="utf-8") as f:
            for r in rows:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
        print(f"{name}: {len(rows)} questions in {time.perf_counter() - t0:.0f} s")


def read_rows(out: Path, name: str, half: str) -> list[dict]:
    rows = [json.loads(line) for line in (out / f"{name}.jsonl").open(encoding="utf-8")]
    return [r for r in rows if r["half"] == half and r["gold"]]


# --- the model ------------------------------------------------------------------------------


def lora_model(rank: int, alpha: float):
    """e5-small with a score head, LoRA on every layer's attention query and value; only the
    adapters, the pooler and the head are trainable."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from rag.settings import get_settings

    base = get_settings().models.embed_model_path
    tokenizer = AutoTokenizer.from_pretrained(base)
    model = AutoModelForSequenceClassification.from_pretrained(base, num_labels=1)
    for p in model.parameters():
        p.requires_grad = False
    torch.manual_seed(SEED)  # the adapters' initial values
    lora = _lora_class()
    for layer in model.bert.encoder.layer:
        att = layer.attention.self
        att.query = lora(att.query, rank, alpha)
        att.value = lora(att.value, rank, alpha)
    for module in (model.bert.pooler, model.classifier):
        for p in module.parameters():
            p.requires_grad = True
    return tokenizer, model


def _lora_class():
    """A linear layer plus a trainable low-rank update (imports torch only when called)."""
    import torch
    from torch import nn

    class _LoRA(nn.Module):
        def __init__(self, base: nn.Linear, rank: int, alpha: float) -> None:
            super().__init__()
            self.base = base
            self.a = nn.Parameter(torch.randn(rank, base.in_features) / math.sqrt(rank * 16))
            self.b = nn.Parameter(torch.zeros(base.out_features, rank))
            self.scale = alpha / rank

        def forward(self, x):
            return self.base(x) + (x @ self.a.T @ self.b.T) * self.scale

    return _LoRA


def trained_state(model) -> dict:
    """What is shipped: the adapters, pooler and head (the base comes from e5's own files)."""
    return {k: v.detach().clone() for k, v in model.named_parameters() if v.requires_grad}


def encode(tokenizer, pairs: Sequence[tuple[str, str]], max_len: int):
    return tokenizer(
        [f"query: {q}" for q, _ in pairs],
        [f"passage: {p}" for _, p in pairs],
        truncation="only_second",
        max_length=max_len,
        padding=True,
        return_tensors="pt",
    )


# --- training -------------------------------------------------------------------------------


def groups(rows: list[dict], negatives: int, rng: random.Random) -> list[tuple[str, list[str]]]:
    """(question, [gold passage, hard negatives...]): negatives are our top passages that are
    not the gold paragraph and hold none of its answers (SQuAD marks one paragraph)."""
    out = []
    for r in rows:
        if not r["gold_text"]:
            continue
        answers = [a.lower() for a in r["answers"] if a]
        wrong = [
            f["text"]
            for f in r["found"]
            if f["doc"] != r["gold"] and not any(a in f["text"].lower() for a in answers)
        ]
        # the hardest, and one from further down (not every negative a near miss)
        rest = wrong[negatives - 1 :]
        hard = wrong[: negatives - 1] + ([rng.choice(rest)] if rest else [])
        if len(hard) < negatives:
            continue
        out.append((r["question"], [r["gold_text"], *hard]))
    return out


def train(args: argparse.Namespace) -> None:
    import torch

    torch.set_num_threads(args.threads)
    rng = random.Random(SEED)
    rows = [r for name in DATASETS for r in read_rows(args.out, name, "tune")]
    data = groups(rows, args.negatives, rng)
    if args.max_questions:
        data = rng.sample(data, min(args.max_questions, len(data)))
    tokenizer, model = lora_model(args.rank, args.alpha)
    params = [p for p in model.parameters() if p.requires_grad]
    n_params = sum(p.numel() for p in params)
    steps = args.epochs * math.ceil(len(data) / args.batch)
    optimizer = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=args.lr, total_steps=steps, pct_start=0.1
    )
    log = (args.out / "train.log").open("w", encoding="utf-8")

    def say(text: str) -> None:
        print(text, flush=True)
        log.write(text + "\n")
        log.flush()

    say(f"command: python -m evaluation.rerank {' '.join(sys.argv[1:])}")
    say(
        f"{len(data)} tuning questions x {1 + args.negatives} passages, {steps} steps, "
        f"{n_params:,} trained parameters"
    )
    model.train()
    t0 = time.perf_counter()
    step = 0
    for epoch in range(args.epochs):
        rng.shuffle(data)
        for i in range(0, len(data), args.batch):
            batch = data[i : i + args.batch]
            pairs = [(q, p) for q, ps in batch for p in ps]
            scores = model(**encode(tokenizer, pairs, args.max_len)).logits.view(len(batch), -1)
            loss = torch.nn.functional.cross_entropy(scores, torch.zeros(len(batch), dtype=int))
            loss.backward()
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            step += 1
            if step % 20 == 0 or step == steps:
                spent = time.perf_counter() - t0
                say(
                    f"epoch {epoch + 1} step {step}/{steps} loss {loss.item():.3f} "
                    f"{spent:.0f} s (eta {spent / step * (steps - step):.0f} s)"
                )
    spent = time.perf_counter() - t0
    from safetensors.torch import save_file

    path = args.out / "reranker-e5-small-lora.safetensors"
    save_file(trained_state(model), str(path))
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    meta = {
        "base": "multilingual-e5-small",
        "rank": args.rank,
        "alpha": args.alpha,
        "max_len": args.max_len,
        "train_seconds": round(spent),
        "questions": len(data),
        "parameters": n_params,
        "bytes": path.stat().st_size,
        "sha256": digest,
        "command": f"python -m evaluation.rerank {' '.join(sys.argv[1:])}",
    }
    (args.out / "reranker-e5-small-lora.json").write_text(json.dumps(meta, indent=2))
    say(f"trained in {spent:.0f} s; {path.name}: {path.stat().st_size:,} bytes, sha256 {digest}")


# --- measuring ------------------------------------------------------------------------------


def load_trained(out: Path):
    import torch
    from safetensors.torch import load_file

    meta = json.loads((out / "reranker-e5-small-lora.json").read_text())
    tokenizer, model = lora_model(meta["rank"], meta["alpha"])
    state = load_file(str(out / "reranker-e5-small-lora.safetensors"))
    missing = set(state) - set(dict(model.named_parameters()))
    assert not missing, missing
    model.load_state_dict(state, strict=False)
    model.eval()
    torch.set_grad_enabled(False)
    return tokenizer, model, meta


def summary(ranks: Sequence[int | None]) -> dict[str, float]:
    n = len(ranks)
    return {
        "R@1": sum(recall_at(r, 1) for r in ranks) / n,
        "R@5": sum(recall_at(r, 5) for r in ranks) / n,
        "MRR@10": sum(reciprocal_rank(r if r and r <= 10 else None) for r in ranks) / n,
    }


def measure(args: argparse.Namespace) -> None:
    import torch

    torch.set_num_threads(args.threads)
    tokenizer, model, meta = load_trained(args.out)
    lines = [
        f"reranker: {meta['parameters']:,} trained parameters, {meta['bytes']:,} bytes, "
        f"trained in {meta['train_seconds']} s on {meta['questions']} questions; "
        f"max {meta['max_len']} tokens; {args.threads} threads",
        "",
        "| set | N | questions | R@1 | R@5 | MRR@10 | added ms p50 | p95 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    report: dict = {"meta": meta, "rows": []}
    for name in DATASETS:
        rows = read_rows(args.out, name, "check")
        if args.max_questions:
            rows = random.Random(SEED).sample(rows, min(args.max_questions, len(rows)))
        base = [rank_of([f["doc"] for f in r["found"]], r["gold"]) for r in rows]
        scored: list[list[float]] = []
        times: dict[int, list[float]] = {n: [] for n in args.n}
        for k, r in enumerate(rows):
            pairs = [(r["question"], f["text"]) for f in r["found"][: max(args.n)]]
            # a pair's score does not depend on the others: the largest N's scores rank
            # every N; each N is timed as it would run (its top N in one batch) on the
            # first --timed questions
            for n in sorted(args.n) if k < args.timed else [max(args.n)]:
                t0 = time.perf_counter()
                out = model(**encode(tokenizer, pairs[:n], meta["max_len"])).logits.view(-1)
                times[n].append((time.perf_counter() - t0) * 1000)
            scored.append(out.tolist())
        row = {"set": name, "N": 0, "questions": len(rows), **summary(base)}
        report["rows"].append(row)
        lines.append(_line(row))
        with (args.out / f"scores-{name}.jsonl").open("w", encoding="utf-8") as f:
            for r, scores in zip(rows, scored, strict=True):
                f.write(json.dumps({"id": r["id"], "scores": scores}) + "\n")
        for n in args.n:
            ms = sorted(times[n])
            timing = {
                "ms_p50": statistics.median(ms),
                "ms_p95": ms[max(0, math.ceil(0.95 * len(ms)) - 1)],
            }
            for how, order in (("", reranked), (" + fusion", fused)):
                ranks = []
                for r, scores in zip(rows, scored, strict=True):
                    docs = [f["doc"] for f in r["found"]]
                    head = order(scores[: min(n, len(docs))])
                    ranks.append(rank_of([docs[i] for i in head] + docs[n:], r["gold"]))
                row = {"set": name, "N": f"{n}{how}", "questions": len(rows), **summary(ranks)}
                report["rows"].append({**row, **timing})
                lines.append(_line({**row, **timing}))
    text = "\n".join(lines)
    print(text)
    (args.out / "measure.md").write_text(text + "\n")
    (args.out / "measure.json").write_text(json.dumps(report, indent=2))


def reranked(scores: Sequence[float]) -> list[int]:
    """The top N in the cross-encoder's order."""
    return sorted(range(len(scores)), key=lambda i: -scores[i])


def fused(scores: Sequence[float], k: int = 60) -> list[int]:
    """The top N by reciprocal rank fusion of retrieval's order and the cross-encoder's
    (k = 60, as our retrieval fuses its dense and keyword lists): nothing tuned, and a weak
    reranker can only move what the two orders disagree on."""
    by_model = {i: rank for rank, i in enumerate(reranked(scores), 1)}
    return sorted(range(len(scores)), key=lambda i: -(1 / (k + i + 1) + 1 / (k + by_model[i])))


def _line(row: dict) -> str:
    ms = f"{row['ms_p50']:.0f} | {row['ms_p95']:.0f}" if "ms_p50" in row else "– | –"
    n = row["N"] or "without"
    return (
        f"| {row['set']} check | {n} | {row['questions']} | {row['R@1']:.3f} | {row['R@5']:.3f} "
        f"| {row['MRR@10']:.3f} | {ms} |"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evaluation.rerank", description=__doc__)
    parser.add_argument("step", choices=["candidates", "train", "measure"])
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "artifacts" / "rerank")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--max-questions", type=int, default=0, help="0: all")
    parser.add_argument("--negatives", type=int, default=3)
    parser.add_argument("--batch", type=int, default=4, help="questions per step")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--max-len", type=int, default=256)
    parser.add_argument("--rank", type=int, default=8)
    parser.add_argument("--alpha", type=float, default=16.0)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--n", type=int, nargs="+", default=[10, 20, 30])
    parser.add_argument("--timed", type=int, default=50, help="questions timed at every N")
    args = parser.parse_args(argv)
    if args.step == "candidates":
        candidates(args.out)
    elif args.step == "train":
        train(args)
    else:
        measure(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
