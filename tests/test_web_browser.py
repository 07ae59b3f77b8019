"""The chat page at `/`, driven in headless Chromium (Debian's /usr/bin/chromium) by Playwright.

Most tests run against a live server with the stand-ins (hashing embedder, scripted LLM) and
script the chat stream inside the page where they need a specific answer; the end-to-end test
uses the real models (`integration`). Managing documents (upload, conflicts, deletion) runs
against its own server whose uploads are always queued (202, then the job is polled), and the
API key prompt against a server that requires keys. Screenshots go to artifacts/screenshots/.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

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
API_KEY = "k3y-for-the-browser-01"  # keys need at least 16 characters
DOCS_PAGE = re.compile(r".*/v1/documents(\?.*)?$")

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
# is set: {chunks: [str], delay: ms, hang: bool, busy: [{retryAfter, queue}]}; each `busy`
# entry first answers one request 503 with that Retry-After, as a full generation queue does.
# Records every chat request body (and when it was made).
FAKE_CHAT = """
(() => {
  window.__chatRequests = [];
  window.__chatTimes = [];
  const realFetch = window.fetch.bind(window);
  window.fetch = (url, options) => {
    const isChat = String(url).endsWith("/v1/chat");
    if (isChat) {
      window.__chatRequests.push(JSON.parse((options && options.body) || "null"));
      window.__chatTimes.push(Date.now());
    }
    const fake = window.__fakeChat;
    if (!isChat || !fake) return realFetch(url, options);
    if (fake.busy && fake.busy.length) {
      const busy = fake.busy.shift();
      const body = {detail: "the model is busy with other questions; try again shortly",
                    retry_after: busy.retryAfter, queue: busy.queue};
      return Promise.resolve(new Response(JSON.stringify(body), {
        status: 503,
        headers: {"Content-Type": "application/json", "Retry-After": String(busy.retryAfter)},
      }));
    }
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


def listed(server: LiveServer, headers: dict | None = None) -> dict[str, dict]:
    """GET /v1/documents, every page: doc_id -> its summary."""
    found: dict[str, dict] = {}
    offset = 0
    while True:
        page = httpx.get(
            f"{server.url}/v1/documents",
            params={"offset": offset, "limit": 500},
            headers=headers,
            timeout=10,
        ).json()
        found.update((d["doc_id"], d) for d in page["documents"])
        offset += len(page["documents"])
        if not page["documents"] or offset >= page["total"]:
            return found


def documents(server: LiveServer, headers: dict | None = None) -> dict[str, dict]:
    return {
        doc_id: httpx.get(f"{server.url}/v1/documents/{doc_id}", headers=headers, timeout=10).json()
        for doc_id in listed(server, headers)
    }


SUPPORTING = "Cet accord comprend quatre objectifs principaux"


def citation(doc: dict, n: int, passage: str, supporting: str = "") -> dict:
    start = doc["text"].index(passage)  # Python indices: code points, as the service sends
    highlights = []
    if supporting:  # the sentence of the passage that starts with `supporting`
        s = doc["text"].index(supporting, start)
        highlights = [{"start": s, "end": doc["text"].index(".", s) + 1}]
    return {
        "highlights": highlights,
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
    citations = [citation(seed, 1, passage, SUPPORTING), citation(astral, 2, ASTRAL_CITED)]
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
    return "".join(page.locator("#panel-text mark.cited").all_text_contents())


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
    # inside the passage, the sentence that supports the answer is marked strongly, in view
    strong = page.locator("#panel-text mark.cited mark.support")
    assert strong.count() == 1
    assert strong.inner_text().startswith(SUPPORTING) and strong.inner_text().endswith(".")
    box, view = strong.bounding_box(), page.locator("#source-panel").bounding_box()
    assert view["y"] <= box["y"] and box["y"] + box["height"] <= view["y"] + view["height"]
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
    # a 503 without Retry-After (a proxy in front, say) is an error, not a wait
    page.route(
        "**/v1/chat",
        lambda route: route.fulfill(
            status=503,
            content_type="application/json",
            body=json.dumps({"detail": "upstream unavailable"}),
        ),
    )
    ask(page, "Again")
    note = page.locator(".error-note").nth(1)
    note.wait_for()
    assert "(503)" in note.inner_text() and "upstream unavailable" in note.inner_text()
    assert note.locator("button", has_text="Try again").count() == 1
    assert page.locator(".busy-note").count() == 0
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
    page.route(
        DOCS_PAGE,
        lambda route: route.fulfill(json={"total": 0, "offset": 0, "limit": 500, "documents": []}),
    )
    page.reload()
    banner = page.locator("#banner")
    banner.wait_for()
    assert "No articles ingested yet" in banner.inner_text()
    assert "rag ingest PATH" in banner.inner_text()
    assert "No articles" in page.inner_text("#docs-empty")
    assert "Add articles" in banner.inner_text()
    assert page.is_visible("#add-docs")


def test_long_lists_are_fetched_page_by_page(page):
    """GET /v1/documents gives at most 500 at a time: the page asks for the rest."""
    docs = [
        {
            "doc_id": f"doc_{i:04d}",
            "title": f"Article {i:04d}",
            "keywords": [],
            "passages": 1,
            "language": "fr",
            "source": "",
            "state": "ready",
            "added_at": 0.0,
        }
        for i in range(612)
    ]
    asked: list[tuple[int, int]] = []

    def serve(route):
        query = dict(
            part.split("=", 1) for part in route.request.url.partition("?")[2].split("&") if part
        )
        offset, limit = int(query.get("offset", 0)), int(query.get("limit", 100))
        asked.append((offset, limit))
        route.fulfill(
            json={
                "total": len(docs),
                "offset": offset,
                "limit": limit,
                "documents": docs[offset : offset + min(limit, 500)],
            }
        )

    page.route(DOCS_PAGE, serve)
    page.reload()
    expect(page.locator("#docs-list li")).to_have_count(612)
    assert asked == [(0, 500), (500, 500)]
    assert page.inner_text("#docs-count") == "(612)"
    assert page.locator("#docs-list li").last.locator(".doc-title").inner_text() == "Article 0611"


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


# ---------------------------------------------------------------- managing documents

# Seed-format articles (title, keywords, blank line, paragraphs) for the uploads.
LITHIUM_ARTICLE = (
    "Le marché du lithium se tend en Europe\n"
    "lithium, batteries, Europe\n"
    "\n"
    "Les constructeurs européens cherchent de nouveaux fournisseurs de lithium pour leurs "
    "batteries, alors que la demande double tous les trois ans.\n"
    "\n"
    "Une mine pilote ouvrira dans l’Allier en 2028, selon ses promoteurs.\n"
)

# Records every text the upload reports show, in order (progress lines come and go quickly).
RECORD_PHASES = """
(() => {
  window.__phases = [];
  new MutationObserver(() => {
    for (const node of document.querySelectorAll(".upload-phase")) {
      const text = node.textContent;
      if (text && !window.__phases.includes(text)) window.__phases.push(text);
    }
  }).observe(document, {subtree: true, childList: true, characterData: true});
})();
"""

# A DataTransfer holding files made in the page, for synthetic drag-and-drop events.
MAKE_DATA_TRANSFER = """files => {
  const data = new DataTransfer();
  for (const f of files) data.items.add(new File([f.text], f.name, {type: f.type}));
  return data;
}"""


def stand_in_server(folder: Path, extra_env: dict[str, str], ingest) -> LiveServer:
    env = {"RAG_EMBEDDER": "hashing", "RAG_LLM": "scripted", **extra_env}
    return LiveServer(folder / "data", env=env, ingest=ingest).wait_ready(timeout=120)


@pytest.fixture(scope="module")
def docs_server(tmp_path_factory) -> Iterator[LiveServer]:
    """Stand-ins; every upload is queued (RAG_INLINE_UPLOAD_KB=0): 202, then the page polls."""
    folder = tmp_path_factory.mktemp("web-docs")
    astral = folder / "emojis_presse.txt"
    astral.write_text(ASTRAL_ARTICLE, encoding="utf-8")
    server = stand_in_server(folder, {"RAG_INLINE_UPLOAD_KB": "0"}, (SEED, astral))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def key_server(tmp_path_factory) -> Iterator[LiveServer]:
    """Stand-ins; an API key is needed to read, ask and write; uploads up to 50 kB."""
    folder = tmp_path_factory.mktemp("web-keys")
    env = {"RAG_API_KEYS": API_KEY, "RAG_AUTH_READS": "true", "RAG_MAX_UPLOAD_MB": "0.05"}
    server = stand_in_server(folder, env, (SEED,))
    yield server
    server.stop()


@pytest.fixture
def open_page(browser) -> Iterator:
    """Opens the page of a server in a new browser context; no JavaScript error allowed."""
    contexts = []
    errors: list[str] = []

    def _open(server: LiveServer, viewport=DESKTOP, wait_docs=True, init_scripts=()):
        context = browser.new_context(viewport=viewport, locale="en-GB", device_scale_factor=1)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda err: errors.append(str(err)))
        page.add_init_script(FAKE_CHAT)
        for script in init_scripts:
            page.add_init_script(script)
        page.goto(server.url + "/")
        if wait_docs:
            page.wait_for_selector("#docs-list li", state="attached")
        return page

    yield _open
    for context in contexts:
        context.close()
    assert not errors, f"JavaScript errors in the page: {errors}"


def finished_reports(page, count: int = 1) -> None:
    page.wait_for_function(
        "n => document.querySelectorAll('#uploads .upload[aria-busy=\"false\"]').length >= n",
        arg=count,
        timeout=20_000,
    )


def outcome(page, name: str):
    """The newest report's line for the file `name`."""
    return page.locator("#uploads .upload").first.locator(f'.outcome[data-name="{name}"]')


def doc_item(page, title: str):
    return page.locator("#docs-list li").filter(has_text=title)


def composer_bottom(page) -> float:
    return page.evaluate("document.getElementById('composer').getBoundingClientRect().bottom")


def test_upload_with_the_file_picker_shows_progress_and_outcomes(open_page, docs_server, tmp_path):
    good = tmp_path / "marche_du_lithium.txt"
    good.write_text(LITHIUM_ARTICLE, encoding="utf-8")
    empty = tmp_path / "vide.txt"
    empty.write_text("")
    pdf = tmp_path / "scan.pdf"
    pdf.write_bytes(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    page = open_page(docs_server, init_scripts=[RECORD_PHASES])
    assert "2 articles" in page.inner_text("#corpus-status")
    responses: list[tuple[str, str, int]] = []
    page.on(
        "response",
        lambda r: (
            responses.append((r.request.method, r.url, r.status)) if "/v1/" in r.url else None
        ),
    )
    polls = {"n": 0}

    def half_way(route):
        # the stand-in embedder is too fast to watch: the first two polls see the job
        # half-way (as a real embedder would show it), later ones the real job
        polls["n"] += 1
        if polls["n"] > 2:
            route.continue_()
            return
        job = route.fetch().json()
        route.fulfill(
            json={**job, "state": "running", "embedded": 1, "to_embed": 3, "outcomes": []}
        )

    page.route("**/v1/jobs/*", half_way)

    with page.expect_file_chooser() as chooser:
        page.click("#add-docs")  # the button opens the (hidden) file input's picker
    assert chooser.value.is_multiple()
    assert chooser.value.element.get_attribute("id") == "file-input"
    page.set_input_files("#file-input", [str(good), str(empty), str(pdf)])
    report = page.locator("#uploads .upload").first
    expect(report.locator(".upload-title")).to_have_text("Adding 3 files")
    finished_reports(page)

    # upload, then the job's progress in passages, then the outcome
    phases = page.evaluate("window.__phases")
    assert any(p.startswith("Uploading 3 files") for p in phases), phases
    assert "Adding the passages… 1 / 3 passages" in phases, phases
    assert ("POST", f"{docs_server.url}/v1/documents", 202) in responses
    assert polls["n"] >= 3  # polled until the real job was done
    expect(report.locator(".upload-phase")).to_have_text("Done: 1 added, 2 errors.")
    assert report.locator(".upload-bar").is_hidden()

    # one line per file, in the order given, each with its status and reason
    rows = report.locator(".outcome")
    assert rows.evaluate_all("rows => rows.map(r => r.dataset.name)") == [
        "marche_du_lithium.txt",
        "vide.txt",
        "scan.pdf",
    ]
    added = outcome(page, "marche_du_lithium.txt")
    assert added.get_attribute("data-status") == "added"
    assert added.locator(".badge").inner_text() == "Added"
    assert added.locator(".outcome-detail").inner_text() == "1 passage, now searchable."
    emptied = outcome(page, "vide.txt")
    assert emptied.locator(".badge").inner_text() == "Error"
    assert emptied.locator(".outcome-detail").inner_text() == "Line 1: empty file"
    refused = outcome(page, "scan.pdf")
    assert refused.get_attribute("data-status") == "error"
    assert refused.locator(".outcome-detail").inner_text() == (
        "Unsupported file type '.pdf' (use .txt, .md, .html, a feed (.xml, .rss, .atom), "
        ".json or .jsonl)"
    )

    # the list and the status line follow, and so does the service
    item = doc_item(page, "Le marché du lithium se tend en Europe")
    expect(item).to_have_count(1)
    assert item.locator(".doc-meta").inner_text() == "1 passage · FR"
    expect(page.locator("#corpus-status")).to_contain_text("3 articles")
    assert listed(docs_server)["marche_du_lithium"]["passages"] == 1
    assert "Done: 1 added, 2 errors." in page.inner_text("#sr-status")

    # the desktop layout is unchanged: the question box at the bottom of the window
    assert abs(composer_bottom(page) - DESKTOP["height"]) <= 2
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "docs-desktop.png"), animations="disabled")

    # the report can be dismissed
    report.locator("button", has_text="×").click()
    expect(page.locator("#uploads .upload")).to_have_count(0)
    assert page.evaluate("document.activeElement.id") == "add-docs"


def test_upload_refused_as_a_whole_shows_the_reasons(open_page, docs_server, tmp_path):
    empty = tmp_path / "rien.txt"
    empty.write_text("   \n")
    pdf = tmp_path / "rapport.pdf"
    pdf.write_bytes(b"%PDF-1.4\n")
    page = open_page(docs_server)
    page.set_input_files("#file-input", [str(empty), str(pdf)])  # 422: no acceptable file
    finished_reports(page)
    report = page.locator("#uploads .upload").first
    assert report.get_attribute("data-kind") == "error"
    assert "Nothing was added (422)" in report.locator(".upload-phase").inner_text()
    assert outcome(page, "rien.txt").get_attribute("data-status") == "error"
    assert "Unsupported file type '.pdf'" in outcome(page, "rapport.pdf").inner_text()

    # too large for the service (413): its reason, nothing added
    page.route(
        "**/v1/documents",
        lambda route: route.fulfill(
            status=413, json={"detail": "an upload may not exceed 10 MB (RAG_MAX_UPLOAD_MB)"}
        ),
    )
    page.set_input_files("#file-input", [str(empty)])
    finished_reports(page, 2)
    report = page.locator("#uploads .upload").first
    assert report.locator(".upload-phase").inner_text() == (
        "Too large, nothing was added (413): an upload may not exceed 10 MB (RAG_MAX_UPLOAD_MB)."
    )
    assert report.locator(".outcome").count() == 0
    assert page.locator("#docs-list li").count() == len(listed(docs_server))


def test_drop_files_on_the_articles_or_anywhere_on_the_page(open_page, docs_server):
    page = open_page(docs_server)
    overlay = page.locator("#drop-overlay")
    assert overlay.is_hidden()
    files = [
        {
            "name": "depeche_glissee.md",
            "type": "text/markdown",
            "text": "# Une dépêche glissée\n\nLe port de Marseille agrandit son terminal.\n",
        },
    ]
    data = page.evaluate_handle(MAKE_DATA_TRANSFER, files)

    # dragging over the page shows the drop target; leaving hides it
    page.dispatch_event("#docs-list", "dragenter", {"dataTransfer": data})
    expect(overlay).to_be_visible()
    assert "Drop text, page, feed or export files" in overlay.inner_text()
    assert page.evaluate("document.body.classList.contains('dragging')")
    page.dispatch_event("#docs-list", "dragleave", {"dataTransfer": data})
    expect(overlay).to_be_hidden()

    # dropped on the articles panel
    page.dispatch_event("#docs-list", "dragenter", {"dataTransfer": data})
    page.dispatch_event("#docs-list", "dragover", {"dataTransfer": data})
    expect(overlay).to_be_visible()
    page.dispatch_event("#docs-list", "drop", {"dataTransfer": data})
    expect(overlay).to_be_hidden()
    finished_reports(page)
    assert outcome(page, "depeche_glissee.md").get_attribute("data-status") == "added"
    expect(doc_item(page, "Une dépêche glissée")).to_have_count(1)
    assert "depeche_glissee" in listed(docs_server)

    # dropped on the conversation (the whole page is a drop target); the same file again
    # is "unchanged", an empty one an error with its reason
    again = page.evaluate_handle(
        MAKE_DATA_TRANSFER,
        [*files, {"name": "vide.md", "type": "text/markdown", "text": ""}],
    )
    page.dispatch_event("#log", "dragenter", {"dataTransfer": again})
    expect(overlay).to_be_visible()
    page.dispatch_event("#log", "dragover", {"dataTransfer": again})
    page.dispatch_event("#log", "drop", {"dataTransfer": again})
    finished_reports(page, 2)
    assert outcome(page, "depeche_glissee.md").get_attribute("data-status") == "unchanged"
    assert outcome(page, "depeche_glissee.md").locator(".badge").inner_text() == "Unchanged"
    assert outcome(page, "vide.md").get_attribute("data-status") == "error"
    assert "empty" in outcome(page, "vide.md").locator(".outcome-detail").inner_text()
    assert page.locator("#uploads .upload").first.get_attribute("data-kind") == "partial"
    expect(overlay).to_be_hidden()


def test_conflict_then_replace(open_page, docs_server, tmp_path):
    first, second = tmp_path / "v1", tmp_path / "v2"
    first.mkdir()
    second.mkdir()
    (first / "accord_cuivre.txt").write_text(
        "Un accord sur le cuivre\ncuivre, Chili\n\nLa France signe un accord sur le cuivre.\n",
        encoding="utf-8",
    )
    (second / "accord_cuivre.txt").write_text(
        "Un accord sur le cuivre, révisé\ncuivre, Chili\n\n"
        "La France et le Chili révisent leur accord sur le cuivre.\n",
        encoding="utf-8",
    )
    page = open_page(docs_server)
    page.set_input_files("#file-input", [str(first / "accord_cuivre.txt")])
    finished_reports(page)
    assert outcome(page, "accord_cuivre.txt").get_attribute("data-status") == "added"
    expect(doc_item(page, "Un accord sur le cuivre")).to_have_count(1)

    # the same name with other content: a conflict, with a Replace action
    page.set_input_files("#file-input", [str(second / "accord_cuivre.txt")])
    finished_reports(page, 2)
    row = outcome(page, "accord_cuivre.txt")
    assert row.get_attribute("data-status") == "conflict"
    assert row.locator(".badge").inner_text() == "Conflict"
    assert "already has the id “accord_cuivre”" in row.inner_text()
    assert "accord sur le cuivre" in documents(docs_server)["accord_cuivre"]["title"]
    assert "révisent" not in documents(docs_server)["accord_cuivre"]["text"]

    replace = row.get_by_role("button", name="Replace the article “accord_cuivre”")
    replace.click()
    expect(row).to_have_attribute("data-status", "updated")
    assert row.locator(".badge").inner_text() == "Updated"
    assert page.evaluate("document.activeElement.dataset.name") == "accord_cuivre.txt"
    expect(doc_item(page, "Un accord sur le cuivre, révisé")).to_have_count(1)
    assert "Replaced “accord_cuivre”" in page.locator("#uploads .upload").first.inner_text()
    text = documents(docs_server)["accord_cuivre"]["text"]
    assert "révisent leur accord" in text


def test_delete_an_article_after_confirming(open_page, docs_server):
    page = open_page(docs_server)
    title = "Les émojis dans la presse 🚀"
    item = doc_item(page, title)
    expect(item).to_have_count(1)
    count_before = page.locator("#docs-list li").count()
    passages = listed(docs_server)["emojis_presse"]["passages"]
    words = f"{passages} passage{'' if passages == 1 else 's'}"
    dialog = page.locator("#confirm-dialog")
    delete = item.get_by_role("button", name=f"Delete “{title}”")

    # Escape cancels; the focus goes back to the button
    delete.click()
    expect(dialog).to_be_visible()
    assert page.inner_text("#confirm-title") == f"Delete “{title}”?"
    assert f"{words} will no longer be searched or cited" in page.inner_text("#confirm-text")
    assert page.evaluate("document.activeElement.id") == "confirm-cancel"  # the safe choice
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    assert page.evaluate("document.activeElement.getAttribute('aria-label')") == f"Delete “{title}”"
    assert "emojis_presse" in listed(docs_server)

    # Cancel keeps it too
    delete.click()
    expect(dialog).to_be_visible()
    page.click("#confirm-cancel")
    expect(dialog).to_be_hidden()
    expect(item).to_have_count(1)
    assert "emojis_presse" in listed(docs_server)

    # keyboard only: Tab to "Delete", Enter
    delete.focus()
    page.keyboard.press("Enter")
    expect(dialog).to_be_visible()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "docs-delete-dialog.png"), animations="disabled")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "confirm-ok"
    page.keyboard.press("Enter")
    expect(dialog).to_be_hidden()
    expect(item).to_have_count(0)
    assert page.locator("#docs-list li").count() == count_before - 1
    expect(page.locator("#docs-status")).to_have_text(f"Deleted “{title}” ({words}).")
    assert "emojis_presse" not in listed(docs_server)
    health = httpx.get(f"{docs_server.url}/healthz", timeout=10).json()
    expect(page.locator("#corpus-status")).to_contain_text(f"{health['documents']} articles")
    # the focus stays in the list (on a neighbour's Delete button), not lost on <body>
    assert page.evaluate("document.activeElement.classList.contains('doc-delete')")


