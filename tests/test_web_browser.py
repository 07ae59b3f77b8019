"""The chat page at `/`, driven in headless Chromium (Debian's /usr/bin/chromium) by Playwright.

Most tests run against a live server with the stand-ins (hashing embedder, scripted LLM) and
script the chat stream inside the page where they need a specific answer; the end-to-end test
uses the real models (`integration`). Screenshots go to artifacts/screenshots/.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT, SEED, LiveServer

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost , EXCLUDE 127.0.0.1",
]
DESKTOP = {"width": 1280, "height": 800}
MOBILE = {"width": 390, "height": 844}
FOUR_OBJECTIVES = "What are the agreement's four objectives?"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="browser tests need Debian's Chromium at /usr/bin/chromium "
        "(apt-get install -y chromium chromium-driver)",
    ),
]

# A second article with characters outside the Basic Multilingual Plane before the cited
# sentence: the service's offsets count code points, JavaScript strings count UTF-16 units.
ASTRAL_ARTICLE = (
    "Les émojis dans la presse 🚀\n"
    "émoji, presse, Unicode\n"
    "\n"
    "Les rédactions utilisent parfois des émojis 🚀🛰️ dans leurs titres, ce qui amuse 😀 les "
    "lecteurs.\n"
    "\n"
    "Selon l’étude, 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 compte désormais plus de trois mille émojis normalisés.\n"
    "\n"
    "Le reste de l’article ne dit rien d’autre.\n"
)
ASTRAL_CITED = "Selon l’étude, 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 compte désormais plus de trois mille émojis normalisés."

# Replaces `fetch("/v1/chat")` in the page by a scripted SSE stream while `window.__fakeChat`
# is set: {chunks: [str], delay: ms, hang: bool}. Records every chat request body.
FAKE_CHAT = """
(() => {
  window.__chatRequests = [];
  const realFetch = window.fetch.bind(window);
  window.fetch = (url, options) => {
    const isChat = String(url).endsWith("/v1/chat");
    if (isChat) window.__chatRequests.push(JSON.parse((options && options.body) || "null"));
    const fake = window.__fakeChat;
    if (!isChat || !fake) return realFetch(url, options);
    const encoder = new TextEncoder();
    let timer = null;
    let open = true;
    const body = new ReadableStream({
      start(controller) {
        const chunks = [...fake.chunks];
        const signal = options && options.signal;
        if (signal) signal.addEventListener("abort", () => {
          clearTimeout(timer);
          if (open) controller.error(new DOMException("The user aborted a request.", "AbortError"));
          open = false;
        });
        const next = () => {
          if (!open) return;
          if (!chunks.length) {
            if (!fake.hang) { open = false; controller.close(); }
            return;
          }
          controller.enqueue(encoder.encode(chunks.shift()));
          timer = setTimeout(next, fake.delay || 0);
        };
        next();
      },
      cancel() {
        open = false;
        clearTimeout(timer);
      },
    });
    return Promise.resolve(new Response(body, {
      status: 200, headers: {"Content-Type": "text/event-stream; charset=utf-8"},
    }));
  };
})();
"""


def sse(event: str, data: dict) -> str:
    """One server-sent event, with CRLF line ends as sse-starlette writes them."""
    return f"event: {event}\r\ndata: {json.dumps(data, ensure_ascii=False)}\r\n\r\n"


def tokens(text: str, size: int = 4) -> list[str]:
    return [sse("token", {"text": text[i : i + size]}) for i in range(0, len(text), size)]


def squash(text: str) -> str:
    return "".join(text.split())


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def browser() -> Iterator:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def light_server(tmp_path_factory) -> Iterator[LiveServer]:
    """`rag serve` with the stand-ins: fast to start; the scripted LLM always abstains."""
    folder = tmp_path_factory.mktemp("web")
    astral = folder / "emojis_presse.txt"
    astral.write_text(ASTRAL_ARTICLE, encoding="utf-8")
    server = LiveServer(
        folder / "data",
        env={"RAG_EMBEDDER": "hashing", "RAG_LLM": "scripted"},
        ingest=(SEED, astral),
    ).wait_ready(timeout=120)
    yield server
    server.stop()


@pytest.fixture
def page(browser, light_server):
    context = browser.new_context(viewport=DESKTOP, locale="en-GB")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.add_init_script(FAKE_CHAT)
    page.goto(light_server.url + "/")
    page.wait_for_selector("#docs-list li", state="attached")
    yield page
    context.close()
    assert not errors, f"JavaScript errors in the page: {errors}"


def documents(server: LiveServer) -> dict[str, dict]:
    listed = httpx.get(f"{server.url}/v1/documents", timeout=10).json()
    return {
        d["doc_id"]: httpx.get(f"{server.url}/v1/documents/{d['doc_id']}", timeout=10).json()
        for d in listed
    }


def citation(doc: dict, n: int, passage: str) -> dict:
    start = doc["text"].index(passage)  # Python indices: code points, as the service sends
    return {
        "n": n,
        "doc_id": doc["doc_id"],
        "title": doc["title"],
        "text": passage,
        "start": start,
        "end": start + len(passage),
        "score": 0.5,
        "source": "",
    }


def objectives_stream(server: LiveServer) -> tuple[list[str], str, list[dict]]:
    docs = documents(server)
    seed = docs[SEED.stem]
    astral = next(d for d in docs.values() if d["doc_id"] != SEED.stem)
    text = seed["text"]
    start = text.index("Vers un partenariat renforcé")
    passage = text[start : text.index("d’innovation.", start) + len("d’innovation.")]
    citations = [citation(seed, 1, passage), citation(astral, 2, ASTRAL_CITED)]
    answer = (
        "L’accord comprend **quatre objectifs** [1] : la géologie et l’exploration, les projets "
        "miniers conjoints, l’attraction de capitaux et le développement durable [1]. "
        "Unicode compte plus de trois mille émojis [2]."
    )
    chunks = [
        sse("meta", {"searched": "Quels sont les quatre objectifs ?", "language": "fr"}),
        *tokens(answer),
        sse("citations", {"citations": citations}),
        sse(
            "done",
            {
                "answer": answer,
                "citations": citations,
                "language": "fr",
                "abstained": False,
                "searched": "Quels sont les quatre objectifs ?",
                "timings": {"total_ms": 1234.5},
            },
        ),
    ]
    return chunks, answer, citations


def ask(page, question: str) -> None:
    page.fill("#question", question)
    page.press("#question", "Enter")


def wait_answered(page, count: int = 1, timeout: float = 15_000) -> None:
    page.wait_for_function(
        "n => document.querySelectorAll('.msg-assistant[aria-busy=\"false\"]').length >= n"
        " && document.getElementById('stop').hidden",
        arg=count,
        timeout=timeout,
    )


def marked_text(page) -> str:
    return "".join(page.locator("#panel-text mark").all_text_contents())


# ---------------------------------------------------------------- the page itself


def test_page_is_self_contained_and_lists_the_articles(page, light_server):
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    page.reload()
    page.wait_for_selector("#docs-list li", state="attached")
    assert page.title() == "Ask the news · cited answers"
    assert page.get_attribute("html", "lang") == "en"
    assert all(u.startswith(light_server.url) or u.startswith("data:") for u in requested), (
        requested
    )
    styles = page.evaluate("getComputedStyle(document.querySelector('.topbar')).display")
    assert styles == "flex", "app.css was not loaded from /static/"
    docs = page.locator("#docs-list li")
    assert docs.count() == 2
    first = docs.filter(has_text="Renforcement de la coopération franco-kazakhe")
    assert first.locator(".doc-meta").inner_text().startswith("5 passages")
    assert page.locator("#banner").is_hidden()
    assert "2 articles" in page.inner_text("#corpus-status")


def test_streamed_answer_citations_and_source_panel(page, light_server):
    chunks, answer, citations = objectives_stream(light_server)
    # hold the stream before the citations arrive, to see markers pending meanwhile
    page.evaluate("c => { window.__fakeChat = {chunks: c, delay: 15}; }", chunks)
    ask(page, "Quels sont les quatre objectifs de l’accord ?")
    assert page.is_disabled("#send") and page.is_visible("#stop")
    page.wait_for_selector(".answer .cite.pending")
    wait_answered(page)
    assert page.is_hidden("#stop")
    bubble = page.locator(".msg-assistant").first
    assert bubble.get_attribute("lang") == "fr"
    assert bubble.locator(".answer").inner_text() == answer.replace("**", "")
    assert bubble.locator(".answer strong").inner_text() == "quatre objectifs"
    links = bubble.locator(".answer a.cite")
    assert links.all_inner_texts() == ["[1]", "[1]", "[2]"]
    assert bubble.locator(".cite.pending").count() == 0

    # [1] opens the article with the cited paragraph highlighted, title and keywords
    links.first.click()
    panel = page.locator("#source-panel")
    panel.wait_for()
    page.wait_for_selector("#panel-text mark")
    assert page.inner_text("#panel-eyebrow").lower() == "source [1]"
    assert page.inner_text("#panel-title") == citations[0]["title"]
    assert "minéraux critiques" in page.locator("#panel-keywords li").all_inner_texts()
    assert squash(marked_text(page)) == squash(citations[0]["text"])
    assert "quatre objectifs principaux" in marked_text(page)
    assert "s’est félicité de la coopération actuelle" in page.inner_text("#panel-text")  # context
    assert page.evaluate("document.activeElement.id") == "panel-title"

    # Esc closes it and gives the focus back to the marker
    page.keyboard.press("Escape")
    assert panel.is_hidden()
    assert page.evaluate("document.activeElement.textContent") == "[1]"

    # keyboard only: the marker is a real link, Enter opens the panel
    page.focus(".answer a.cite >> nth=2")
    page.keyboard.press("Enter")
    page.wait_for_selector("#panel-text mark")
    # code-point offsets with astral characters before the span: the exact sentence
    assert marked_text(page) == ASTRAL_CITED
    page.keyboard.press("Escape")

    # the sources list under the answer opens the same panel
    sources = bubble.locator("details.sources")
    assert sources.locator("summary").inner_text() == "Sources (2)"
    sources.locator("summary").click()
    items = sources.locator(".source-link")
    assert items.count() == 2
    items.nth(0).click()
    page.wait_for_selector("#panel-text mark")
    assert "quatre objectifs principaux" in marked_text(page)


def test_follow_up_sends_the_conversation_and_new_conversation_clears_it(page, light_server):
    chunks, answer, _ = objectives_stream(light_server)
    page.evaluate("c => { window.__fakeChat = {chunks: c, delay: 0}; }", chunks)
    ask(page, "Quels sont les quatre objectifs ?")
    wait_answered(page)
    ask(page, "Et le fonds ?")
    wait_answered(page, 2)
    sent = page.evaluate("window.__chatRequests")
    assert sent[0] == {
        "messages": [{"role": "user", "content": "Quels sont les quatre objectifs ?"}],
        "stream": True,
    }
    assert sent[1]["messages"] == [
        {"role": "user", "content": "Quels sont les quatre objectifs ?"},
        {"role": "assistant", "content": answer},
        {"role": "user", "content": "Et le fonds ?"},
    ]
    page.click("#new-conversation")
    assert page.locator(".turn").count() == 0
    assert page.is_visible("#welcome")
    ask(page, "Autre chose ?")
    wait_answered(page)
    sent = page.evaluate("window.__chatRequests")
    assert sent[2]["messages"] == [{"role": "user", "content": "Autre chose ?"}]


def test_stop_cancels_the_stream(page):
    chunks = [sse("meta", {"searched": "q", "language": "en"}), *tokens("The agreement has")]
    page.evaluate("c => { window.__fakeChat = {chunks: c, delay: 10, hang: true}; }", chunks)
    ask(page, "What are the objectives?")
    page.wait_for_function("document.querySelector('.answer').textContent.includes('has')")
    assert page.is_disabled("#send")
    page.click("#stop")
    page.wait_for_selector(".stopped-note")
    assert "Stopped" in page.inner_text(".stopped-note")
    assert page.is_hidden("#stop")
    page.fill("#question", "Next?")
    assert page.is_enabled("#send")
    # a stopped answer is not sent back as conversation history
    page.evaluate("window.__fakeChat = null")
    page.press("#question", "Enter")
    wait_answered(page, 1)
    assert page.evaluate("window.__chatRequests")[1]["messages"] == [
        {"role": "user", "content": "Next?"}
    ]


def test_abstention_from_the_live_chat_endpoint(page, light_server):
    """The real `/v1/chat` stream (scripted LLM: it always abstains) rendered distinctly."""
    ask(page, "Quelle est la capitale du Pérou ?")
    wait_answered(page)
    bubble = page.locator(".msg-assistant").first
    assert "abstained" in (bubble.get_attribute("class") or "")
    assert bubble.locator(".answer").inner_text() in (
        "Les sources ne le disent pas.",
        "The sources do not say.",
    )
    assert "do not answer this question" in bubble.locator(".abstain-note").inner_text()
    assert bubble.locator("a.cite").count() == 0
    assert bubble.locator("details.sources").count() == 0


def test_http_errors_and_stream_errors_show_their_reason(page):
    detail = [
        {
            "type": "value_error",
            "loc": ["body", "messages"],
            "msg": "Value error, the question is 2001 characters long; the limit is 2000",
        }
    ]
    page.route(
        "**/v1/chat",
        lambda route: route.fulfill(
            status=422, content_type="application/json", body=json.dumps({"detail": detail})
        ),
    )
    ask(page, "Too long, says the server")
    note = page.locator(".error-note").first
    note.wait_for()
    assert "(422)" in note.inner_text()
    assert "the limit is 2000" in note.inner_text() and "Value error" not in note.inner_text()

    page.unroute("**/v1/chat")
    page.route(
        "**/v1/chat",
        lambda route: route.fulfill(
            status=503,
            headers={"Retry-After": "5"},
            content_type="application/json",
            body=json.dumps({"detail": "the model is busy; try again shortly"}),
        ),
    )
    ask(page, "Again")
    note = page.locator(".error-note").nth(1)
    note.wait_for()
    assert "busy" in note.inner_text() and "5 s" in note.inner_text()
    assert note.locator("button", has_text="Try again").count() == 1
    page.unroute("**/v1/chat")

    chunks = [
        sse("meta", {"searched": "q", "language": "en"}),
        *tokens("Partial"),
        sse("error", {"detail": "the model crashed"}),
    ]
    page.evaluate("c => { window.__fakeChat = {chunks: c, delay: 0}; }", chunks)
    ask(page, "And now?")
    note = page.locator(".error-note").nth(2)
    note.wait_for()
    assert "the model crashed" in note.inner_text()
    assert page.is_hidden("#stop")


def test_unreachable_service(page, light_server):
    page.route("**/healthz", lambda route: route.abort("connectionrefused"))
    page.route("**/v1/**", lambda route: route.abort("connectionrefused"))
    page.reload()
    banner = page.locator("#banner")
    banner.wait_for()
    assert "unreachable" in banner.inner_text()
    assert page.is_visible("#banner-retry")
    assert "unreachable" in page.inner_text("#corpus-status").lower()
    ask(page, "Is anybody there?")
    note = page.locator(".error-note")
    note.wait_for()
    assert "Could not reach the answering service" in note.inner_text()
    assert page.is_hidden("#stop")

    # back online: Retry clears the banner and loads the articles
    page.unroute("**/healthz")
    page.unroute("**/v1/**")
    page.click("#banner-retry")
    banner.wait_for(state="hidden")
    page.wait_for_selector("#docs-list li", state="attached")


def test_empty_corpus_banner(page):
    page.route(
        "**/healthz",
        lambda route: route.fulfill(
            json={
                "status": "ok",
                "passages": 0,
                "documents": 0,
                "llm": "scripted",
                "embedder": "hashing",
            }
        ),
    )
    page.route("**/v1/documents", lambda route: route.fulfill(json=[]))
    page.reload()
    banner = page.locator("#banner")
    banner.wait_for()
    assert "No articles ingested yet" in banner.inner_text()
    assert "rag ingest PATH" in banner.inner_text()
    assert "No articles" in page.inner_text("#docs-empty")


def test_empty_question_sends_nothing(page):
    chat_requests: list[str] = []
    page.on("request", lambda r: chat_requests.append(r.url) if "/v1/" in r.url else None)
    box = page.locator("#question")
    assert page.is_disabled("#send")
    box.focus()
    page.keyboard.press("Enter")
    assert "Type a question first" in page.inner_text("#composer-message")
    box.fill("   ")
    assert page.is_disabled("#send")
    page.keyboard.press("Enter")
    # Shift+Enter inserts a new line instead of sending
    box.fill("")
    page.keyboard.type("Première ligne")
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("deuxième")
    assert box.input_value() == "Première ligne\ndeuxième"
    assert page.is_enabled("#send")
    page.wait_for_timeout(300)
    assert chat_requests == []
    assert page.evaluate("window.__chatRequests") == []
    assert page.locator(".turn").count() == 0


def test_narrow_screen_layout(browser, light_server):
    context = browser.new_context(viewport=MOBILE, device_scale_factor=1)
    page = context.new_page()
    page.add_init_script(FAKE_CHAT)
    page.goto(light_server.url + "/")
    page.wait_for_selector("#docs-list li", state="attached")
    chunks, _, _ = objectives_stream(light_server)
    page.evaluate("c => { window.__fakeChat = {chunks: c, delay: 0}; }", chunks)
    ask(page, "Quels sont les quatre objectifs ?")
    wait_answered(page)
    page.click(".answer a.cite >> nth=0")
    page.wait_for_selector("#panel-text mark")
    # no sideways scrolling; the panel sits below the conversation
    assert page.evaluate("document.documentElement.scrollWidth") <= MOBILE["width"]
    chat = page.locator("#chat").bounding_box()
    panel = page.locator("#source-panel").bounding_box()
    assert chat and panel and panel["y"] >= chat["y"] + chat["height"] - 1
    assert panel["width"] <= MOBILE["width"]
    assert page.locator("#panel-text mark").first.is_visible()
    context.close()


# ---------------------------------------------------------------- end to end, real models


def _objectives_shown(answer: str) -> list[str]:
    text = answer.lower()
    checks = {
        "geology and exploration": "geolog" in text or "géolog" in text,
        "joint mining projects": bool(re.search(r"\bmin(ing|e|es|ier|iers)\b", text))
        and ("project" in text or "projet" in text),
        "attracting capital": "capital" in text or "capitaux" in text,
        "sustainable development and innovation": "sustainab" in text or "durable" in text,
    }
    return [name for name, ok in checks.items() if not ok]


@pytest.mark.integration
def test_four_objectives_end_to_end(browser, live_server):
    SHOTS.mkdir(parents=True, exist_ok=True)
    (SHOTS / "chat-failure.png").unlink(missing_ok=True)
    context = browser.new_context(viewport=DESKTOP, locale="en-GB")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    try:
        page.goto(live_server.url + "/")
        page.wait_for_selector("#docs-list li", state="attached")
        ask(page, FOUR_OBJECTIVES)
        assert page.is_disabled("#send")
        wait_answered(page, timeout=300_000)  # 2 CPU cores
        bubble = page.locator(".msg-assistant").first
        answer = bubble.locator(".answer").inner_text()
        assert "failed" not in (bubble.get_attribute("class") or ""), bubble.inner_text()
        missing = _objectives_shown(answer)
        assert not missing, f"objectives missing from the answer {answer!r}: {missing}"
        assert bubble.get_attribute("lang") == "en"

        marker = bubble.locator(".answer a.cite", has_text="[1]").first
        marker.click()
        page.wait_for_selector("#panel-text mark")
        highlighted = marked_text(page)
        assert "quatre objectifs principaux" in highlighted, highlighted
        assert "franco-kazakhe" in page.inner_text("#panel-title")
        assert page.locator("#panel-keywords li").count() > 0
        page.screenshot(path=str(SHOTS / "chat-desktop.png"))

        page.set_viewport_size(MOBILE)
        marker.click()  # re-open at the narrow width: the panel moves below the conversation
        page.wait_for_selector("#panel-text mark")
        assert page.evaluate("document.documentElement.scrollWidth") <= MOBILE["width"]
        page.screenshot(path=str(SHOTS / "chat-mobile-390.png"))
        page.screenshot(path=str(SHOTS / "chat-mobile-390-full.png"), full_page=True)
        assert not errors, errors
    except Exception:
        page.screenshot(path=str(SHOTS / "chat-failure.png"), full_page=True)
        print(live_server.log()[-4000:])
        raise
    finally:
        context.close()
