"""Question sets: SQuAD-style JSON (v1, and v2 `is_impossible`) and a simple JSONL.

Both become the same thing: a list of paragraphs (the corpus, one document per paragraph, titled
by its article) and a list of questions, each with its reference answers and the id of the
paragraph that answers it.

JSONL, one object per line:
    {"question": "...", "answers": ["..."], "gold_passage": "...", "title": "...", "id": "...",
     "facts": [["géologie", "geology"], ...], "gold_doc": "..."}
`answers` is optional (absent: answer metrics are skipped for that row); an empty list marks the
question as unanswerable (the service should decline). `gold_passage` is the text of the passage
that answers it; every distinct gold passage becomes a document of the corpus. With a corpus of
files (`rag eval --corpus`), `gold_doc` names the document that answers it instead. `facts`: what
a right answer must hold, each fact a list of acceptable forms (folded like `contains answer`).
"""

from __future__ import annotations

import hashlib
import html
import json
import random
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rag.language import detect_language


class DatasetError(ValueError):
    """The file is not a question set we can read; the message names the file and line."""


@dataclass(frozen=True)
class Paragraph:
    id: str
    title: str
    text: str
    language: str = "fr"


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    answers: tuple[str, ...] = ()
    gold: str | None = None  # id of the paragraph (or corpus document) that answers it
    unanswerable: bool = False
    # what a right answer must hold: each fact is a tuple of acceptable forms
    facts: tuple[tuple[str, ...], ...] = ()

    @property
    def has_answers(self) -> bool:
        return bool(self.answers)


@dataclass
class Dataset:
    name: str
    paragraphs: list[Paragraph]
    questions: list[Question]
    language: str = "fr"
    source: str = ""
    stats: dict[str, int] = field(default_factory=dict)

    def paragraph(self, pid: str) -> Paragraph:
        return self._by_id[pid]

    def __post_init__(self) -> None:
        self._by_id = {p.id: p for p in self.paragraphs}


_TAG = re.compile(r"<[^>]+>")


def clean_title(title: str) -> str:
    """Wikipedia titles in PIAF carry HTML (`<i>Le Roi lion</i>`); SQuAD's use underscores."""
    return " ".join(html.unescape(_TAG.sub("", title)).replace("_", " ").split())


def paragraph_id(text: str) -> str:
    """Stable across runs and machines: the hash of the paragraph text."""
    return "p" + hashlib.sha1(" ".join(text.split()).encode()).hexdigest()[:15]


def _majority_language(texts: Sequence[str]) -> str:
    votes = Counter(detect_language(t[:2000], default="fr") for t in texts[:200])
    return votes.most_common(1)[0][0] if votes else "fr"


