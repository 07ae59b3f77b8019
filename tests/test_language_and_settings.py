import pytest
from pydantic import ValidationError

from rag.language import detect_language
from rag.prompting import build_messages
from rag.settings import Settings
from rag.verify.abstention import is_abstention


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("What are the agreement's four objectives?", "en"),
        ("Quels sont les quatre objectifs de l’accord ?", "fr"),
        ("Qui l'a signé ?", "fr"),
        ("Which one is listed first?", "en"),
        ("Combien coûte le fonds d'investissement ?", "fr"),
        ("Who signed it?", "en"),
        ("What's Thomas Piketty's job?", "en"),  # "'s" is no French "s'"
        ("S'il pleut, que fait-on ?", "fr"),
    ],
)
def test_language_of_questions(text: str, lang: str):
    assert detect_language(text) == lang


def test_prompt_names_the_answer_language():
    en = build_messages("What is it?", [], "en")
    fr = build_messages("Qu'est-ce ?", [], "fr")
    assert "Answer in English" in en[-1]["content"] and "What is it?" in en[-1]["content"]
    assert "Answer in French" in fr[-1]["content"] and "Qu'est-ce ?" in fr[-1]["content"]
    assert "The sources do not say." in en[0]["content"]
    assert "Les sources ne le disent pas." in fr[0]["content"]
    # the demonstrated turns are identical for every question, so their KV cache is reused
    assert en[:-1] == fr[:-1]


def test_a_question_asking_for_so_many_things_is_told_to_give_them_all():
    """The seed's « Quels sont les quatre objectifs de l'accord ? » listed three objectives."""
    from rag.prompting import asked_count

    for q, n in [
        ("Quels sont les quatre objectifs de l'accord ?", 4),
        ("What are the agreement’s four objectives?", 4),
        ("Citez deux clubs n'ayant pas gagné la Ligue des champions", 2),
        ("quelles sont les 3 basiliques mineures de rome ?", 3),
        ("What were the three parts of Kublai's government?", 3),
        ("Combien d’objectifs principaux l’accord comprend-il ?", None),
        ("Quel est l'autre nom de la guerre de Sept Ans ?", None),
        ("Qui récupéra le trône à la suite du retrait des deux prétendants ?", None),
    ]:
        assert asked_count(q) == n, q
    told = build_messages("Quels sont les quatre objectifs de l'accord ?", [], "fr")
    assert "The question asks for 4: give all 4." in told[-1]["content"]
    # every other question reads the prompt it read before, byte for byte
    assert "asks for" not in build_messages("Qui a signé l'accord ?", [], "fr")[-1]["content"]


def test_abstention_detection():
    assert is_abstention("The sources do not say.", "en")
    assert is_abstention("Les sources ne le disent pas. [1]", "fr")
    assert not is_abstention("The four objectives are geology [1] and mining [1].", "en")


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path):
    monkeypatch.setenv("RAG_TOP_K", "7")
    monkeypatch.setenv("RAG_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("RAG_LLM", "openai-like")
    s = Settings()
    assert s.retrieval.top_k == 7 and s.store.data_dir == tmp_path
    assert s.models.llm == "openai-like"
    monkeypatch.setenv("RAG_LLM", "gpt-9000")
    with pytest.raises(ValidationError):
        Settings()
    monkeypatch.setenv("RAG_LLM", "llama-cpp")
    monkeypatch.setenv("RAG_TOP_K", "0")
    with pytest.raises(ValidationError):
        Settings()


def test_defaults_work_offline():
    s = Settings()
    assert s.store.vector_store == "chroma-embedded"
    assert s.models.embed_model == "multilingual-e5-small"
    assert s.models.llm_model == "qwen2.5-coder-1.5b-instruct-q4_k_m"


def test_settings_come_in_groups_read_by_their_variable_names(monkeypatch):
    monkeypatch.setenv("RAG_CHUNK_SIZE", "200")
    s = Settings(top_k=3, queue_size=2)
    assert (s.ingest.chunk_size, s.retrieval.top_k, s.serve.queue_size) == (200, 3, 2)
    assert s.changed(top_k=4).retrieval.top_k == 4 and s.retrieval.top_k == 3
    assert Settings.names()["min_passages"] == "retrieval"
    with pytest.raises(TypeError, match="prompt_style"):  # a removed experiment
        Settings(prompt_style="quote")


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"RAG_CHUNK_SIZE": "100", "RAG_CHUNK_OVERLAP": "100"}, "RAG_CHUNK_OVERLAP"),
        ({"RAG_QUEUE_SIZE": "-1"}, "RAG_QUEUE_SIZE"),
        ({"RAG_TOP_K": "3", "RAG_MIN_PASSAGES": "4"}, "RAG_MIN_PASSAGES"),
        ({"RAG_API_KEYS": "short"}, "RAG_API_KEYS"),
        ({"RAG_LOG_LEVEL": "chatty"}, "RAG_LOG_LEVEL"),
    ],
)
def test_settings_that_cannot_work_are_refused_at_start_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], named: str
):
    from rag.settings import describe_settings_error

    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ValidationError) as err:
        Settings()
    assert named in describe_settings_error(err.value)


