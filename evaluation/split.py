"""A fixed split of a SQuAD-style question set, by article, into a tuning and a checking half.

    python -m evaluation.split ../shared/data/piaf/piaf-v1.1-dev.json   # writes evaluation/splits/
    python -m evaluation.split DATASET --verify                          # are the files current?

The tuning half holds every article with a question in a past `rag eval` answer sample (the
samples are reproduced with the runner's own `select_questions`), topped up to half of the
articles in the order of the sha256 of their titles; the checking half is the other articles.
When the samples touch more than half of the articles, the halves stay half and half (the
sampled articles by the same order), and the checking half leaves out the sampled questions it
holds; it also leaves out the questions diagnostic scripts scored to choose thresholds. The
files are the same on every machine. The corpus stays the whole file: only the questions are
split (`rag eval --split`).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from evaluation.datasets import (
    Dataset,
    DatasetError,
    Question,
    clean_title,
    load_dataset,
    sample,
    sample_questions,
)

SPLITS_DIR = Path(__file__).resolve().parent / "splits"
HALVES = ("tune", "check")


@dataclass(frozen=True)
class PastSample:
    """Questions looked at before the split. `answer_sample`: drawn by `rag eval` for answers
    (its articles must be in the tuning half); otherwise only kept out of the checking half."""

    label: str
    pick: Callable[[Dataset], list[Question]]
    answer_sample: bool = True


def eval_sample(answer_limit: int | None = None, limit: int | None = None, seed: int = 13):
    """The questions `rag eval DATASET [--limit N] [--answer-limit N] --seed S` answers."""

    def pick(dataset: Dataset) -> list[Question]:
        return sample_questions(dataset.questions, limit, answer_limit, seed)[1]

    options = (f"--limit {limit} " if limit else "") + (
        f"--answer-limit {answer_limit} " if answer_limit else ""
    )
    return PastSample(f"rag eval {options}--seed {seed}", pick)


def others_sample(n: int = 300, seed: int = 7) -> PastSample:
    """scripts/diag_relevance.py and diag_question_names.py: `n` answerable questions outside
    the `--answer-limit 100` sample, whose retrieval scores chose RAG_MIN_RELEVANCE(_EN) and
    checked the question-names gate (docs/EVALUATION.md, rounds 2, 4 and 5)."""

    def pick(dataset: Dataset) -> list[Question]:
        asked = {q.id for q in eval_sample(answer_limit=100).pick(dataset)}
        rest = [q for q in dataset.questions if q.id not in asked and q.has_answers]
        return sample(rest, n, seed)

    label = (
        f"scripts/diag_relevance.py, diag_question_names.py: {n} answerable questions "
        f"outside the --answer-limit 100 sample (seed {seed})"
    )
    return PastSample(label, pick, answer_sample=False)


# What was looked at on each set before the split (docs/EVALUATION.md). The `--limit 10`
# XQuAD sample is the "quick look" example of the docs.
PAST_SAMPLES: dict[str, list[PastSample]] = {
    "piaf-v1.1-dev": [eval_sample(100), eval_sample(150), others_sample(300)],
    "xquad-en-dev": [
        eval_sample(60),
        eval_sample(100),
        eval_sample(limit=10),
        others_sample(300),
    ],
}


@dataclass
class Split:
    dataset: Path
    sha256: str
    articles: dict[str, list[str]]  # title -> question ids, in file order
    tune_articles: list[str]
    check_articles: list[str]
    tune: list[str]  # question ids
    check: list[str]
    excluded: list[str]  # looked-at questions of checking articles, left out of `check`
    notes: list[str]  # one line per past sample, and how the halves were made

    def header(self, half: str) -> list[str]:
        ids, articles = (
            (self.tune, self.tune_articles) if half == "tune" else (self.check, self.check_articles)
        )
        name = "tuning" if half == "tune" else "checking"
        n_questions = sum(len(q) for q in self.articles.values())
        return [
            f"# {self.dataset.stem}, {name} half: {len(ids)} questions of {len(articles)} "
            f"articles (of {len(self.articles)} articles, {n_questions} questions)",
            f"# made by `python -m evaluation.split {self.dataset.name}` (evaluation/split.py); "
            "do not edit, regenerate",
            f"# dataset sha256 {self.sha256}",
            *(f"# {line}" for line in self.notes),
        ]


def file_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def title_hash(title: str) -> str:
    return hashlib.sha256(title.encode("utf-8")).hexdigest()


def articles_of(path: Path) -> dict[str, list[str]]:
    """Article title -> its question ids, from the SQuAD JSON (titles as the loader cleans them)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise DatasetError(f"{path}:{err.lineno}: not valid JSON ({err.msg})") from None
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise DatasetError(f"{path}: a split is by article: it needs SQuAD JSON ('data' list)")
    articles: dict[str, list[str]] = {}
    for article in data["data"]:
        title = clean_title(str(article.get("title", "")))
        if title in articles:
            raise DatasetError(f"{path}: two articles are titled {title!r}")
        articles[title] = [str(qa["id"]) for p in article["paragraphs"] for qa in p["qas"]]
    return articles


