"""The benchmarks of evaluation.bench: each imports, answers --help, and `rag bench` finds it.

The benchmarks themselves need the real models and minutes of CPU, so only `reverify`, which
needs neither, is run here, on two hand-written drafts."""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
import subprocess
import sys

import pytest

import evaluation.bench
from api.cli import main as rag
from evaluation.datasets import load_dataset
from tests.conftest import ROOT

BENCHMARKS = sorted(
    m.name
    for m in pkgutil.iter_modules(evaluation.bench.__path__)
    if not m.ispkg and not m.name.startswith("_")
)


def test_the_benchmarks_behind_the_published_figures_are_found():
    assert {"scale", "soak", "load", "latency", "reverify", "reader_ceiling"} <= set(BENCHMARKS)


@pytest.mark.parametrize("name", BENCHMARKS)
def test_each_benchmark_imports_and_its_help_exits_0(name, capsys):
    module = importlib.import_module(f"evaluation.bench.{name}")
    with pytest.raises(SystemExit) as stop:  # argparse's --help exits
        module.main(["--help"])
    assert stop.value.code == 0
    assert "usage:" in capsys.readouterr().out


@pytest.mark.parametrize("name", BENCHMARKS)
def test_each_benchmark_runs_as_a_module(name):
    module = importlib.import_module(f"evaluation.bench.{name}")
    source = module.__loader__.get_source(module.__name__)
    main_guard = r'if __name__ == "__main__":\s+(sys\.exit|raise SystemExit)\(main\(\)\)'
    assert re.search(main_guard, source), "python -m would import it and do nothing"


def test_python_dash_m_runs_a_benchmark():
    run = subprocess.run(
        [sys.executable, "-m", "evaluation.bench.reverify", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert "usage: rag bench reverify" in run.stdout


def test_rag_bench_list_names_each_benchmark_with_its_summary(capsys):
    assert rag(["bench", "--list"]) == 0
    listed = capsys.readouterr().out
    for name in BENCHMARKS:
        summary = importlib.import_module(f"evaluation.bench.{name}").__doc__.splitlines()[0]
        assert re.search(rf"^  {name} +{re.escape(summary)}$", listed, re.M), name
    assert rag(["bench"]) == 0
    assert capsys.readouterr().out == listed


def test_the_list_imports_no_benchmark():
    """Listing reads docstrings only: a benchmark's imports (torch, llama.cpp) stay unloaded."""
    code = (
        "import sys; from api.cli import main; main(['bench', '--list']); "
        "print(sorted(m for m in sys.modules if m.startswith('evaluation.bench.')))"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().splitlines()[-1] == "[]"


def test_rag_bench_passes_the_arguments_on(capsys):
    with pytest.raises(SystemExit) as stop:
        rag(["bench", "passage-cutoff", "--help"])  # a hyphen stands for the underscore
    assert stop.value.code == 0
    assert "usage: rag bench passage_cutoff" in capsys.readouterr().out


def test_an_unknown_benchmark_is_an_error_naming_the_known_ones(capsys):
    assert rag(["bench", "no_such_bench"]) == 2
    err = capsys.readouterr().err
    assert "no benchmark 'no_such_bench'" in err
    assert "reverify" in err


def test_reverify_checks_logged_drafts_again(tmp_path, capsys):
    """A draft its passage supports keeps the reference; one whose figure the passage lacks
    is dropped (an abstention); another pipeline's rows are left out."""
    dataset = tmp_path / "data.jsonl"
    signed = "L’accord de coopération a été signé le 1er novembre 2023 à Astana."
    fund = "Le fonds d’investissement représente 120 millions d’euros sur trois ans."
    lines = [
        {"question": "Quand l’accord a-t-il été signé ?", "answers": ["1er novembre 2023"]},
        {"question": "Combien d’euros le fonds représente-t-il ?", "answers": ["120 millions"]},
    ]
    for line, passage in zip(lines, (signed, fund), strict=True):
        line["gold_passage"] = passage
    dataset.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n")
    ids = {p.text: p.id for p in load_dataset(dataset).paragraphs}

    def row(pipeline: str, line: dict, passage: str, draft: str) -> dict:
        return {
            "pipeline": pipeline,
            "question": line["question"],
            "references": line["answers"],
            "unanswerable": False,
            "context_docs": [ids[passage]],
            "model_draft": draft,
            "draft": draft,
        }

    answers = tmp_path / "answers.jsonl"
    rows = [
        row("ours", lines[0], signed, "L’accord a été signé le 1er novembre 2023 [1]."),
        row("ours", lines[1], fund, "Le fonds représente 450 millions d’euros [1]."),
        row("baseline", lines[1], fund, "Le fonds représente 120 millions d’euros [1]."),
    ]
    answers.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n")

    assert rag(["bench", "reverify", str(answers), str(dataset)]) == 0
    out = capsys.readouterr().out
    assert "ours, re-verified: contains 0.500" in out
    assert "answerable 0.500 (2 drafts; default thresholds)" in out