def _unique_answers(answers: Sequence[str]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for a in answers:
        a = a.strip()
        if a:
            seen.setdefault(a, None)
    return tuple(seen)


def load_squad(path: Path, language: str | None = None) -> Dataset:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise DatasetError(f"{path}:{err.lineno}: not valid JSON ({err.msg})") from None
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise DatasetError(f"{path}: not SQuAD JSON (no top-level 'data' list)")
    raw: list[tuple[str, str, list[dict]]] = []
    for article in data["data"]:
        title = clean_title(str(article.get("title", "")))
        for para in article.get("paragraphs", []):
            raw.append((title, para["context"], para.get("qas", [])))
    lang = language or _majority_language([c for _, c, _ in raw])
    paragraphs: dict[str, Paragraph] = {}
    questions: list[Question] = []
    for title, context, qas in raw:
        pid = paragraph_id(context)
        paragraphs.setdefault(pid, Paragraph(pid, title, context, lang))
        for qa in qas:
            impossible = bool(qa.get("is_impossible", False))
            answers = () if impossible else _unique_answers([a["text"] for a in qa["answers"]])
            questions.append(
                Question(
                    id=str(qa.get("id", f"q{len(questions)}")),
                    question=qa["question"].strip(),
                    answers=answers,
                    gold=pid,
                    unanswerable=impossible,
                )
            )
    return Dataset(
        name=Path(path).stem,
        paragraphs=list(paragraphs.values()),
        questions=questions,
        language=lang,
        source=str(path),
        stats={"articles": len(data["data"]), "paragraphs": len(paragraphs)},
    )


def load_jsonl(path: Path, language: str | None = None) -> Dataset:
    rows: list[tuple[int, dict]] = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            raise DatasetError(f"{path}:{n}: not valid JSON ({err.msg})") from None
        if not isinstance(row, dict) or not str(row.get("question", "")).strip():
            raise DatasetError(f"{path}:{n}: each line needs a non-empty 'question'")
        answers = row.get("answers")
        if isinstance(answers, str):
            row["answers"] = [answers]
        elif answers is not None and not isinstance(answers, list):
            raise DatasetError(f"{path}:{n}: 'answers' must be a list of strings")
        row["facts"] = _facts(row.get("facts"), f"{path}:{n}")
        if row["facts"] and answers is not None and not _unique_answers(row["answers"]):
            raise DatasetError(
                f"{path}:{n}: 'facts' on an unanswerable row (\"answers\": []): "
                "the right answer declines, it holds no fact"
            )
        if row.get("gold_doc") is not None and (
            not isinstance(row["gold_doc"], str) or not row["gold_doc"].strip()
        ):
            raise DatasetError(f"{path}:{n}: 'gold_doc' must be a document id (a string)")
        if row.get("gold_doc") and row.get("gold_passage"):
            raise DatasetError(f"{path}:{n}: give 'gold_passage' or 'gold_doc', not both")
        rows.append((n, row))
    passages = [str(r["gold_passage"]) for _, r in rows if r.get("gold_passage")]
    lang = language or _majority_language(passages or [r["question"] for _, r in rows])
    paragraphs: dict[str, Paragraph] = {}
    questions: list[Question] = []
    for n, row in rows:
        gold = str(row["gold_doc"]).strip() if row.get("gold_doc") else None
        if row.get("gold_passage"):
            text = str(row["gold_passage"])
            gold = paragraph_id(text)
            title = str(row.get("title") or text.split(".")[0][:80]).strip()
            paragraphs.setdefault(gold, Paragraph(gold, title, text, lang))
        answers = row.get("answers")
        questions.append(
            Question(
                id=str(row.get("id", f"line{n}")),
                question=str(row["question"]).strip(),
                answers=_unique_answers(answers or []),
                gold=gold,
                unanswerable=answers is not None and not _unique_answers(answers),
                facts=row["facts"],
            )
        )
    return Dataset(
        name=Path(path).stem,
        paragraphs=list(paragraphs.values()),
        questions=questions,
        language=lang,
        source=str(path),
        stats={"paragraphs": len(paragraphs)},
    )


def _facts(value: object, where: str) -> tuple[tuple[str, ...], ...]:
    """`[["géologie", "geology"], "capitaux"]`: a fact is a list of forms, or one form."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise DatasetError(f"{where}: 'facts' must be a list of facts (lists of forms)")
    facts = []
    for i, fact in enumerate(value, 1):
        forms = [fact] if isinstance(fact, str) else fact
        if (
            not isinstance(forms, list)
            or not forms
            or not all(isinstance(f, str) and f.strip() for f in forms)
        ):
            raise DatasetError(
                f"{where}: fact {i} of 'facts' must be a non-empty string or list of them"
            )
        facts.append(tuple(f.strip() for f in forms))
    return tuple(facts)


def load_dataset(path: Path, language: str | None = None) -> Dataset:
    path = Path(path)
    if not path.exists():
        raise DatasetError(f"{path}: no such file")
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        return load_jsonl(path, language)
    return load_squad(path, language)


def add_questions(dataset: Dataset, extra: Dataset) -> Dataset:
    """Extra questions (e.g. unanswerable ones) asked against the same corpus."""
    paragraphs = {p.id: p for p in dataset.paragraphs}
    for p in extra.paragraphs:
        paragraphs.setdefault(p.id, p)
    return Dataset(
        name=dataset.name,
        paragraphs=list(paragraphs.values()),
        questions=dataset.questions + extra.questions,
        language=dataset.language,
        source=dataset.source,
        stats=dict(dataset.stats, paragraphs=len(paragraphs)),
    )


def sample(questions: Sequence[Question], limit: int | None, seed: int = 13) -> list[Question]:
    """A fixed sample: the same `limit` and `seed` give the same questions on every machine."""
    if limit is None or limit >= len(questions):
        return list(questions)
    rng = random.Random(seed)
    picked = sorted(rng.sample(range(len(questions)), limit))
    return [questions[i] for i in picked]


def sample_questions(
    questions: Sequence[Question], limit: int | None, answer_limit: int | None, seed: int
) -> tuple[list[Question], list[Question]]:
    """What `rag eval --limit N --answer-limit M --seed S` asks: a fixed sample of `limit`
    questions (all when None), and of them `answer_limit` answered (all when None)."""
    main = sample(list(questions), limit, seed)
    answer = sample(main, answer_limit, seed + 1) if answer_limit else main
    return main, answer
