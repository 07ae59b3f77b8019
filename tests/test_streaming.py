"""Streaming, chat and the OpenAI-compatible endpoint, with the scripted LLM."""

from __future__ import annotations

import json
import re
import time

import httpx
import pytest
from fastapi.testclient import TestClient
from llama_index.core.llms import ChatMessage

from api.app import create_app
from rag.gate import BusyError
from rag.llm import ScriptedLLM
from tests.conftest import SEED, ingest_into, serving

ANSWER = "Geology and exploration [2], then mining [1][7], capital [2]. Nothing else [0]."


def objectives_or_condense(messages) -> str:
    user = messages[-1].content
    if user.startswith("Conversation:"):
        return "Which of the agreement's four objectives is listed first?"
    return ANSWER


def parse_sse(text: str) -> list[tuple[str, dict | str]]:
    events = []
    for block in re.split(r"\r?\n\r?\n", text.strip()):
        name, data = "message", []
        for line in block.splitlines():
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].strip())
        if data:
            raw = "\n".join(data)
            events.append((name, raw if raw == "[DONE]" else json.loads(raw)))
    return events


@pytest.fixture
def app_and_llm(settings):
    from rag.components import make_service

    llm = ScriptedLLM(objectives_or_condense)
    service = make_service(settings, llm=llm)
    ingest_into(service, settings, [SEED])
    return create_app(settings, service), llm, service


def test_sse_framing_and_identical_citations(app_and_llm):
    app, _, _ = app_and_llm
    client = TestClient(app)
    q = {"question": "What are the agreement's four objectives?"}
    plain = client.post("/v1/ask", json=q).json()
    r = client.post("/v1/ask", json={**q, "stream": True})
    assert r.headers["content-type"].startswith("text/event-stream")
    events = parse_sse(r.text)
    names = [n for n, _ in events]
    assert names[0] == "meta" and names[-2:] == ["citations", "done"]
    assert set(names[1:-2]) == {"token"}
    tokens = [d["text"] for n, d in events if n == "token"]
    # released claim by claim once verified: what streams is the answer, never taken back
    assert tokens == [
        "Geology and exploration [1], then mining [1], capital [2].",
        " Nothing else.",
    ]
    for t in tokens:  # no invalid marker ever reaches the client, even mid-stream
        assert not re.search(r"\[(0|7)\]", t) and "[7" not in t and "[0" not in t
    streamed = "".join(tokens)
    done = events[-1][1]
    assert streamed == done["answer"] == plain["answer"]
    assert (
        plain["answer"]
        == "Geology and exploration [1], then mining [1], capital [2]. Nothing else."
    )
    assert events[-2][1]["citations"] == done["citations"] == plain["citations"]
    assert [c["n"] for c in plain["citations"]] == [1, 2]


def test_chat_condenses_follow_ups_only(app_and_llm):
    app, llm, _ = app_and_llm
    client = TestClient(app)
    first = client.post(
        "/v1/chat",
        json={
            "messages": [{"role": "user", "content": "What are the agreement's four objectives?"}]
        },
    ).json()
    assert first["searched"] == "What are the agreement's four objectives?"
    assert first["condensed"] is False and len(llm.calls) == 1
    follow = client.post(
        "/v1/chat",
        json={
            "messages": [
                {"role": "user", "content": "What are the agreement's four objectives?"},
                {"role": "assistant", "content": first["answer"]},
                {"role": "user", "content": "Which one is listed first?"},
            ]
        },
    ).json()
    assert follow["condensed"] is True
    assert follow["searched"] == "Which of the agreement's four objectives is listed first?"
    assert len(llm.calls) == 3  # one rewrite + one answer
    assert "Which one is listed first?" in llm.calls[1][-1].content  # the rewrite saw it
    selfcontained = client.post(
        "/v1/chat",
        json={
            "messages": [
                {"role": "user", "content": "What are the agreement's four objectives?"},
                {"role": "assistant", "content": first["answer"]},
                {
                    "role": "user",
                    "content": "How large is the French investment fund for minerals?",
                },
            ]
        },
    ).json()
    assert selfcontained["condensed"] is False and len(llm.calls) == 4