def make_split(path: Path, past: Sequence[PastSample]) -> Split:
    path = Path(path)
    dataset = load_dataset(path, language="fr")  # the language changes no question
    articles = articles_of(path)
    article_of = {qid: title for title, ids in articles.items() for qid in ids}
    if set(article_of) != {q.id for q in dataset.questions}:
        raise DatasetError(f"{path}: question ids are not unique, or some lack an article")
    notes, looked, sampled_articles = [], set(), set()
    for p in past:
        ids = {q.id for q in p.pick(dataset)}
        touched = {article_of[i] for i in ids}
        notes.append(f"looked at before: {p.label}: {len(ids)} questions, {len(touched)} articles")
        looked |= ids
        if p.answer_sample:
            sampled_articles |= touched
    n_looked = {t: sum(i in looked for i in ids) for t, ids in articles.items()}
    order = sorted(articles, key=lambda t: (t not in sampled_articles, title_hash(t)))
    half = len(articles) // 2
    tune_articles, check_articles = order[:half], order[half:]
    excluded = [i for t in check_articles for i in articles[t] if i in looked]
    check_ids = {t: [i for i in articles[t] if i not in looked] for t in check_articles}
    in_tune = len(sampled_articles & set(tune_articles))
    notes += [
        f"together: {len(looked)} questions in {sum(n > 0 for n in n_looked.values())} articles, "
        f"{len(sampled_articles)} of them in an answer sample",
        f"tuning half: the first {half} articles, those with a question in an answer sample "
        "first, each group in the order of the sha256 of the title; "
        f"it holds {in_tune} of the {len(sampled_articles)} answer-sampled articles",
        f"checking half: the other {len(check_articles)} articles, without the {len(excluded)} "
        "looked-at questions they hold",
    ]
    in_file_order = {t: n for n, t in enumerate(articles)}.__getitem__
    return Split(
        dataset=path,
        sha256=file_sha256(path),
        articles=articles,
        tune_articles=sorted(tune_articles, key=in_file_order),
        check_articles=sorted(check_articles, key=in_file_order),
        # questions in file order: article by article, as the dataset lists them
        tune=[i for t in sorted(tune_articles, key=in_file_order) for i in articles[t]],
        check=[i for t in sorted(check_articles, key=in_file_order) for i in check_ids[t]],
        excluded=excluded,
        notes=notes,
    )


def split_texts(split: Split) -> dict[str, str]:
    """The two files' contents, by half."""
    return {half: "\n".join([*split.header(half), *getattr(split, half)]) + "\n" for half in HALVES}


def split_file(dataset: Path, half: str, folder: Path = SPLITS_DIR) -> Path:
    return folder / f"{Path(dataset).stem}.{half}.txt"


def read_split(dataset: Dataset, split: str) -> tuple[Path, set[str]]:
    """The question ids of `split`: a half's name (its file in evaluation/splits/) or an id
    file. They must all be questions of the dataset, and a file made for another version of it
    (its `# dataset sha256` header) is refused."""
    path = split_file(Path(dataset.source), split) if split in HALVES else Path(split)
    if not path.exists():
        hint = f"; make it with python -m evaluation.split {dataset.source}" * (split in HALVES)
        raise DatasetError(f"{path}: no such split file{hint}")
    ids, sha = set(), None
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# dataset sha256 "):
            sha = line.split()[-1]
        elif line.strip() and not line.startswith("#"):
            ids.add(line.strip())
    source = Path(dataset.source)
    if sha and source.is_file() and sha != file_sha256(source):
        raise DatasetError(
            f"{path}: made for another version of {dataset.source} (sha256 differs); "
            f"regenerate it with python -m evaluation.split {dataset.source}"
        )
    unknown = ids - {q.id for q in dataset.questions}
    if unknown:
        raise DatasetError(
            f"{path}: {len(unknown)} id(s) are not questions of {dataset.source} "
            f"(e.g. {sorted(unknown)[0]!r})"
        )
    if not ids:
        raise DatasetError(f"{path}: no question id")
    return path, ids


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m evaluation.split", description=__doc__.split("\n\n")[0]
    )
    ap.add_argument("dataset", type=Path, help="SQuAD-style JSON")
    ap.add_argument("--out-dir", type=Path, default=SPLITS_DIR)
    ap.add_argument(
        "--answer-limit",
        type=int,
        action="append",
        default=[],
        help="a past `rag eval --answer-limit N` sample (repeatable; default: the known "
        "samples of PIAF and XQuAD)",
    )
    ap.add_argument("--seed", type=int, default=13, help="the past runs' --seed (default 13)")
    ap.add_argument(
        "--verify", action="store_true", help="exit 1 when the files differ from a regeneration"
    )
    args = ap.parse_args(argv)
    if args.answer_limit:
        past = [eval_sample(n, seed=args.seed) for n in args.answer_limit]
    elif args.dataset.stem in PAST_SAMPLES:
        past = PAST_SAMPLES[args.dataset.stem]
    else:
        ap.error(f"no known past samples for {args.dataset.stem!r}: give --answer-limit N")
    try:
        split = make_split(args.dataset, past)
    except (DatasetError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    stale = []
    for half, text in split_texts(split).items():
        path = split_file(args.dataset, half, args.out_dir)
        if args.verify:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(path)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    for line in split.header("tune")[3:]:
        print(line[2:])
    print(
        f"tune: {len(split.tune_articles)} articles, {len(split.tune)} questions; check: "
        f"{len(split.check_articles)} articles, {len(split.check)} questions "
        f"({len(split.excluded)} excluded)"
    )
    if stale:
        print("stale: " + ", ".join(map(str, stale)), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