# ---------------------------------------------------------------- API keys


def test_api_key_prompt(open_page, key_server, tmp_path):
    assert httpx.get(f"{key_server.url}/v1/documents", timeout=10).status_code == 401
    page = open_page(key_server, wait_docs=False)
    dialog = page.locator("#key-dialog")
    expect(dialog).to_be_visible()
    expect(page.locator("#key-reason")).to_contain_text("an API key is required")
    assert page.evaluate("document.activeElement.id") == "api-key"
    assert page.get_attribute("#api-key", "type") == "password"
    assert page.get_by_label("API key", exact=True).count() == 1

    # too short: refused in the page
    page.fill("#api-key", "short")
    page.press("#api-key", "Enter")
    expect(page.locator("#key-error")).to_contain_text("at least 16 characters")
    assert page.get_attribute("#api-key", "aria-invalid") == "true"

    # a wrong key: asked again, with the server's reason; it is not kept
    page.fill("#api-key", "not-the-right-key-at-all")
    page.press("#api-key", "Enter")
    expect(page.locator("#key-reason")).to_contain_text("the API key is not valid")
    expect(dialog).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('ragkit.apiKey')") is None
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "key-dialog.png"), animations="disabled")

    # the right key: the list loads; the key is kept for the tab's session only
    page.fill("#api-key", API_KEY)
    page.click("#key-submit")
    expect(dialog).to_be_hidden()
    page.wait_for_selector("#docs-list li", state="attached")
    assert page.locator("#docs-list li").count() == 1
    assert page.evaluate("sessionStorage.getItem('ragkit.apiKey')") == API_KEY
    assert API_KEY not in json.dumps(page.evaluate("Object.entries(localStorage)"))
    assert page.is_visible("#forget-key") and page.is_hidden("#enter-key")

    # every call sends it: an upload (small: answered inline, 200) and the chat stream
    sent: dict[str, str | None] = {}
    page.on(
        "request",
        lambda r: sent.__setitem__(
            f"{r.method} {r.url.split('?')[0]}", r.headers.get("authorization")
        ),
    )
    article = tmp_path / "note_cles.txt"
    article.write_text(LITHIUM_ARTICLE, encoding="utf-8")
    page.set_input_files("#file-input", [str(article)])
    finished_reports(page)
    assert outcome(page, "note_cles.txt").get_attribute("data-status") == "added"
    expect(page.locator("#docs-list li")).to_have_count(2)
    headers = {"Authorization": f"Bearer {API_KEY}"}
    assert "note_cles" in listed(key_server, headers)
    ask(page, "Quelle est la capitale du Pérou ?")  # the live scripted model: it abstains
    wait_answered(page)
    assert "failed" not in (page.locator(".msg-assistant").first.get_attribute("class") or "")
    assert sent[f"POST {key_server.url}/v1/documents"] == f"Bearer {API_KEY}"
    assert sent[f"POST {key_server.url}/v1/chat"] == f"Bearer {API_KEY}"
    assert sent[f"GET {key_server.url}/v1/documents"] == f"Bearer {API_KEY}"

    # larger than the service accepts: its 413 and reason, nothing added
    big = tmp_path / "trop_long.txt"
    big.write_text("Un titre\n\n" + "Une phrase de plus dans un long article.\n" * 2000)
    page.set_input_files("#file-input", [str(big)])
    finished_reports(page, 2)
    report = page.locator("#uploads .upload").first
    assert report.get_attribute("data-kind") == "error"
    assert report.locator(".upload-phase").inner_text() == (
        "Too large, nothing was added (413): an upload may not exceed 0.05 MB (RAG_MAX_UPLOAD_MB)."
    )
    assert "trop_long" not in listed(key_server, headers)

    # a reload in the same tab keeps it
    page.reload()
    page.wait_for_selector("#docs-list li", state="attached")
    assert dialog.is_hidden()

    # forgotten: asked again on the next call; Escape cancels and says why the list is empty
    page.click("#forget-key")
    assert page.evaluate("sessionStorage.getItem('ragkit.apiKey')") is None
    assert page.is_visible("#enter-key") and page.is_hidden("#forget-key")
    page.reload()
    expect(dialog).to_be_visible()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(page.locator("#docs-empty")).to_contain_text("needs an API key")
    page.click("#enter-key")
    expect(dialog).to_be_visible()
    page.fill("#api-key", API_KEY)
    page.press("#api-key", "Enter")
    page.wait_for_selector("#docs-list li", state="attached")
    expect(page.locator("#docs-list li")).to_have_count(2)


