import pytest

from rag.conversation import clean_condensed, condense_messages, needs_condensing

HISTORY = [
    {"role": "user", "content": "What are the agreement's four objectives?"},
    {"role": "assistant", "content": "Geology and exploration [1], mining [1]..."},
]


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Which one is listed first?", True),
        ("Who signed it?", True),
        ("And the second?", True),
        ("Qui l'a signé ?", True),
        ("Lequel est cité en premier ?", True),
        ("Et pourquoi ?", True),
        ("How large is the French investment fund for critical minerals?", False),
        ("Quel est le montant du fonds d’investissement lancé en France ?", False),
    ],
)
def test_only_follow_ups_are_condensed(question: str, expected: bool):
    assert needs_condensing(question, HISTORY) is expected
    assert needs_condensing(question, []) is False  # nothing to lean on


def test_condense_prompt_carries_the_conversation_without_markers():
    messages = condense_messages("Which one is listed first?", HISTORY)
    last = messages[-1]["content"]
    assert "What are the agreement's four objectives?" in last
    assert "[1]" not in last and "Which one is listed first?" in last
    assert "Rewritten question in English" in last
    # the instructions and demonstrated turns are the same for every conversation
    assert messages[:-1] == condense_messages("Qui l'a signé ?", HISTORY)[:-1]


def test_clean_condensed_output():
    assert clean_condensed('"Who signed the agreement?"\nExtra', "x") == "Who signed the agreement?"
    assert clean_condensed("Rewritten question: Qui a signé l'accord ?", "x") == (
        "Qui a signé l'accord ?"
    )
    assert clean_condensed("", "fallback?") == "fallback?"