def test_chat_rejects_bad_conversations(app_and_llm):
    client = TestClient(app_and_llm[0])
    assert client.post("/v1/chat", json={"messages": []}).status_code == 422
    r = client.post("/v1/chat", json={"messages": [{"role": "assistant", "content": "hi"}]})
    assert r.status_code == 422 and "last message" in r.text
    r = client.post("/v1/chat", json={"messages": [{"role": "user", "content": "  "}]})
    assert r.status_code == 422 and "empty" in r.text


def test_openai_compatible_endpoints(app_and_llm):
    client = TestClient(app_and_llm[0])
    assert client.get("/v1/models").json()["data"][0]["id"] == "ragkit"
    body = {
        "model": "ragkit",
        "messages": [
            {"role": "system", "content": "You are helpful."},
            {"role": "user", "content": "What are the agreement's four objectives?"},
        ],
    }
    plain = client.post("/v1/chat/completions", json=body).json()
    assert plain["object"] == "chat.completion"
    assert plain["choices"][0]["message"]["content"].startswith("Geology and exploration [1]")
    assert [c["n"] for c in plain["citations"]] == [1, 2]
    r = client.post("/v1/chat/completions", json={**body, "stream": True})
    events = parse_sse(r.text)
    assert events[-1][1] == "[DONE]"
    chunks = [d for _, d in events[:-1]]
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert text.strip() == plain["choices"][0]["message"]["content"]
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["citations"] == plain["citations"]


def test_queue_is_bounded(settings):
    from rag.components import make_service

    service = make_service(settings, llm=ScriptedLLM())
    service.gate.max_waiting = 1
    running = service.gate.reserve()
    waiting = service.gate.reserve()
    with pytest.raises(BusyError):
        service.gate.reserve()
    client = TestClient(create_app(settings, service))
    r = client.post("/v1/ask", json={"question": "Qui ?"})
    assert r.status_code == 503 and r.headers["retry-after"] and "busy" in r.json()["detail"]
    running.release()
    waiting.release()
    assert service.gate.waiting == service.gate.running == 0
    never_started = service.gate.reserve()
    never_started.release()
    never_started.release()  # idempotent
    assert service.gate.waiting == service.gate.running == 0


def test_client_disconnect_stops_generation(settings):
    """A real uvicorn server; the client reads two tokens (verified claims) and hangs up."""
    from rag.components import make_service

    body = SEED.read_text().split("\n\n", 1)[1]  # sentences the sources hold: released
    llm = ScriptedLLM(lambda m: body * 3, delay=0.02, piece_size=5)
    service = make_service(settings, llm=llm)
    ingest_into(service, settings, [SEED])
    with serving(create_app(settings, service)) as url:
        with httpx.stream(
            "POST", f"{url}/v1/ask", json={"question": "Quels sont les objectifs ?", "stream": True}
        ) as r:
            seen = 0
            for line in r.iter_lines():
                seen += line.startswith("event: token")
                if seen >= 2:
                    break
        deadline = time.time() + 10
        while time.time() < deadline and service.generations_cancelled == 0:
            time.sleep(0.05)
        health = httpx.get(f"{url}/healthz").json()["generations"]
        assert health["cancelled"] == 1 and health["finished"] == 0
        emitted = llm.pieces_emitted
        time.sleep(0.5)
        assert llm.pieces_emitted == emitted < len(body) // 5  # nothing more is generated
        assert health["running"] == 0


def test_failed_rewrite_searches_with_the_previous_question(settings):
    from rag.components import make_service

    def script(messages) -> str:
        user = messages[-1].content
        return "Which one is listed first?" if user.startswith("Conversation:") else ANSWER

    service = make_service(settings, llm=ScriptedLLM(script))
    ingest_into(service, settings, [SEED])
    answer = service.chat(
        [
            {"role": "user", "content": "What are the agreement's four objectives?"},
            {"role": "assistant", "content": "Geology [1]."},
            {"role": "user", "content": "Which one is listed first?"},
        ]
    )
    assert answer.searched == "What are the agreement's four objectives? Which one is listed first?"


