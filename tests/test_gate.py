"""The generation queue: bounded, exact accounting whatever the client does, honest Retry-After."""

from __future__ import annotations

import threading
import time

import httpx
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from rag.gate import BusyError, CancelledError, GenerationGate
from rag.llm import ScriptedLLM
from tests.conftest import SEED, ingest_into, serving


def test_a_place_released_while_waiting_is_given_back_once():
    gate = GenerationGate(max_waiting=1)
    running = gate.reserve().enter()
    waiting = gate.reserve()
    with pytest.raises(BusyError):
        gate.reserve()
    waiting.release()  # the client went away while it waited
    with pytest.raises(CancelledError):
        waiting.enter()  # its thread then reaches the gate: it must not run, nor count
    assert (gate.running, gate.waiting) == (1, 0)
    running.release()
    assert (gate.running, gate.waiting) == (0, 0)
    # exactly one running and one waiting fit again, not one more
    gate.reserve().enter()
    gate.reserve()
    with pytest.raises(BusyError):
        gate.reserve()


def test_a_cancelled_waiter_leaves_the_queue_without_running():
    gate = GenerationGate(max_waiting=2)
    first = gate.reserve().enter()
    second = gate.reserve()
    cancel = threading.Event()
    outcome: list[str] = []

    def wait() -> None:
        try:
            second.enter(cancel)
            outcome.append("ran")
        except CancelledError:
            outcome.append("cancelled")

    thread = threading.Thread(target=wait)
    thread.start()
    time.sleep(0.3)
    assert gate.waiting == 1 and outcome == []
    cancel.set()
    thread.join(timeout=5)
    assert outcome == ["cancelled"] and (gate.running, gate.waiting) == (1, 0)
    first.release()
    assert (gate.running, gate.waiting) == (0, 0)


def test_retry_after_is_estimated_from_recent_generations():
    gate = GenerationGate(max_waiting=1)
    gate.durations.extend([6.0, 6.0, 6.0])
    gate.reserve().enter()  # has just started: about 6 s left
    gate.reserve()
    waits = set()
    for _ in range(200):
        with pytest.raises(BusyError) as busy:
            gate.reserve()
        waits.add(busy.value.retry_after)
    # no sooner than the running one ends, spread over the time the waiting one takes
    assert min(waits) >= 6 and max(waits) <= 12 and len(waits) >= 4
    assert (busy.value.running, busy.value.waiting) == (1, 1)
    assert gate.estimated_wait() == pytest.approx(12.0, abs=0.5)  # the running one + one


def test_busy_response_carries_the_estimate(settings):
    from rag.components import make_service

    service = make_service(settings, llm=ScriptedLLM())
    service.gate.max_waiting = 0
    service.gate.durations.extend([3.0, 5.0, 4.0])
    ticket = service.gate.reserve()
    ticket.enter()
    r = TestClient(create_app(settings, service)).post("/v1/ask", json={"question": "Qui ?"})
    ticket.release()
    assert r.status_code == 503
    assert r.headers["retry-after"] == "4" == str(r.json()["retry_after"])
    assert r.json()["queue"] == {"running": 1, "waiting": 0}


@pytest.mark.parametrize("stream", [True, False])
def test_a_client_leaving_the_queue_frees_its_place(settings, stream: bool):
    """The first request holds the model; the second waits, then its client hangs up. Before
    the fix, the streamed case left `waiting` at -1 for good (one extra request let in)."""
    from rag.components import make_service

    words = " ".join(f"mot{i}" for i in range(100))  # ~2.5 s, longer than the client waits
    llm = ScriptedLLM(lambda m: words, delay=0.03, piece_size=12)
    service = make_service(settings, llm=llm)
    service.gate.max_waiting = 1
    ingest_into(service, settings, [SEED])
    with serving(create_app(settings, service)) as url:
        first = threading.Thread(
            target=httpx.post,
            args=(f"{url}/v1/ask",),
            kwargs={"json": {"question": "Quels objectifs ?"}, "timeout": 30},
        )
        first.start()
        while service.gate.running == 0:
            time.sleep(0.02)
        with pytest.raises(httpx.ReadTimeout):  # queued: nothing arrives, the client gives up
            body = {"question": "Quels objectifs ?", "stream": stream}
            with httpx.stream("POST", f"{url}/v1/ask", json=body, timeout=0.5) as r:
                for line in r.iter_lines():
                    assert not line.startswith("event: token")
        first.join(timeout=30)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and service.gate.waiting + service.gate.running:
            time.sleep(0.05)
        health = httpx.get(f"{url}/healthz").json()["generations"]
        assert (health["running"], health["waiting"]) == (0, 0)
        assert health["finished"] == 1 and health["cancelled"] == 1
        assert llm.calls and len(llm.calls) == 1  # the second question never reached the model


def test_the_translation_holds_the_slot_and_stops_when_the_client_leaves(settings):
    """An English question answered in French is translated inside the request's slot (it
    used to run after the slot was freed, outside the queue and the cancel flag)."""
    from rag.components import make_service

    translating = threading.Event()

    class Slow(ScriptedLLM):
        def _deltas(self, messages, **kwargs):
            if messages[0].content.startswith("Translate"):
                translating.set()
                for i in range(200):  # a long translation, piece by piece
                    time.sleep(0.02)
                    self.pieces_emitted += 1
                    yield f"word{i} "
                return
            yield from super()._deltas(messages, **kwargs)

    llm = Slow(lambda m: "L’accord vise la géologie et l’exploration minière [1].")
    service = make_service(settings, llm=llm)
    ingest_into(service, settings, [SEED])
    with serving(create_app(settings, service)) as url:
        body = {"question": "What does the agreement aim at?", "stream": True}
        # a draft in the wrong language is held whole (nothing streams) until translated:
        # the client hangs up while the translation runs
        with httpx.stream("POST", f"{url}/v1/ask", json=body, timeout=30) as r:
            assert r.status_code == 200
            assert translating.wait(10)
            assert service.gate.running == 1  # the translation holds the model's slot
        deadline = time.monotonic() + 10
        while service.gate.running and time.monotonic() < deadline:
            time.sleep(0.05)
        emitted = llm.pieces_emitted
        time.sleep(0.3)
        assert llm.pieces_emitted == emitted < 200  # it stopped with the client
        assert service.generations_cancelled == 1 and service.gate.running == 0


def test_the_http_side_gives_back_only_places_whose_generation_never_started():
    """A response that ends (client gone) frees a waiting place at once; a running one stays
    counted until its generation thread has stopped and released it (it used to drop to 0
    while the model was still producing its current piece)."""
    gate = GenerationGate(max_waiting=2, slots=1)
    running = gate.reserve().enter()
    waiting = gate.reserve()
    running.abandon()
    waiting.abandon()
    assert (gate.running, gate.waiting) == (1, 0)
    with pytest.raises(CancelledError):
        waiting.enter()  # its request is gone: it never takes the slot
    running.release()  # the generation thread, once stopped
    assert gate.running == 0