# ---------------------------------------------------------------- a busy service


def test_busy_service_waits_with_a_countdown_then_answers(page, light_server):
    chunks, answer, _ = objectives_stream(light_server)
    page.evaluate(
        "c => { window.__fakeChat = {chunks: c, delay: 0,"
        " busy: [{retryAfter: 2, queue: {running: 1, waiting: 4}}]}; }",
        chunks,
    )
    ask(page, "Quels sont les quatre objectifs ?")
    note = page.locator(".msg-assistant .busy-note")
    expect(note).to_contain_text(
        "The model is answering other questions (1 being answered, 4 waiting); retrying in 2 s"
    )
    assert page.is_visible("#stop")
    assert page.locator(".error-note").count() == 0
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "chat-busy-desktop.png"), animations="disabled")
    expect(note).to_contain_text("retrying in 1 s")  # a live countdown
    wait_answered(page)
    bubble = page.locator(".msg-assistant").first
    assert bubble.locator(".answer").inner_text() == answer.replace("**", "")
    assert page.locator(".error-note").count() == 0
    assert page.locator(".busy-note").count() == 0
    requests = page.evaluate("window.__chatRequests")
    assert len(requests) == 2 and requests[0] == requests[1]
    first, second = page.evaluate("window.__chatTimes")
    assert second - first >= 2000  # it waited what Retry-After said (plus a little jitter)
    assert second - first < 4000


