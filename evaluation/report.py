"""Write an evaluation: report.json (everything, per question too), report.md (the tables),
recall_at_k.png and latency.png."""

from __future__ import annotations

import json
import platform
import shlex
import sys
from pathlib import Path
from typing import Any

from evaluation.runner import KS, EvalRun

RETRIEVAL_COLUMNS = [
    *((f"recall@{k}", f"R@{k}") for k in KS),
    ("mrr@10", "MRR@10"),
    ("latency_p50_ms", "p50 ms"),
    ("latency_p95_ms", "p95 ms"),
]
ANSWER_COLUMNS = [
    ("contains_answer", "contains answer"),
    ("f1", "token F1"),
    ("cites_gold", "cites gold"),
    ("valid_marker_share", "valid markers"),
    ("invalid_markers", "invalid markers"),
    ("cited_with_answer", "cited passages with answer"),
    ("abstention_correct", "abstains when unanswerable"),
    ("false_abstention", "abstains when answerable"),
    ("declined_with_reference", "abstains when the draft held the answer"),
]
FACTS_COLUMN = ("facts_held", "facts held")
COST_COLUMNS = [
    ("retrieval_p50_ms", "retrieval p50 ms"),
    ("retrieval_p95_ms", "retrieval p95 ms"),
    ("first_token_p50_ms", "first token p50 ms"),
    ("first_text_p50_ms", "first verified text p50 ms"),
    ("latency_p50_ms", "answer p50 ms"),
    ("latency_p95_ms", "answer p95 ms"),
    ("prompt_tokens_mean", "prompt tokens"),
    ("prompt_tokens_read_mean", "prompt tokens read (after the cached prefix)"),
]


def command_line() -> str:
    argv = list(sys.argv)
    if argv and argv[0].endswith(("cli.py", "__main__.py", "/rag")):
        argv[0] = "rag"
    return " ".join(shlex.quote(a) for a in argv)


