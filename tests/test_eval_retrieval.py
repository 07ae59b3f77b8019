"""`rag eval --retrieval-only` end to end on a slice of PIAF: a floor well above chance.

Runs in CI with the hashing embedder (BM25 carries it); with the real multilingual-e5 model
as an integration test. Skipped, with the reason, where ../shared/data is absent.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import SHARED_DATA

PIAF = SHARED_DATA / "piaf" / "piaf-v1.1-dev.json"
N_ARTICLES = 25
# of the slice's ~600 questions, a fixed sample: each row retrieves for every one of them
QUESTIONS = 250

needs_piaf = pytest.mark.skipif(
    not PIAF.exists(), reason=f"PIAF dev set not found at {PIAF} (../shared/data is absent)"
)


@pytest.fixture
def piaf_slice(tmp_path: Path) -> Path:
    data = json.loads(PIAF.read_text(encoding="utf-8"))
    data["data"] = data["data"][:N_ARTICLES]
    path = tmp_path / "piaf-slice.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def _evaluate(path: Path, tmp_path: Path, capsys) -> dict:
    from api.cli import main

    out = tmp_path / "report"
    code = main(
        [
            "eval",
            str(path),
            "--retrieval-only",
            "--no-baseline",
            "--ablation",
            "--limit",
            str(QUESTIONS),
            "--quiet",
            "--data-dir",
            str(tmp_path / "data"),
            "--out",
            str(out),
        ]
    )
    assert code == 0
    assert "## Retrieval" in capsys.readouterr().out
    assert (out / "report.md").exists() and (out / "recall_at_k.png").exists()
    report = json.loads((out / "report.json").read_text())
    return {p["name"]: p["retrieval"] for p in report["pipelines"]}


@needs_piaf
def test_retrieval_floor_on_a_piaf_slice_with_the_hashing_embedder(
    piaf_slice, tmp_path, capsys, monkeypatch
):
    monkeypatch.setenv("RAG_EMBEDDER", "hashing")
    rows = _evaluate(piaf_slice, tmp_path, capsys)
    n_paragraphs = sum(len(a["paragraphs"]) for a in json.loads(piaf_slice.read_text())["data"])
    chance = 5 / n_paragraphs
    assert chance < 0.1
    assert rows["ours"]["n"] > 100
    assert rows["ours"]["recall@5"] >= 0.80, rows
    assert rows["ours (bm25 only)"]["recall@5"] >= 0.75, rows
    assert rows["ours"]["mrr@10"] >= 0.65, rows


@needs_piaf
@pytest.mark.integration
def test_retrieval_floor_on_a_piaf_slice_with_multilingual_e5(piaf_slice, tmp_path, capsys):
    from rag.settings import Settings

    if not (Settings().models.embed_model_path / "modules.json").exists():
        pytest.skip("multilingual-e5-small is not installed: run scripts/setup.sh")
    rows = _evaluate(piaf_slice, tmp_path, capsys)
    assert rows["ours"]["recall@5"] >= 0.90, rows
    assert rows["ours (dense only)"]["recall@5"] >= 0.80, rows
    assert rows["ours"]["recall@5"] >= rows["ours (bm25 only)"]["recall@5"], rows