def test_busy_wait_can_be_stopped_and_gives_up_when_too_long(page):
    page.evaluate("window.__fakeChat = {chunks: [], busy: [{retryAfter: 30}]}")
    ask(page, "Qui a signé l’accord ?")
    expect(page.locator(".busy-note")).to_contain_text("retrying in 30 s")
    page.click("#stop")
    expect(page.locator(".stopped-note")).to_have_text("Stopped before the answer started.")
    assert page.locator(".busy-note").count() == 0
    assert page.is_hidden("#stop")
    assert len(page.evaluate("window.__chatRequests")) == 1

    # a wait longer than the page is willing to retry for: a clear message at once
    page.evaluate("window.__fakeChat = {chunks: [], busy: [{retryAfter: 600}]}")
    ask(page, "Et maintenant ?")
    note = page.locator(".error-note")
    note.wait_for()
    assert "busy with other questions for about 10 min" in note.inner_text()
    assert note.locator("button", has_text="Try again").count() == 1
    assert len(page.evaluate("window.__chatRequests")) == 2


# ---------------------------------------------------------------- phone layout


def test_phone_layout_keeps_the_question_box_at_the_bottom(open_page, light_server):
    page = open_page(light_server, viewport=MOBILE)
    height = MOBILE["height"]
    assert abs(composer_bottom(page) - height) <= 2, "the welcome screen"
    answer = "The agreement covers titanium purchases."
    chunks = [
        sse("meta", {"searched": "q", "language": "en"}),
        *tokens(answer),
        sse(
            "done",
            {
                "answer": answer,
                "citations": [],
                "language": "en",
                "abstained": False,
                "searched": "q",
                "timings": {"total_ms": 800},
            },
        ),
    ]
    page.evaluate("c => { window.__fakeChat = {chunks: c, delay: 0}; }", chunks)
    ask(page, "What is the agreement about?")
    wait_answered(page)
    # one short exchange: the box is at the bottom of the screen, not under the answer
    assert abs(composer_bottom(page) - height) <= 2, composer_bottom(page)
    turn = page.locator(".turn").first.bounding_box()
    composer = page.locator("#composer").bounding_box()
    assert turn and composer and composer["y"] - (turn["y"] + turn["height"]) > 200
    assert page.evaluate("document.documentElement.scrollWidth") <= MOBILE["width"]
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "chat-phone-390.png"), animations="disabled")

    # the documents panel open on the phone: the box stays at the bottom of the screen
    page.click("#docs-details summary")
    expect(page.locator("#add-docs")).to_be_visible()
    assert abs(composer_bottom(page) - height) <= 2
    assert page.evaluate("document.documentElement.scrollWidth") <= MOBILE["width"]
    page.screenshot(path=str(SHOTS / "docs-phone-390.png"), animations="disabled")

    # a long conversation scrolls under it
    long = " ".join(["The agreement covers titanium purchases and mining projects."] * 30)
    chunks = [
        sse("meta", {"searched": "q", "language": "en"}),
        *tokens(long, 64),
        sse(
            "done",
            {
                "answer": long,
                "citations": [],
                "language": "en",
                "abstained": False,
                "searched": "q",
                "timings": {"total_ms": 800},
            },
        ),
    ]
    page.evaluate("c => { window.__fakeChat = {chunks: c, delay: 0}; }", chunks)
    ask(page, "Tell me more")
    wait_answered(page, 2)
    assert page.evaluate("document.documentElement.scrollHeight") > 2 * height
    page.evaluate("window.scrollTo(0, 0)")
    assert abs(composer_bottom(page) - height) <= 2
    page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    assert abs(composer_bottom(page) - height) <= 2


