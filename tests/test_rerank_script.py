"""The reranker experiment's script (issue #29) still runs end to end: train a few steps on
a handful of questions with the real e5-small weights, then measure (a script behind a
reported number must not rot)."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("torch")
pytestmark = pytest.mark.integration


def rows(half: str, n: int) -> list[dict]:
    out = []
    for i in range(n):
        gold = f"g{i}"
        found = [
            {"doc": f"n{i}-{k}", "text": f"Un autre texte numéro {k} sur le port."}
            for k in range(5)
        ]
        found.insert(1, {"doc": gold, "text": f"Le tramway {i} ouvrira en 2027 à Lyon."})
        out.append(
            {
                "id": f"q{half}{i}",
                "half": half,
                "question": f"Quand ouvrira le tramway {i} ?",
                "answers": ["2027"],
                "gold": gold,
                "gold_text": f"Le tramway {i} ouvrira en 2027 à Lyon.",
                "found": found,
            }
        )
    return out


def test_train_then_measure(tmp_path):
    from rag.settings import get_settings

    if not get_settings().models.embed_model_path.exists():
        pytest.skip("no multilingual-e5-small: run scripts/setup.sh")
    from evaluation.rerank import main

    for name in ("piaf", "xquad"):
        with (tmp_path / f"{name}.jsonl").open("w") as f:
            for r in rows("tune", 2) + rows("check", 2):
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
    out = ["--out", str(tmp_path), "--max-len", "48"]
    assert main(["train", *out, "--batch", "2"]) == 0
    meta = json.loads((tmp_path / "reranker-e5-small-lora.json").read_text())
    # what would be shipped is small: adapters, pooler and head, not the encoder
    assert meta["questions"] == 4 and meta["parameters"] < 400_000 and meta["bytes"] < 2_000_000
    assert main(["measure", *out, "--n", "2", "4", "--timed", "1"]) == 0
    report = json.loads((tmp_path / "measure.json").read_text())
    assert [(r["set"], r["N"]) for r in report["rows"]] == [
        (s, n) for s in ("piaf", "xquad") for n in (0, "2", "2 + fusion", "4", "4 + fusion")
    ]
    without = report["rows"][0]
    assert without["R@1"] == 0.0 and without["R@5"] == 1.0  # the gold passage is second
    assert all(r["ms_p50"] > 0 for r in report["rows"] if r["N"])
    scores = (tmp_path / "scores-piaf.jsonl").read_text().splitlines()
    assert len(scores) == 2 and len(json.loads(scores[0])["scores"]) == 4


def test_fusion_keeps_what_both_orders_agree_on():
    from evaluation.rerank import fused, reranked

    assert reranked([0.1, 0.9, 0.5]) == [1, 2, 0]
    # retrieval's first and the model's first tie at the top; a passage both put last stays last
    assert fused([0.1, 0.9, -1.0])[-1] == 2
    assert fused([5.0, 0.0, -1.0]) == [0, 1, 2]
