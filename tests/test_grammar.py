"""Grammar-constrained decoding (RAG_GRAMMAR=cited): the draft's shape is forced."""

from __future__ import annotations

import re

import pytest

from rag.grammar import cited_grammar
from rag.schema import Chunk, Passage


def test_the_grammar_names_only_the_passages_of_the_prompt():
    g = cited_grammar(3)
    assert 'number ::= "1" | "2" | "3"' in g
    assert '"Les sources ne le disent pas."' in g and '"The sources do not say."' in g


@pytest.mark.integration
def test_a_constrained_draft_cites_existing_passages_after_every_part():
    from rag.components import make_llm
    from rag.llm import to_chat_messages
    from rag.prompting import build_messages
    from rag.settings import Settings

    settings = Settings(llm="llama-cpp", llm_prompt_cache=False, llm_max_new_tokens=200)
    if not settings.llm_model_path.exists():
        pytest.skip(f"no model at {settings.llm_model_path}: run scripts/setup.sh")
    llm = make_llm(settings)
    texts = [
        "Le tramway coûtera 240 millions d’euros. Il ouvrira en 2027 et comptera 12 stations.",
        "Le maire, Jean Dupont, a présenté le projet lundi.",
    ]
    passages = [
        Passage(Chunk(f"c{i}", "d", t, 0, len(t), "Tramway", language="fr"), 1.0)
        for i, t in enumerate(texts, 1)
    ]
    messages = to_chat_messages(
        build_messages("Que sait-on du tramway ?", passages, "fr", examples=2)
    )
    draft = "".join(r.delta or "" for r in llm.stream_chat(messages, grammar=cited_grammar(2)))
    assert draft.strip()
    numbers = {int(n) for n in re.findall(r"\[(\d+)\]", draft)}
    assert numbers and numbers <= {1, 2}, draft
    # every line and every sentence ends with its marker: no ". " before one
    for line in filter(None, (x.strip() for x in draft.splitlines())):
        assert line.endswith(("]", "].", "];", "],")) or line.endswith(":"), draft
        assert not re.search(r"[a-zé]\. [A-ZÉ]", line), draft