def _fmt(value: Any, key: str) -> str:
    if value is None:
        return "–"
    if isinstance(value, float) and key.endswith("_ms"):
        return f"{value:,.0f}" if value >= 10 else f"{value:.1f}"
    if isinstance(value, float) and key.startswith("prompt_tokens"):
        return f"{value:.0f}"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def table(rows: list[tuple[str, dict]], columns: list[tuple[str, str]], n_label: str) -> str:
    head = ["pipeline", n_label, *(label for _, label in columns)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, values in rows:
        cells = [name, str(values.get("n", "–"))]
        cells += [_fmt(values.get(key), key) for key, _ in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def to_json(run: EvalRun, command: str) -> dict:
    s = run.settings
    return {
        "command": command,
        "started": run.started,
        "seconds": round(run.seconds, 1),
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        "dataset": {
            "name": run.dataset.name,
            "source": run.dataset.source,
            "language": run.dataset.language,
            "paragraphs": len(run.dataset.paragraphs),
            "questions": len(run.dataset.questions),
            "retrieval_questions": len(run.retrieval_questions),
            "answer_questions": len(run.answer_questions),
            "seed": run.config.seed,
            "limit": run.config.limit,
            "answer_limit": run.config.answer_limit,
            "split": run.config.split,
            "answers_only": run.config.answers_only,
            "corpus": [str(p) for p in run.config.corpus] if run.config.corpus else None,
        },
        "settings": {
            "collection": s.store.collection,
            "data_dir": str(s.store.data_dir),
            "embedder": s.models.embedder,
            "embed_model": s.models.embed_model,
            "llm_model": s.models.llm_model,
            "retrieval": run.config.retrieval or "hybrid",
            "candidates": run.config.candidates,
            "top_k": s.retrieval.top_k,
            "relative_score": s.retrieval.relative_score,
            "min_passages": s.retrieval.min_passages,
            "chunk_size": s.ingest.chunk_size,
            "chunk_overlap": s.ingest.chunk_overlap,
            "url": run.config.url,
        },
        "pipelines": [
            {"name": r.name, "retrieval": r.retrieval, "answers": r.answers} for r in run.results
        ],
        "questions": {r.name: r.per_question for r in run.results},
        "answer_question_ids": [q.id for q in run.answer_questions],
        "answer_question_texts": {q.id: q.question for q in run.answer_questions},
    }


def to_markdown(report: dict) -> str:
    d = report["dataset"]
    out = [
        f"# Evaluation: {d['name']}",
        "",
        f"`{report['command']}`",
        "",
        f"{d['paragraphs']} {'documents' if d.get('corpus') else 'paragraphs'} "
        f"({d['language']}), {d['questions']} questions; "
        f"retrieval on {d['retrieval_questions']}, answers on {d['answer_questions']} "
        f"(seed {d['seed']}). Started {report['started']}, took {report['seconds'] / 60:.1f} min.",
        "",
    ]
    if d.get("split"):
        out += [f"Questions of the **{d['split']}** split only (evaluation/split.py).", ""]
    if d.get("corpus"):
        corpus = ", ".join(d["corpus"])
        out += [f"Corpus: the files of {corpus} (a question's gold is a document: gold_doc).", ""]
    if d.get("answers_only"):
        out += ["No retrieval pass (`--answers-only`).", ""]
    rows = [(p["name"], p["retrieval"]) for p in report["pipelines"] if p["retrieval"]]
    if rows:
        out += [
            "## Retrieval (gold paragraph among the top k)",
            "",
            table(rows, RETRIEVAL_COLUMNS, "questions"),
            "",
        ]
    rows = [(p["name"], p["answers"]) for p in report["pipelines"] if p["answers"]]
    with_facts = any(a.get("facts_held") is not None for _, a in rows)
    columns = ANSWER_COLUMNS[:1] + [FACTS_COLUMN] * with_facts + ANSWER_COLUMNS[1:]
    if rows:
        out += [
            "## Answers",
            "",
            table(rows, columns, "questions"),
            "",
            "- contains answer: a normalised reference answer appears in the answer "
            "(case, accents, punctuation, articles folded); token F1: SQuAD F1, same folding;",
            "- cites gold: the answer cites the paragraph the question was written from; "
            "valid markers: share of [n] markers that point to a returned passage;",
            "- cited passages with answer: share of cited passages that contain a reference "
            "answer; abstention rates: share of questions the pipeline declined.",
            "",
            "## Cost per answer",
            "",
            table(rows, COST_COLUMNS, "questions"),
            "",
        ]
    if with_facts:
        out += missing_facts_section(report)
    s = report["settings"]
    out += [
        "## Settings",
        "",
        ", ".join(f"{k}={v}" for k, v in s.items() if v is not None),
        "",
    ]
    return "\n".join(out)


def missing_facts_section(report: dict) -> list[str]:
    """Each answer that misses a fact, verbatim, for the pipelines (not the derived rule rows)."""
    out = ["## Facts missing", ""]
    for p in report["pipelines"]:
        if p["answers"].get("facts_held") is None or p["name"].startswith("ours -"):
            continue
        rows = [
            (qid, r)
            for qid, r in report["questions"][p["name"]].items()
            if r.get("missing_facts") or (r.get("unanswerable") and not r.get("abstained"))
        ]
        texts = report.get("answer_question_texts", {})
        out += [f"### {p['name']}: {len(rows)} answer(s) to look at", ""]
        for qid, r in rows:
            what = (
                "answered, should decline"
                if r.get("unanswerable")
                else "misses " + ", ".join(f"« {f} »" for f in r["missing_facts"])
            )
            answer = " ".join(str(r.get("answer") or r.get("error") or "").split())
            out.append(f"- `{qid}` {texts.get(qid, '')} {what}. Answer: {answer}")
        out.append("")
    return out


def plot(report: dict, run: EvalRun, out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    rows = [p for p in report["pipelines"] if p["retrieval"]]
    if rows:
        fig, ax = plt.subplots(figsize=(6, 4))
        depth = run.config.depth
        for p in rows:
            ranks = [v.get("rank") for v in report["questions"][p["name"]].values() if "rank" in v]
            curve = [
                sum(1 for r in ranks if r and r <= k) / len(ranks) for k in range(1, depth + 1)
            ]
            ax.plot(range(1, depth + 1), curve, marker="o", label=p["name"])
        ax.set_xlabel("k (passages retrieved)")
        ax.set_ylabel("recall@k of the gold paragraph")
        ax.set_title(f"{report['dataset']['name']}: recall@k")
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
        ax.legend()
        fig.tight_layout()
        path = out / "recall_at_k.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)
    rows = [p for p in report["pipelines"] if p["answers"]]
    if rows:
        fig, ax = plt.subplots(figsize=(6, 4))
        for p in rows:
            secs = [
                v["total_ms"] / 1000
                for v in report["questions"][p["name"]].values()
                if v.get("total_ms") is not None
            ]
            ax.hist(secs, bins=30, alpha=0.6, label=p["name"])
        ax.set_xlabel("seconds per answer (retrieval + generation)")
        ax.set_ylabel("questions")
        ax.set_title(f"{report['dataset']['name']}: answer latency")
        ax.legend()
        fig.tight_layout()
        path = out / "latency.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)
    return written


def write(run: EvalRun, out: Path, command: str | None = None) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    report = to_json(run, command or command_line())
    (out / "report.json").write_text(json.dumps(report, ensure_ascii=False, indent=1))
    (out / "report.md").write_text(to_markdown(report))
    plot(report, run, out)
    return report