def test_a_failure_mid_stream_ends_the_openai_stream_with_an_error_and_done(settings):
    from rag.components import make_service

    class Failing(ScriptedLLM):
        def _deltas(self, messages, **kwargs):
            yield "Le titane est crucial pour l’industrie aéronautique [1]. "
            yield "Benjamin "
            raise RuntimeError("the model crashed")

    service = make_service(settings, llm=Failing())
    ingest_into(service, settings, [SEED])
    client = TestClient(create_app(settings, service))
    body = {"model": "ragkit", "stream": True, "messages": [{"role": "user", "content": "Quoi ?"}]}
    events = parse_sse(client.post("/v1/chat/completions", json=body).text)
    assert events[-1][1] == "[DONE]"
    assert "the model crashed" in events[-2][1]["error"]["message"]
    assert (
        "".join(
            c["choices"][0]["delta"].get("content", "") for _, c in events[:-2] if "choices" in c
        )
        == "Le titane est crucial pour l’industrie aéronautique [1]."
    )  # the verified claim streamed; the unfinished one never reached the client
    ask = parse_sse(client.post("/v1/ask", json={"question": "Quoi ?", "stream": True}).text)
    assert ask[-1][0] == "error" and "the model crashed" in ask[-1][1]["detail"]
    assert service.gate.running == service.gate.waiting == 0


def test_the_question_limit_is_the_apps_own_setting(settings):
    from rag.components import make_service

    strict = settings.changed(max_question_chars=20)
    client = TestClient(create_app(strict, make_service(strict, llm=ScriptedLLM())))
    long = "Quels sont les objectifs de l'accord ?"  # 38 characters: fine globally, not here
    for path, body in [
        ("/v1/ask", {"question": long}),
        ("/v1/retrieve", {"question": long}),
        ("/v1/chat", {"messages": [{"role": "user", "content": long}]}),
        ("/v1/chat/completions", {"messages": [{"role": "user", "content": long}]}),
    ]:
        r = client.post(path, json=body)
        assert r.status_code == 422, (path, r.text)
        detail = r.json()["detail"]
        assert isinstance(detail, list) and "the limit is 20" in detail[0]["msg"], path


def _seed_client(settings) -> tuple[TestClient, ScriptedLLM]:
    """An app over the seed whose scripted model records the calls it gets."""
    from rag.components import make_service

    llm = ScriptedLLM(objectives_or_condense)
    service = make_service(settings, llm=llm)
    ingest_into(service, settings, [SEED])
    return TestClient(create_app(settings, service)), llm


def test_no_related_passage_abstains_before_the_model_reads(settings, monkeypatch):
    """The relevance floor (rag.answer.decide): when no sentence of the passages comes close
    to the question, the answer abstains without a generation, says why, and streams what it
    returns. (0.3: a floor the hashing embedder's unrelated question stays under.)"""
    from rag.answer import decide

    monkeypatch.setattr(decide, "OTHER_FLOOR", 0.3)
    client, llm = _seed_client(settings)
    far = client.post("/v1/ask", json={"question": "Who painted the Mona Lisa in Florence?"})
    body = far.json()
    assert body["abstained"] and body["answer"] == "The sources do not say."
    assert [v["rule"] for v in body["verification"]] == ["relevance"]
    assert "below 0.3" in body["verification"][0]["reason"] and not body["citations"]
    assert llm.calls == []
    streamed = parse_sse(
        client.post(
            "/v1/ask", json={"question": "Who painted the Mona Lisa in Florence?", "stream": True}
        ).text
    )
    tokens = "".join(d["text"] for n, d in streamed if n == "token")
    assert tokens == streamed[-1][1]["answer"] == body["answer"]
    # a question about the article is read by the model as before
    near = client.post(
        "/v1/ask", json={"question": "Quels sont les quatre objectifs de l’accord ?"}
    )
    assert not near.json()["abstained"] and llm.calls  # read (and translated) by the model


def test_a_french_question_naming_what_no_passage_names_is_declined_unread(settings):
    """Rule `question-names` before generation: no passage names Marseille, so the model
    is not asked; a question about what the seed names is read as before."""
    client, llm = _seed_client(settings)
    body = client.post("/v1/ask", json={"question": "Quelle est la population de Marseille ?"})
    body = body.json()
    assert body["abstained"] and body["answer"] == "Les sources ne le disent pas."
    assert [v["rule"] for v in body["verification"]] == ["question-names"]
    assert "marseille" in body["verification"][0]["reason"] and llm.calls == []
    near = client.post("/v1/ask", json={"question": "Que pense Benjamin Gallezot du titane ?"})
    assert llm.calls and "question-names" not in [v["rule"] for v in near.json()["verification"]]