# ---------------------------------------------------------------- end to end, real models


def _objectives_shown(answer: str) -> list[str]:
    text = answer.lower()
    checks = {
        "geology and exploration": "geolog" in text or "géolog" in text,
        "joint mining projects": bool(
            re.search(r"\bmin(ing|e|es|eral|erals|ier|iers|ière|ières)\b", text)
        )
        and ("project" in text or "projet" in text),
        "attracting capital": "capital" in text or "capitaux" in text,
        "sustainable development and innovation": "sustainab" in text or "durable" in text,
    }
    return [name for name, ok in checks.items() if not ok]


# ---------------------------------------------------------------- news metadata

NEWS_EXPORT = [
    {
        "title": "Le zinc breton",
        "content": "La mine de Plouguerneau rouvrira en 2027 pour extraire du zinc, selon la "
        "préfecture du Finistère, qui a publié mardi un long rapport sur le gisement.",
        "publishedAt": "2020-02-14T09:30:00+01:00",
        "source": {"name": "Le Télégramme"},
        "author": "Anne Le Goff",
        "url": "https://www.letelegramme.fr/zinc.html",
    }
]


@pytest.fixture(scope="module")
def news_server(tmp_path_factory) -> Iterator[tuple[LiveServer, object]]:
    """Stand-ins with an article that has metadata (a JSON-lines export), and a local page
    server it may fetch from (RAG_ALLOW_PRIVATE_URLS)."""
    from tests.news_server import NewsServer, article_page

    folder = tmp_path_factory.mktemp("web-news")
    export = folder / "bretagne.jsonl"
    export.write_text("\n".join(json.dumps(a, ensure_ascii=False) for a in NEWS_EXPORT) + "\n")
    with NewsServer() as pages:
        pages.put(
            "/ferry.html",
            article_page(
                "Un nouveau ferry à Roscoff",
                [
                    "Le port de Roscoff accueille depuis lundi un nouveau ferry pour la ligne "
                    "vers l’Irlande, plus long de trente mètres que le navire qu’il remplace.",
                    "La compagnie compte transporter cent mille passagers de plus chaque année, "
                    "selon son directeur général, qui a présenté le navire aux élus.",
                ],
                site="Ouest-France",
                date="2024-03-11",
                author="Yann Kerjean",
            ),
            "text/html; charset=utf-8",
        )
        server = stand_in_server(folder, {"RAG_ALLOW_PRIVATE_URLS": "true"}, (export,))
        yield server, pages
        server.stop()


