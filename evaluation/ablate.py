"""`rag eval` (or any `rag` command) with one answer-path step switched off, for the on/off
measurements of docs/EVALUATION.md. These steps have no setting on purpose (they are not for
users to turn off); this is how their effect is measured:

    python -m evaluation.ablate entity-reading eval ../shared/data/piaf/piaf-v1.1-dev.json \\
        --split IDS --answers-only --no-baseline
    python -m evaluation.ablate count-hint eval ../shared/data/piaf/piaf-v1.1-dev.json \\
        --split IDS --answers-only --no-baseline

- entity-reading: "who is X" questions read the passages as any question does, not the ones
  that name X (rag.service.naming);
- count-hint: a question asking for so many things is not told to give them all
  (rag.prompting.asked_count).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

STEPS = ("entity-reading", "count-hint")


def switch_off(step: str) -> None:
    if step == "entity-reading":
        import rag.service

        rag.service.naming = lambda entity, ranked, read: list(read)
    elif step == "count-hint":
        import rag.prompting

        rag.prompting.asked_count = lambda question: None
    else:
        raise SystemExit(f"python -m evaluation.ablate: no step {step!r} (one of {STEPS})")


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    switch_off(args[0])
    from api.cli import main as rag

    return rag(args[1:])


if __name__ == "__main__":
    raise SystemExit(main())