def test_the_cli_refuses_bad_settings_with_a_message(monkeypatch, capsys):
    from api.cli import main
    from rag.settings import get_settings

    get_settings.cache_clear()
    monkeypatch.setenv("RAG_CHUNK_OVERLAP", "500")
    try:
        assert main(["ask", "Qui ?"]) == 2
    finally:
        get_settings.cache_clear()
    assert "RAG_CHUNK_OVERLAP (500) must be smaller than RAG_CHUNK_SIZE" in capsys.readouterr().err


def test_api_keys_from_a_list_or_a_file(tmp_path):
    keys = tmp_path / "keys"
    keys.write_text("# ops team\nkey-aaaaaaaaaaaaaaaa\n\nkey-bbbbbbbbbbbbbbbb\n")
    assert Settings(api_keys=str(keys)).serve.api_key_list() == [
        "key-aaaaaaaaaaaaaaaa",
        "key-bbbbbbbbbbbbbbbb",
    ]
    both = Settings(api_keys="key-aaaaaaaaaaaaaaaa, key-bbbbbbbbbbbbbbbb").serve.api_key_list()
    assert both == ["key-aaaaaaaaaaaaaaaa", "key-bbbbbbbbbbbbbbbb"]
    assert Settings().serve.api_key_list() == []


def test_concurrent_questions_share_forward_passes():
    import threading
    import time

    import numpy as np

    from rag.embedding import Combiner

    calls: list[list[str]] = []
    arrived: list[int] = []

    def embed(texts):
        calls.append(list(texts))
        if len(calls) == 2:  # the first pass of the crowd lasts until every caller has come
            while len(arrived) < 30:
                time.sleep(0.01)
        time.sleep(0.1)  # a forward pass (the others queue meanwhile, even on a busy CPU)
        return np.asarray([[float(len(t))] for t in texts])

    combine = Combiner(embed)
    assert combine(["seul"]).tolist() == [[4.0]]  # a lone question: its own pass, at once
    results: dict[int, list] = {}

    def ask(i: int) -> None:
        arrived.append(i)
        results[i] = combine(["x" * i, "y" * (i + 100)]).tolist()

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(1, 31)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {i: [[float(i)], [float(i + 100)]] for i in range(1, 31)}
    assert len(calls) <= 5  # 30 callers, a handful of passes
    assert sum(len(c) for c in calls) == 1 + 60


def test_a_failed_pass_reaches_every_caller_of_its_batch():
    from rag.embedding import Combiner

    def broken(texts):
        raise RuntimeError("model gone")

    with pytest.raises(RuntimeError, match="model gone"):
        Combiner(broken)(["q"])