def test_outlet_and_date_beside_sources_and_articles_and_adding_by_url(open_page, news_server):
    server, pages = news_server
    page = open_page(server)
    zinc = doc_item(page, "Le zinc breton")
    assert zinc.locator(".doc-meta").inner_text() == "Le Télégramme · 14 Feb 2020 · 1 passage · FR"

    doc = next(iter(documents(server).values()))
    start = doc["text"].index("La mine de Plouguerneau")
    passage = doc["text"][start:].rstrip("\n")
    cited = {
        **citation(doc, 1, passage),
        "published": "2020-02-14T09:30:00+01:00",
        "outlet": "Le Télégramme",
        "authors": ["Anne Le Goff"],
        "url": "https://www.letelegramme.fr/zinc.html",
    }
    answer = "Le Télégramme a annoncé la réouverture de la mine [1]."
    done = {"answer": answer, "citations": [cited], "language": "fr", "abstained": False,
            "searched": "q", "timings": {"total_ms": 900}}  # fmt: skip
    chunks = [
        sse("meta", {"searched": "q", "language": "fr"}),
        *tokens(answer),
        sse("citations", {"citations": [cited]}),
        sse("done", done),
    ]
    page.evaluate("c => { window.__fakeChat = {chunks: c, delay: 0}; }", chunks)
    ask(page, "Qui a annoncé la réouverture de la mine ?")
    wait_answered(page)
    sources = page.locator(".msg-assistant details.sources")
    sources.locator("summary").click()
    assert sources.locator(".source-meta").inner_text() == "Le Télégramme · 14 Feb 2020, 09:30"
    assert sources.locator("time").get_attribute("datetime") == "2020-02-14T09:30:00+01:00"
    original = sources.locator("a.source-original")
    assert original.get_attribute("href") == "https://www.letelegramme.fr/zinc.html"
    assert original.get_attribute("target") == "_blank"
    assert "noopener" in original.get_attribute("rel")
    # the panel: outlet, date, authors and the link above the article
    page.locator(".answer a.cite").first.click()
    page.wait_for_selector("#panel-text mark")
    meta = page.locator("#panel-meta")
    assert meta.is_visible()
    assert meta.inner_text() == (
        "Le Télégramme · 14 Feb 2020, 09:30 · by Anne Le Goff · Original article ↗"
    )
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "news-metadata.png"))
    page.keyboard.press("Escape")

    # adding an article by its web address: fetched by the service, listed with its outlet
    page.fill("#url-input", "not an address")
    page.click("#url-add")
    assert "http:// or https://" in page.inner_text("#url-error")
    page.fill("#url-input", pages.url("/ferry.html"))
    page.click("#url-add")
    finished_reports(page)
    report = page.locator("#uploads .upload").first
    assert report.locator(".upload-phase").inner_text() == "Done: 1 added."
    expect(doc_item(page, "Un nouveau ferry à Roscoff").locator(".doc-meta")).to_have_text(
        re.compile(r"^Ouest-France · 11 Mar 2024 · \d+ passages? · FR$")
    )
    # an address the service cannot read: the reason, naming it
    page.fill("#url-input", pages.url("/missing.html"))
    page.click("#url-add")
    finished_reports(page, 2)
    report = page.locator("#uploads .upload").first
    assert "the address could not be read" in report.locator(".upload-phase").inner_text()
    assert "HTTP 404" in report.locator(".outcome-detail").inner_text()


