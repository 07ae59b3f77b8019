"""Time in the dev questions (rag/answer/when.py): how many get a window or a recency wish,
from which expressions, to read them for false windows.

    rag bench time_questions            # counts by form, then every expression found
    rag bench time_questions --quiet    # counts only
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from datetime import datetime
from pathlib import Path

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
SETS = (("piaf/piaf-v1.1-dev.json", "fr"), ("xquad-en/xquad-en-dev.json", "en"))
# the form of an expression, for the counts (the first that matches)
FORMS = (
    ("range", r"\b(?:entre|between|from|du|de)\b.*\b(?:et|and|to|au|à|a)\b|\d{4}\s*[-–/]\s*\d"),
    ("since / after", r"\b(?:depuis|since|après|apres|after|à partir|a partir|dès|des)\b"),
    ("before / until", r"\b(?:avant|before|prior|until|jusqu|by)\b"),
    ("decade", r"ann[ée]es|\d0'?s\b"),
    ("day", r"\b\d{1,2}(?:er)?\s+[^\W\d]+|[^\W\d]+\s+\d{1,2}(?:st|nd|rd|th)?\b(?!\d)"),
    ("month and year", r"[^\W\d]{3,}\s+\d{4}"),
    ("year", r"\d{4}"),
    ("relative", r"."),
)


def form(expression: str) -> str:
    return next(name for name, pattern in FORMS if re.search(pattern, expression, re.I))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="rag bench time_questions",
        description=__doc__,
        formatter_class=argparse.RawTextHelpFormatter,
    )
    p.add_argument("--now", default="2026-12-05", help="the reference day (YYYY-MM-DD)")
    p.add_argument("--quiet", action="store_true", help="the counts only")
    args = p.parse_args(argv)

    from evaluation.datasets import load_squad
    from rag.answer.when import read_time

    now = datetime.fromisoformat(args.now)
    print("| dev set | questions | with a window | with a recency wish | forms |")
    print("|---|---|---|---|---|")
    listing = []
    for name, language in SETS:
        path = DATA / name
        if not path.exists():
            print(f"error: {path} not found", file=sys.stderr)
            return 2
        questions = [q.question for q in load_squad(path).questions]
        asks = [(q, read_time(q, language, now)) for q in questions]
        windows = [(q, a) for q, a in asks if a.window is not None]
        recent = sum(a.recency for _, a in asks)
        forms = Counter(form(a.expression) for _, a in windows)
        shown = ", ".join(f"{k} {v}" for k, v in forms.most_common())
        n = len(questions)
        print(
            f"| {name.split('/')[0]} | {n} | {len(windows)} ({len(windows) / n:.3f}) "
            f"| {recent} | {shown} |"
        )
        listing += [
            f"- {a.expression!r} -> {a.window.describe(language)}: {q}"
            for q, a in asks
            if a.window is not None
        ]
    if not args.quiet:
        print("\n" + "\n".join(listing))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
