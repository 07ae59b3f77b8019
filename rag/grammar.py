"""Grammar-constrained decoding (`RAG_GRAMMAR=cited`): a GBNF grammar that llama.cpp applies
while sampling, so the draft has the shape the verification stage expects.

The shape: the service's no-answer sentence, or parts (sentences, list items, an optional
line introducing a list) that each end with one or more markers of passages that exist.
A sentence cannot end (". ") before its marker, and no marker names a passage the prompt
does not hold. What the words say is left to the model and to rag.verify.
"""

from __future__ import annotations

from rag.prompting import NO_ANSWER


def _literal(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def cited_grammar(n_passages: int) -> str:
    """GBNF for a cited answer over passages 1..n_passages."""
    numbers = " | ".join(_literal(str(k)) for k in range(1, max(1, n_passages) + 1))
    no_answer = " | ".join(_literal(t) for t in NO_ANSWER.values())
    return "\n".join(
        [
            "root ::= no-answer | intro? part+",
            f"no-answer ::= {no_answer}",
            # a line that introduces a list: "The four objectives are:" (one sentence: a
            # looser rule here let whole uncited paragraphs through as a possible intro)
            'intro ::= sentence-text ":" "\\n"',
            "part ::= bullet? words cite end",
            'bullet ::= "- " | [1-9] ". "',
            # a full stop inside a part only in a number ("2.5"): a sentence ends with its
            # marker. Allowing any non-space after it let a greedy model write ".'elle" or
            # "._paris" to go on without one.
            'words ::= ([^\\[\\]\\n.] | "." [0-9])+',
            'sentence-text ::= ([^\\[\\]\\n.:] | "." [0-9])+',
            # "done. [1]" is allowed too (normalised to "done [1]."): forbidding it makes a
            # greedy model pick an odd character after the full stop instead
            'cite ::= "."? " "? ("[" number "]")+',
            f"number ::= {numbers}",
            'end ::= [.;,!?]? ("\\n" | " ")?',
        ]
    )