# ---------------------------------------------------------------- filters, time, reprints

# One wire story carried by two outlets under other headlines (a reprint), and another story.
ZINC_WIRE = (
    "La mine de zinc de Plouguerneau rouvrira en 2027, a annoncé la préfecture du Finistère "
    "dans un rapport publié mardi. Le gisement, fermé depuis 1985, contiendrait assez de "
    "minerai pour vingt ans d’exploitation selon les géologues du BRGM. La commune attend "
    "une centaine d’emplois directs et la réouverture de la ligne ferroviaire vers Brest."
)
REPRINTS = [
    {"title": "Le zinc breton renaît", "content": ZINC_WIRE, "date": "2024-03-05",
     "source": "Le Télégramme", "url": "https://t.example/zinc"},
    {"title": "Plouguerneau : la mine rouvrira",
     "content": ZINC_WIRE.replace(" selon les géologues du BRGM", ""),
     "date": "2024-03-06", "source": "Ouest-France", "url": "https://o.example/mine"},
    {"title": "Un nouveau ferry à Roscoff", "content": "Le port de Roscoff accueille un ferry "
     "plus long vers l’Irlande, selon la compagnie, qui prévoit trois départs par semaine dès "
     "le printemps.", "date": "2024-03-07", "source": "Le Télégramme"},
]  # fmt: skip
ZINC_ANSWER = "La mine de zinc de Plouguerneau rouvrira en 2027 [1]."


class FakeOpenAI:
    """An OpenAI-compatible chat endpoint that always replies `reply` (streamed in pieces when
    asked to): the model of a live server run with RAG_LLM=openai-like, so that its answers
    cite passages (the scripted stand-in of a served process always abstains) and carry the
    service's own `window` and `also_in`."""

    def __init__(self, reply: str) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        from threading import Thread

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                head = {"id": "chatcmpl-1", "created": 0, "model": "local"}
                if not body.get("stream"):
                    message = {"role": "assistant", "content": reply}
                    choice = {"index": 0, "message": message, "finish_reason": "stop"}
                    self._send("application/json", json.dumps(
                        {**head, "object": "chat.completion", "choices": [choice]}))  # fmt: skip
                    return
                events = []
                for i in range(0, len(reply), 8):
                    delta = {"role": "assistant", "content": reply[i : i + 8]}
                    choice = {"index": 0, "delta": delta, "finish_reason": None}
                    chunk = {**head, "object": "chat.completion.chunk", "choices": [choice]}
                    events.append(f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n")
                self._send("text/event-stream", "".join(events) + "data: [DONE]\n\n")

            def _send(self, content_type: str, text: str) -> None:
                raw = text.encode()
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def reprint_server(tmp_path_factory) -> Iterator[LiveServer]:
    """Stand-in embedder, dated articles of two outlets (a JSON-lines export) with one story
    reprinted, and a model that answers the zinc sentence citing [1]."""
    folder = tmp_path_factory.mktemp("web-reprints")
    export = folder / "presse.jsonl"
    export.write_text("\n".join(json.dumps(a, ensure_ascii=False) for a in REPRINTS) + "\n")
    model = FakeOpenAI(ZINC_ANSWER)
    env = {"RAG_LLM": "openai-like", "RAG_OPENAI_BASE_URL": model.url, "RAG_OPENAI_MODEL": "local"}
    server = stand_in_server(folder, env, (export,))
    yield server
    server.stop()
    model.close()


def choose_filters(page, after: str, before: str, outlets: list[str]) -> None:
    if page.get_attribute("#filters-toggle", "aria-expanded") != "true":
        page.click("#filters-toggle")
    page.fill("#filter-from", after)
    page.fill("#filter-to", before)
    for outlet in outlets:
        page.locator("#filter-outlets label", has_text=outlet).locator("input").check()


def test_filters_go_with_the_question_and_the_answer_shows_its_window_and_reprints(
    open_page, reprint_server
):
    page = open_page(reprint_server)
    toggle = page.locator("#filters-toggle")
    expect(toggle).to_have_text(re.compile(r"Search in:\s*all articles"))
    assert page.is_hidden("#filters-clear") and page.is_hidden("#filters-panel")
    toggle.click()
    assert toggle.get_attribute("aria-expanded") == "true"
    # the outlets to choose from are those of the articles, with how many each has
    chips = page.locator("#filter-outlets label")
    expect(chips).to_have_text(["Le Télégramme 2 articles", "Ouest-France 1 article"])
    choose_filters(page, "2024-03-01", "2024-03-31", ["Ouest-France"])
    # what is active, at a glance beside the question box
    expect(page.locator("#filters-summary")).to_have_text("Ouest-France · 1–31 Mar 2024")
    assert toggle.get_attribute("data-active") == "true" and page.is_visible("#filters-clear")
    page.press("#filter-to", "Enter")  # Enter in a day box sends nothing
    page.click("#filters-toggle")
    assert page.is_hidden("#filters-panel")

    ask(page, "Quand la mine de zinc de Plouguerneau rouvrira-t-elle en mars 2024 ?")
    wait_answered(page)
    (sent,) = page.evaluate("window.__chatRequests")
    assert sent["filters"] == {
        "published_after": "2024-03-01",
        "published_before": "2024-03-31",
        "outlets": ["Ouest-France"],
    }
    bubble = page.locator(".msg-assistant").first
    # a time question: the date of the article it relies on is named (present.dates_said)
    dated = f"{ZINC_ANSWER} Publié par Ouest-France le 6 mars 2024 [1]."
    assert bubble.locator(".answer").inner_text() == dated, bubble.inner_text()
    # the window the service read from "en mars 2024", in the question's language
    note = bubble.locator(".window-note")
    assert note.inner_text() == "Recherche dans les articles publiés en mars 2024."
    assert note.get_attribute("lang") == "fr" and note.get_attribute("data-applied") == "true"
    assert "filters: Ouest-France · 1–31 Mar 2024" in bubble.locator(".answer-meta").inner_text()
    # searched in Ouest-France only: the cited article is its reprint, the other outlet below
    bubble.locator("details.sources summary").click()
    source = bubble.locator(".sources li").first
    assert source.locator(".source-meta").inner_text() == "Ouest-France · 6 Mar 2024"
    also = source.locator(".also-in")
    assert also.inner_text() == "Also in: Le Télégramme (5 Mar 2024)"
    link = also.locator("a")
    assert link.get_attribute("href") == "https://t.example/zinc"
    assert link.get_attribute("title") == "“Le zinc breton renaît”"
    assert "noopener" in link.get_attribute("rel") and link.get_attribute("target") == "_blank"
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "filters-window-reprints.png"), animations="disabled")

    # cleared: the next question goes without filters
    page.click("#filters-clear")
    expect(page.locator("#filters-summary")).to_have_text("all articles")
    assert page.is_hidden("#filters-clear")
    assert page.evaluate("document.activeElement.id") == "filters-toggle"
    ask(page, "Et la ligne ferroviaire vers Brest ?")
    wait_answered(page, 2)
    assert "filters" not in page.evaluate("window.__chatRequests")[1]