def test_the_english_threshold_judges_english_passages_only(settings, tmp_path, monkeypatch):
    """The English floor gates an English question over English articles; over a French
    article (cross-lingual similarities run lower) it never declines."""
    from rag.answer import decide
    from rag.components import make_service

    monkeypatch.setattr(decide, "ENGLISH_FLOOR", 0.99)
    article = tmp_path / "rain.txt"
    article.write_text(
        "Heavy rain in Leeds\n\nHeavy rain flooded three streets of Leeds on Monday. The "
        "council opened two shelters for the night. Buses ran again on Tuesday morning.\n"
    )
    question = {"question": "Who painted the Mona Lisa in Florence?"}
    for paths, declined in (([article], True), ([SEED], False)):
        llm = ScriptedLLM(objectives_or_condense)
        own = settings.changed(data_dir=tmp_path / paths[0].stem)
        service = make_service(own, llm=llm)
        ingest_into(service, own, paths)
        body = TestClient(create_app(own, service)).post("/v1/ask", json=question).json()
        rules = [v["rule"] for v in body["verification"]]
        assert (rules == ["relevance"]) is declined, (paths, body)
        assert (llm.calls == []) is declined


def test_a_draft_that_copies_the_sources_out_stops_at_the_header(settings):
    """Seen on 264 articles: the model answered, then began reprinting the sources in the
    prompt's own format ("[3] Title", then its text). The claims before the header stay,
    generation stops there, and what streamed is the answer."""
    from rag.components import make_service

    def dump(messages) -> str:
        user = messages[-1].content
        blocks = re.findall(r"^\[(\d+)\] (.+)$", user, flags=re.M)
        n, title = next((n, t) for n, t in blocks if "objectifs" in user.split(f"[{n}] ")[1][:2000])
        first = f"L’accord comprend quatre objectifs [{n}]."
        return (
            f"{first}\n\n[{n}] {title}\n"
            + "Un texte recopié de la source, phrase après phrase. " * 40
        )

    llm = ScriptedLLM(dump)
    service = make_service(settings, llm=llm)
    ingest_into(service, settings, [SEED])
    client = TestClient(create_app(settings, service))
    q = {"question": "Quels sont les quatre objectifs de l’accord ?", "stream": True}
    events = parse_sse(client.post("/v1/ask", json=q).text)
    streamed = "".join(d["text"] for n, d in events if n == "token")
    done = events[-1][1]
    assert streamed == done["answer"] == "L’accord comprend quatre objectifs [1]."
    stops = [v for v in done["verification"] if v["action"] == "stop"]
    assert [v["rule"] for v in stops] == ["copies-heading"]
    full = len(dump(llm.calls[-1])) // llm.piece_size
    assert llm.pieces_emitted < full / 2  # it stopped reading the model, not just hiding text


def test_the_scripted_model_keeps_only_its_recent_calls():
    # a scripted server soaked for hours (rag bench memory_scripted) must not grow
    llm = ScriptedLLM(lambda m: "ok [1].", keep_calls=3)
    for i in range(10):
        llm.chat([ChatMessage(role="user", content=f"question {i}")])
    assert [c[-1].content for c in llm.calls] == ["question 7", "question 8", "question 9"]


def test_a_draft_that_only_gives_the_question_back_is_declined_after_one_call(settings):
    """« Pourquoi l'astre semble-t-il disparaître ? [1] »: nothing was said; the answer is
    declined at once, with the rule's reason, without a second model call."""
    question = "Pourquoi la France veut-elle élargir sa collaboration ?"

    def script(messages) -> str:
        if "quatre objectifs" in messages[-1].content:
            return "Le premier objectif est la coopération en géologie et exploration [1]."
        return "Pourquoi la France veut-elle élargir sa collaboration ? [1]"

    from rag.components import make_service

    llm = ScriptedLLM(script)
    service = make_service(settings, llm=llm)
    ingest_into(service, settings, [SEED])
    answer = service.ask(question)
    assert len(llm.calls) == 1 and answer.abstained
    assert answer.answer == "Les sources ne le disent pas."
    rules = [d["rule"] for d in answer.verification]
    assert rules == ["restates-question", "abstention"]
    # an answer that says something is its own answer
    other = service.ask("Quels sont les quatre objectifs de l’accord ?")
    assert len(llm.calls) == 2 and other.answer.startswith("Le premier objectif")
