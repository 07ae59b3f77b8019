"""What the benchmarks ask and store, built from the PIAF and XQuAD dev sets (../shared/data):
the soak questions and articles, and the scale corpus with its planted questions."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the checkout
DATA = ROOT.parent / "shared" / "data"
PIAF_DEV = DATA / "piaf" / "piaf-v1.1-dev.json"
XQUAD_DEV = DATA / "xquad-en" / "xquad-en-dev.json"
DEV_SETS = {"fr": PIAF_DEV, "en": XQUAD_DEV}


def require(*paths: Path) -> None:
    """Stop with the missing files named, before any work."""
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise SystemExit(f"missing: {', '.join(missing)} (this benchmark reads the dev sets)")


def _articles(path: Path) -> list[dict]:
    require(path)
    return json.loads(path.read_text())["data"]


def _title(raw: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", "", raw).replace("_", " ").split())


def write_dev_articles(folder: Path) -> int:
    """One seed-format file per dev article (title, blank line, its paragraphs): the soak
    corpus, 264 articles."""
    folder.mkdir(parents=True, exist_ok=True)
    n = 0
    for lang, path in DEV_SETS.items():
        for i, article in enumerate(_articles(path)):
            paragraphs = [" ".join(p["context"].split()) for p in article["paragraphs"]]
            text = _title(article["title"]) + "\n\n" + "\n\n".join(paragraphs) + "\n"
            (folder / f"{lang}-{i:03d}.txt").write_text(text)
            n += 1
    return n


def soak_questions(n: int, seed: int = 7) -> list[str]:
    """n distinct dev questions, two French for one English, interleaved."""
    rng = random.Random(seed)
    pools = {}
    for lang, path in DEV_SETS.items():
        qs = sorted(
            {
                qa["question"].strip()
                for a in _articles(path)
                for p in a["paragraphs"]
                for qa in p["qas"]
                if qa["question"].strip()
            }
        )
        rng.shuffle(qs)
        pools[lang] = qs
    n_en = n // 3
    fr, en = pools["fr"][: n - n_en], pools["en"][:n_en]
    out: list[str] = []
    while fr or en:
        out += [fr.pop(0) for _ in range(2) if fr]
        if en:
            out.append(en.pop(0))
    return out[:n]


class ScaleCorpus:
    """Real paragraphs first, then an endless, deterministic stream of distractor articles.

    The planted questions are drawn once, and their paragraphs never lend a sentence to a
    distractor: a distractor holding the answering sentence would be a right answer that
    recall counts as a miss. Every size asks the same questions (those present at 1k)."""

    def __init__(self, planted: int, seed: int = 11) -> None:
        from evaluation.datasets import load_squad
        from rag.text import split_sentences

        require(*DEV_SETS.values())
        self.rng = random.Random(seed)
        self.real: list[tuple[str, str, str]] = []  # (doc id, title, text)
        questions: list[tuple[str, str]] = []  # (question, gold doc id)
        datasets = [load_squad(path) for path in DEV_SETS.values()]
        for ds in datasets:
            self.real += [(p.id, p.title, p.text) for p in ds.paragraphs]
            questions += [(q.question, q.gold) for q in ds.questions if q.gold]
        first = {doc_id for doc_id, _, _ in self.real[:1000]}
        candidates = [q for q in questions if q[1] in first]
        self.questions = random.Random(seed).sample(candidates, min(planted, len(candidates)))
        held = {gold for _, gold in self.questions}
        self.pools: dict[str, tuple[list[str], list[str]]] = {}
        for ds in datasets:
            sentences = [
                s
                for p in ds.paragraphs
                if p.id not in held
                for s in split_sentences(p.text)
                if len(s) > 40
            ]
            self.pools[ds.language] = (sentences, sorted({p.title for p in ds.paragraphs}))
        self.n_distractors = 0

    def distractor_article(self) -> tuple[str, str]:
        lang = "fr" if self.rng.random() < 0.8 else "en"
        sentences, titles = self.pools[lang]
        paragraphs = [
            " ".join(self.rng.sample(sentences, self.rng.randint(4, 7))) for _ in range(8)
        ]
        self.n_distractors += 1
        return f"d{self.n_distractors:06d}", f"{self.rng.choice(titles)}\n\n" + "\n\n".join(
            paragraphs
        )

    def write(
        self, folder: Path, start_passages: int, target: int
    ) -> tuple[int, list[tuple[str, str]]]:
        """Files for passages [start_passages, target): the count reached and their (title,
        paragraph) texts."""
        folder.mkdir(parents=True, exist_ok=True)
        n, texts = start_passages, []
        while n < target:
            if n < len(self.real):
                doc_id, title, text = self.real[n]
                (folder / f"{doc_id}.txt").write_text(f"{title}\n\n{text}\n")
                texts.append((title, text))
                n += 1
            else:
                doc_id, body = self.distractor_article()
                (folder / f"{doc_id}.txt").write_text(body + "\n")
                title, rest = body.split("\n\n", 1)
                texts += [(title, p) for p in rest.split("\n\n")]
                n += 8
        return n, texts