def test_a_window_over_undated_articles_and_days_in_the_wrong_order(page, light_server):
    """The seed and the emoji article have no date: the question's time cannot limit the
    search, and the answer says so; a range that ends before it starts is not sent."""
    page.click("#filters-toggle")
    expect(page.locator("#filter-outlets-empty")).to_be_visible()  # no article names one
    page.fill("#filter-from", "2020-02-29")
    page.fill("#filter-to", "2020-02-01")
    expect(page.locator("#filters-error")).to_have_text(
        "The first day (29 Feb 2020) is after the last one (1 Feb 2020)."
    )
    assert page.get_attribute("#filter-from", "aria-invalid") == "true"
    ask(page, "Quel accord a été signé en février 2020 ?")
    expect(page.locator("#composer-message")).to_contain_text("Correct the search filters first")
    assert page.evaluate("window.__chatRequests") == []
    assert page.input_value("#question") == "Quel accord a été signé en février 2020 ?"
    page.click("#filters-clear")
    page.press("#question", "Enter")
    wait_answered(page)
    assert "filters" not in page.evaluate("window.__chatRequests")[0]
    note = page.locator(".msg-assistant .window-note")
    assert note.get_attribute("data-applied") == "false"
    assert note.inner_text() == (
        "La question porte sur une période (en février 2020), mais les articles "
        "n’ont pas de date de publication\u00a0: toute la collection a été consultée."
    )


def test_the_list_of_articles_sorted_by_date_and_limited_to_an_outlet(
    open_page, reprint_server, tmp_path
):
    page = open_page(reprint_server)
    listed_urls: list[str] = []
    page.on("request", lambda r: listed_urls.append(r.url) if "/v1/documents?" in r.url else None)
    titles = page.locator("#docs-list .doc-title")
    expect(titles).to_have_text(
        ["Le zinc breton renaît", "Plouguerneau : la mine rouvrira", "Un nouveau ferry à Roscoff"]
    )
    page.select_option("#docs-sort", label="Newest first")
    expect(titles).to_have_text(
        ["Un nouveau ferry à Roscoff", "Plouguerneau : la mine rouvrira", "Le zinc breton renaît"]
    )
    assert "sort=published&order=desc" in listed_urls[-1]
    page.select_option("#docs-outlet", label="Le Télégramme (2)")
    expect(titles).to_have_text(["Un nouveau ferry à Roscoff", "Le zinc breton renaît"])
    assert "outlet=Le+T%C3%A9l%C3%A9gramme" in listed_urls[-2], listed_urls  # then every one
    expect(page.locator("#docs-count")).to_have_text("(2 of 3)")
    # the search filters still offer every outlet
    page.click("#filters-toggle")
    expect(page.locator("#filter-outlets label")).to_have_count(2)
    page.select_option("#docs-sort", label="Oldest first")
    expect(titles).to_have_text(["Le zinc breton renaît", "Un nouveau ferry à Roscoff"])
    page.select_option("#docs-outlet", label="All outlets")
    expect(titles).to_have_count(3)
    expect(page.locator("#docs-count")).to_have_text("(3)")

    # the outlets follow the articles: one added with a new outlet, then deleted
    tram = {"title": "Le tramway de Brest s’allonge", "date": "2024-03-08", "source": "Libération",
            "content": "La deuxième ligne du tramway de Brest ouvrira en 2026, a annoncé la "
            "métropole, qui prévoit quinze stations entre la gare et le technopôle."}  # fmt: skip
    upload = tmp_path / "liberation.jsonl"
    upload.write_text(json.dumps(tram, ensure_ascii=False) + "\n", encoding="utf-8")
    page.set_input_files("#file-input", [str(upload)])
    finished_reports(page)
    chips = page.locator("#filter-outlets label")
    expect(chips).to_have_text(
        ["Le Télégramme 2 articles", "Libération 1 article", "Ouest-France 1 article"]
    )
    chips.filter(has_text="Libération").locator("input").check()
    expect(page.locator("#filters-summary")).to_have_text("Libération")
    doc_item(page, tram["title"]).locator(".doc-delete").click()
    page.click("#confirm-ok")
    expect(chips).to_have_count(2)
    # the outlet it was the last article of is no longer chosen
    expect(page.locator("#filters-summary")).to_have_text("all articles")


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
