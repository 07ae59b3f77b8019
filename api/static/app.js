/* Chat page for the cited question-answering service. Plain JavaScript, no build step, no
 * network access beyond the service itself.
 *
 * Talks to: GET /healthz, GET /v1/documents, GET /v1/documents/{id}, POST /v1/chat (SSE).
 * All service text is inserted as text nodes (never innerHTML), so answers and articles cannot
 * inject markup.
 */
"use strict";

(() => {
  const MAX_CHARS = 2000;
  const MAX_HISTORY = 40; // messages sent back as the conversation (user + assistant)
  const WIDE = window.matchMedia("(min-width: 900px)");

  const $ = (id) => document.getElementById(id);
  const els = {
    status: $("corpus-status"),
    newConversation: $("new-conversation"),
    banner: $("banner"),
    bannerText: $("banner-text"),
    bannerRetry: $("banner-retry"),
    docsDetails: $("docs-details"),
    docsList: $("docs-list"),
    docsCount: $("docs-count"),
    docsEmpty: $("docs-empty"),
    log: $("log"),
    welcome: $("welcome"),
    examples: $("examples"),
    form: $("composer"),
    question: $("question"),
    send: $("send"),
    stop: $("stop"),
    message: $("composer-message"),
    panel: $("source-panel"),
    panelEyebrow: $("panel-eyebrow"),
    panelTitle: $("panel-title"),
    panelKeywords: $("panel-keywords"),
    panelStatus: $("panel-status"),
    panelText: $("panel-text"),
    panelClose: $("panel-close"),
    srStatus: $("sr-status"),
  };

  const state = {
    turns: [], // {question, text, answer, citations, language, done, failed, stopped, el...}
    controller: null,
    streaming: false,
    docs: new Map(), // doc_id -> {doc_id, title, keywords, passages, language}
    docTexts: new Map(), // doc_id -> Promise<{...doc, cps: string[]}>
    panelTrigger: null,
    panelToken: 0,
    healthTimer: null,
  };

  // ---------------------------------------------------------------- small helpers

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  /** Code points of `text`: the service's offsets are Python str indices (code points), while
   * JavaScript strings are UTF-16, so slicing must go through an array of code points. */
  function codePoints(text) {
    return Array.from(text || "");
  }

  function announce(text) {
    els.srStatus.textContent = "";
    window.setTimeout(() => { els.srStatus.textContent = text; }, 30);
  }

  function plural(n, word) {
    return `${n} ${word}${n === 1 ? "" : "s"}`;
  }

  function excerpt(text, limit = 220) {
    const flat = (text || "").replace(/\s+/g, " ").trim();
    const cps = codePoints(flat);
    return cps.length <= limit ? flat : `${cps.slice(0, limit - 1).join("").trimEnd()}…`;
  }

  function normalise(text) {
    return (text || "").toLowerCase().replace(/[\s?!.¿¡«»"“”'’]+/g, " ").trim();
  }

  /** Human reason out of a FastAPI error body: `detail` is a string or a list of pydantic errors. */
  function reasonFromDetail(detail) {
    if (typeof detail === "string") return detail;
    if (Array.isArray(detail)) {
      return detail
        .map((e) => String((e && (e.msg || e.message)) || JSON.stringify(e)).replace(/^Value error, /, ""))
        .join("; ");
    }
    if (detail && typeof detail === "object") return JSON.stringify(detail);
    return "";
  }

  class HttpError extends Error {
    constructor(status, reason, retryAfter) {
      super(reason);
      this.status = status;
      this.retryAfter = retryAfter;
    }
  }

  async function httpError(response) {
    let reason = "";
    try {
      const body = await response.json();
      reason = reasonFromDetail(body && body.detail);
    } catch (_) {
      reason = "";
    }
    return new HttpError(response.status, reason || response.statusText || "request failed",
      response.headers.get("Retry-After"));
  }

  function describeHttpError(err) {
    const s = err.status;
    if (s === 422) return `The question was not accepted (${s}): ${err.message}.`;
    if (s === 503) {
      const wait = err.retryAfter ? ` Try again in ${err.retryAfter} s.` : " Try again shortly.";
      return `The service is busy (${s}): ${err.message}.${wait}`;
    }
    if (s >= 500) return `The service failed (${s}): ${err.message}.`;
    return `The request was refused (${s}): ${err.message}.`;
  }

  // ---------------------------------------------------------------- service status

  function showBanner(kind, parts, retry) {
    els.banner.dataset.kind = kind;
    els.bannerText.replaceChildren(...parts.map((p) => (p instanceof Node ? p : document.createTextNode(p))));
    els.bannerRetry.hidden = !retry;
    els.banner.hidden = false;
  }

  function hideBanner() {
    els.banner.hidden = true;
    els.bannerText.textContent = "";
  }

  function setStatus(kind, text) {
    els.status.dataset.state = kind;
    els.status.textContent = text;
  }

  async function checkHealth() {
    window.clearTimeout(state.healthTimer);
    let health;
    try {
      const response = await fetch("/healthz", { cache: "no-store" });
      if (!response.ok) throw await httpError(response);
      health = await response.json();
    } catch (err) {
      const why = err instanceof HttpError
        ? `The answering service reports a problem (${err.status}: ${err.message}).`
        : "The answering service is unreachable: it may be stopped or restarting.";
      showBanner("down", [why, " Questions cannot be answered until it is back."], true);
      setStatus("down", "Service unreachable");
      renderDocsMessage("The list of articles is unavailable while the service is unreachable.");
      state.healthTimer = window.setTimeout(checkHealth, 15000);
      return;
    }
    if (!health.passages) {
      showBanner("empty", ["No articles ingested yet: run ", el("code", { text: "rag ingest PATH" }),
        " to add some, then reload this page."], true);
      setStatus("empty", "No articles ingested");
    } else {
      hideBanner();
      setStatus("ok", `${plural(health.documents, "article")} · ${plural(health.passages, "passage")}`);
    }
    await loadDocuments();
  }

  async function loadDocuments() {
    let docs;
    try {
      const response = await fetch("/v1/documents", { cache: "no-store" });
      if (!response.ok) throw await httpError(response);
      docs = await response.json();
    } catch (err) {
      renderDocsMessage(err instanceof HttpError
        ? `The list of articles could not be loaded (${err.status}: ${err.message}).`
        : "The list of articles could not be loaded.");
      return;
    }
    state.docs = new Map(docs.map((d) => [d.doc_id, d]));
    renderDocs(docs);
  }

  function renderDocsMessage(text) {
    els.docsList.replaceChildren();
    els.docsCount.textContent = "";
    els.docsEmpty.textContent = text;
    els.docsEmpty.hidden = false;
    els.examples.replaceChildren();
  }

  function renderDocs(docs) {
    els.docsCount.textContent = docs.length ? `(${docs.length})` : "";
    if (!docs.length) {
      renderDocsMessage("No articles yet.");
      return;
    }
    els.docsEmpty.hidden = true;
    els.docsList.replaceChildren(...docs.map((d) => el("li", {},
      el("span", { class: "doc-title", lang: d.language || null, text: d.title || d.doc_id }),
      el("span", { class: "doc-meta" },
        `${plural(d.passages, "passage")}${d.language ? ` · ${d.language.toUpperCase()}` : ""}`),
    )));
    // Example questions that fill (not send) the question box.
    const examples = docs.slice(0, 2).map((d) => (d.language === "fr"
      ? `Que dit l’article « ${d.title} » ?`
      : `What does the article “${d.title}” say?`));
    els.examples.replaceChildren(...examples.map((q) => el("li", {},
      el("button", { type: "button", class: "example", onclick: () => {
        els.question.value = q;
        onQuestionInput();
        els.question.focus();
      } }, q))));
  }

  // ---------------------------------------------------------------- composer

  function questionText() {
    return els.question.value.trim();
  }

  function setMessage(text, kind) {
    els.message.textContent = text || "";
    if (kind) els.message.dataset.kind = kind;
    else delete els.message.dataset.kind;
  }

  function onQuestionInput() {
    const length = codePoints(questionText()).length;
    if (length > MAX_CHARS) {
      setMessage(`${length} / ${MAX_CHARS} characters: please shorten the question.`, "error");
    } else if (length > MAX_CHARS - 200) {
      setMessage(`${length} / ${MAX_CHARS} characters`);
    } else if (els.message.dataset.kind === "error" || els.message.textContent) {
      setMessage("");
    }
    updateButtons();
    autoGrow();
  }

  function autoGrow() {
    const q = els.question;
    q.style.height = "auto";
    q.style.height = `${Math.min(q.scrollHeight + 2, 220)}px`;
  }

  function updateButtons() {
    const length = codePoints(questionText()).length;
    els.send.disabled = state.streaming || length === 0 || length > MAX_CHARS;
    const stopHadFocus = document.activeElement === els.stop;
    els.stop.hidden = !state.streaming;
    if (stopHadFocus && !state.streaming) els.question.focus();
  }

  function setStreaming(on) {
    state.streaming = on;
    els.form.setAttribute("aria-busy", on ? "true" : "false");
    updateButtons();
  }

  function submit() {
    if (state.streaming) {
      setMessage("An answer is still being written: wait for it, or press Stop.", "error");
      return;
    }
    const question = questionText();
    const length = codePoints(question).length;
    if (!length) {
      setMessage("Type a question first.", "error");
      els.question.focus();
      return;
    }
    if (length > MAX_CHARS) {
      setMessage(`The question is ${length} characters long; the limit is ${MAX_CHARS}.`, "error");
      return;
    }
    els.question.value = "";
    onQuestionInput();
    setMessage("");
    ask(question);
  }

  // ---------------------------------------------------------------- conversation

  function history() {
    const messages = [];
    for (const turn of state.turns) {
      if (!turn.done) continue; // failed or stopped turns are not part of the conversation
      messages.push({ role: "user", content: turn.question });
      messages.push({ role: "assistant", content: turn.answer });
    }
    // The API takes at most 50 messages: keep the last 20 exchanges.
    return messages.slice(-MAX_HISTORY);
  }

  function scroller() {
    return WIDE.matches ? els.log : document.scrollingElement;
  }

  function nearBottom() {
    const s = scroller();
    const height = WIDE.matches ? s.clientHeight : window.innerHeight;
    return s.scrollHeight - s.scrollTop - height < 120;
  }

  function scrollToBottom() {
    const s = scroller();
    s.scrollTop = s.scrollHeight;
  }

  function createTurn(question) {
    els.welcome.hidden = true;
    const index = state.turns.length + 1;
    const turn = {
      id: `turn-${Date.now().toString(36)}-${index}`,
      question,
      text: "",
      answer: "",
      citations: null,
      language: null,
      searched: "",
      done: false,
      failed: false,
      stopped: false,
      started: performance.now(),
    };
    turn.userEl = el("div", { class: "msg msg-user" }, el("span", { class: "visually-hidden" }, "You asked: "),
      question);
    turn.answerEl = el("div", { class: "answer", id: `${turn.id}-answer` });
    turn.thinkingEl = el("p", { class: "thinking" }, "Reading the sources…");
    turn.notesEl = el("div", { class: "notes" });
    turn.bubble = el("section", {
      class: "msg msg-assistant",
      "aria-label": `Answer ${index}`,
      "aria-live": "polite",
      "aria-busy": "true",
    }, turn.thinkingEl, turn.answerEl, turn.notesEl);
    turn.root = el("article", { class: "turn", id: turn.id, "data-turn": index }, turn.userEl, turn.bubble);
    turn.answerEl.hidden = true;
    els.log.append(turn.root);
    state.turns.push(turn);
    turn.timer = window.setInterval(() => {
      const secs = Math.round((performance.now() - turn.started) / 1000);
      if (secs >= 2) turn.thinkingEl.textContent = `Reading the sources… ${secs} s`;
    }, 1000);
    scrollToBottom();
    return turn;
  }

  /** Answer text to DOM: text nodes, `[n]` markers as links (or pending markers while the
   * citations are not known yet), `**bold**` as <strong>. */
  function renderAnswerText(turn, text) {
    const byN = turn.citations ? new Map(turn.citations.map((c) => [c.n, c])) : null;
    const out = [];
    const pattern = /\*\*([^*\n]+)\*\*|\[(\d{1,3})\]/g;
    let last = 0;
    let match;
    const markerNode = (n) => {
      if (!byN) {
        return el("span", { class: "cite pending", title: "Source details arrive with the end of the answer" },
          `[${n}]`);
      }
      const c = byN.get(n);
      if (!c) return document.createTextNode(`[${n}]`);
      return el("a", {
        class: "cite",
        href: "#source-panel",
        "data-n": n,
        "aria-label": `Source ${n}: ${c.title}`,
        title: c.title,
        onclick: (event) => {
          event.preventDefault();
          openSource(turn, n, event.currentTarget);
        },
      }, `[${n}]`);
    };
    while ((match = pattern.exec(text)) !== null) {
      if (match.index > last) out.push(document.createTextNode(text.slice(last, match.index)));
      if (match[1] !== undefined) {
        const inner = [];
        const sub = /\[(\d{1,3})\]/g;
        let l = 0;
        let m;
        while ((m = sub.exec(match[1])) !== null) {
          if (m.index > l) inner.push(document.createTextNode(match[1].slice(l, m.index)));
          inner.push(markerNode(Number(m[1])));
          l = m.index + m[0].length;
        }
        if (l < match[1].length) inner.push(document.createTextNode(match[1].slice(l)));
        out.push(el("strong", {}, ...inner));
        last = match.index + match[0].length;
      } else {
        // keep the punctuation that follows a marker on its line
        const tail = /^[.,;:!?)»]+/.exec(text.slice(match.index + match[0].length));
        const marker = markerNode(Number(match[2]));
        out.push(tail ? el("span", { class: "nowrap" }, marker, tail[0]) : marker);
        last = match.index + match[0].length + (tail ? tail[0].length : 0);
        pattern.lastIndex = last;
      }
    }
    if (last < text.length) out.push(document.createTextNode(text.slice(last)));
    turn.answerEl.replaceChildren(...out);
  }

  function scheduleRender(turn) {
    if (turn.renderPending) return;
    turn.renderPending = true;
    window.requestAnimationFrame(() => {
      turn.renderPending = false;
      const stick = nearBottom();
      renderAnswerText(turn, turn.text.replace(/^\s+/, ""));
      if (stick) scrollToBottom();
    });
  }

  function stopTimer(turn) {
    window.clearInterval(turn.timer);
    turn.thinkingEl.hidden = true;
  }

  function setLanguage(turn, language) {
    if (!language) return;
    turn.language = language;
    turn.bubble.setAttribute("lang", language);
    turn.userEl.setAttribute("lang", language);
  }

  function onToken(turn, piece) {
    if (!piece) return;
    if (!turn.text) {
      stopTimer(turn);
      turn.answerEl.hidden = false;
    }
    turn.text += piece;
    scheduleRender(turn);
  }

  function finish(turn, body) {
    stopTimer(turn);
    turn.done = true;
    turn.answer = typeof body.answer === "string" ? body.answer : turn.text.trim();
    turn.text = turn.answer;
    turn.citations = Array.isArray(body.citations) ? body.citations : turn.citations || [];
    turn.abstained = Boolean(body.abstained);
    if (body.searched) turn.searched = body.searched;
    setLanguage(turn, body.language);
    turn.answerEl.hidden = false;
    renderAnswerText(turn, turn.answer);
    turn.bubble.classList.toggle("abstained", turn.abstained);
    turn.bubble.setAttribute("aria-busy", "false");

    const notes = [];
    if (turn.abstained) {
      notes.push(el("p", { class: "abstain-note", lang: "en" },
        "The ingested articles do not answer this question. Try rephrasing it, or ask about one of the listed articles."));
    }
    if (turn.citations.length) notes.push(renderSources(turn));
    const meta = [];
    const total = body.timings && body.timings.total_ms;
    if (typeof total === "number") meta.push(`Answered in ${(total / 1000).toFixed(1)} s`);
    if (turn.searched && normalise(turn.searched) !== normalise(turn.question)) {
      meta.push(`searched for “${turn.searched}”`);
    }
    if (meta.length) notes.push(el("p", { class: "answer-meta", lang: "en" }, meta.join(" · ")));
    turn.notesEl.replaceChildren(...notes);
    announce(turn.abstained
      ? "Answer complete: the sources do not say."
      : `Answer complete, with ${plural(turn.citations.length, "source")}.`);
  }

  function renderSources(turn) {
    const items = turn.citations.map((c) => el("li", {},
      el("button", {
        type: "button",
        class: "source-link",
        "data-n": c.n,
        onclick: (event) => openSource(turn, c.n, event.currentTarget),
      },
      el("span", { class: "source-head" }, el("span", { class: "num" }, `[${c.n}]`), c.title || c.doc_id),
      el("span", { class: "source-excerpt" }, excerpt(c.text))),
    ));
    return el("details", { class: "sources", lang: "en" },
      el("summary", {}, `Sources (${turn.citations.length})`),
      el("ol", {}, ...items));
  }

  function fail(turn, message, retry) {
    stopTimer(turn);
    turn.failed = true;
    turn.bubble.classList.add("failed");
    turn.bubble.classList.toggle("failed-empty", !turn.text);
    turn.bubble.setAttribute("aria-busy", "false");
    if (!turn.text) turn.answerEl.hidden = true;
    const note = el("div", { class: "error-note", role: "alert", lang: "en" }, el("span", {}, message));
    if (retry) {
      note.append(" ", el("button", {
        type: "button",
        class: "btn btn-small btn-secondary",
        onclick: () => {
          if (state.streaming) return;
          removeTurn(turn);
          ask(turn.question);
        },
      }, "Try again"));
    }
    turn.notesEl.replaceChildren(note);
  }

  function stopped(turn) {
    stopTimer(turn);
    turn.stopped = true;
    turn.bubble.setAttribute("aria-busy", "false");
    if (!turn.text) turn.answerEl.hidden = true;
    else renderAnswerText(turn, turn.text.trim());
    turn.notesEl.replaceChildren(el("p", { class: "stopped-note", lang: "en" },
      turn.text ? "Stopped: the answer is incomplete and will not be used as context."
        : "Stopped before the answer started."));
    announce("Answer stopped.");
  }

  function removeTurn(turn) {
    const i = state.turns.indexOf(turn);
    if (i >= 0) state.turns.splice(i, 1);
    window.clearInterval(turn.timer);
    turn.root.remove();
    if (!state.turns.length) els.welcome.hidden = false;
  }

  function newConversation() {
    if (state.controller) state.controller.abort();
    for (const turn of [...state.turns]) removeTurn(turn);
    closePanel(false);
    els.welcome.hidden = false;
    setMessage("");
    els.question.focus();
    announce("New conversation started.");
  }

  // ---------------------------------------------------------------- talking to /v1/chat

  /** Server-sent events out of a fetch Response body (EventSource cannot POST). */
  async function* readEvents(response) {
    const reader = response.body.getReader();
    const decoder = new TextDecoder("utf-8");
    let buffer = "";
    let pendingCR = false;
    const parse = (block) => {
      let type = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (!line || line.startsWith(":")) continue;
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        let value = colon < 0 ? "" : line.slice(colon + 1);
        if (value.startsWith(" ")) value = value.slice(1);
        if (field === "event") type = value;
        else if (field === "data") data.push(value);
      }
      return data.length ? { type, data: data.join("\n") } : null;
    };
    const feed = (chunk) => {
      let text = (pendingCR ? "\r" : "") + chunk;
      pendingCR = text.endsWith("\r");
      if (pendingCR) text = text.slice(0, -1);
      buffer += text.replace(/\r\n?/g, "\n");
    };
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        feed(decoder.decode(value, { stream: true }));
        let cut;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          const event = parse(buffer.slice(0, cut));
          buffer = buffer.slice(cut + 2);
          if (event) yield event;
        }
      }
      feed(decoder.decode());
      if (pendingCR) buffer += "\n";
      for (const block of buffer.split("\n\n")) {
        const event = parse(block);
        if (event) yield event;
      }
    } finally {
      // Leaving early (an error event, or the consumer stopped): close the connection.
      reader.cancel().catch(() => {});
    }
  }

  function handleEvent(turn, event) {
    let data;
    try {
      data = JSON.parse(event.data);
    } catch (_) {
      data = { text: event.data };
    }
    switch (event.type) {
      case "meta":
        setLanguage(turn, data.language);
        if (data.searched) turn.searched = data.searched;
        break;
      case "token":
      case "message":
        onToken(turn, data.text || "");
        break;
      case "citations":
        turn.citations = Array.isArray(data.citations) ? data.citations : [];
        scheduleRender(turn);
        break;
      case "done":
        finish(turn, data);
        break;
      case "error":
        fail(turn, `The answer failed: ${reasonFromDetail(data.detail) || "unknown error"}.`, true);
        break;
      default:
        break;
    }
  }

  async function post(url, body, signal) {
    return fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "text/event-stream, application/json" },
      body: JSON.stringify(body),
      signal,
    });
  }

  async function ask(question) {
    const messages = [...history(), { role: "user", content: question }];
    const turn = createTurn(question);
    const controller = new AbortController();
    state.controller = controller;
    setStreaming(true);
    try {
      let response = await post("/v1/chat", { messages, stream: true }, controller.signal);
      if (response.status === 404 || response.status === 405) {
        // A service without the chat endpoint: answer the question alone.
        response = await post("/v1/ask", { question, stream: true }, controller.signal);
      }
      if (!response.ok) throw await httpError(response);
      const type = response.headers.get("Content-Type") || "";
      if (type.includes("text/event-stream")) {
        for await (const event of readEvents(response)) {
          handleEvent(turn, event);
          if (turn.done || turn.failed) break; // `done` is the last event
        }
      } else {
        const body = await response.json();
        if (body.answer) onToken(turn, body.answer);
        finish(turn, body);
      }
      if (!turn.done && !turn.failed) {
        fail(turn, "The answer was cut off before it was complete.", true);
      }
    } catch (err) {
      if (controller.signal.aborted || (err && err.name === "AbortError")) {
        if (state.turns.includes(turn)) stopped(turn);
      } else if (err instanceof HttpError) {
        fail(turn, describeHttpError(err), err.status >= 500);
      } else {
        fail(turn, "Could not reach the answering service. Check that it is running, then try again.", true);
        checkHealth();
      }
    } finally {
      window.clearInterval(turn.timer);
      if (state.controller === controller) {
        state.controller = null;
        setStreaming(false);
      }
    }
  }

  // ---------------------------------------------------------------- source panel

  function loadDocument(docId) {
    if (!state.docTexts.has(docId)) {
      const promise = fetch(`/v1/documents/${encodeURIComponent(docId)}`)
        .then(async (response) => {
          if (!response.ok) throw await httpError(response);
          const doc = await response.json();
          doc.cps = codePoints(doc.text);
          return doc;
        });
      promise.catch(() => state.docTexts.delete(docId));
      state.docTexts.set(docId, promise);
    }
    return state.docTexts.get(docId);
  }

  /** Paragraph blocks of the article (separated by blank lines), as code-point ranges. */
  function blocksOf(cps) {
    const blocks = [];
    let start = 0;
    let k = 0;
    while (k < cps.length) {
      if (cps[k] !== "\n") {
        k += 1;
        continue;
      }
      let j = k;
      let newlines = 0;
      while (j < cps.length && /\s/.test(cps[j])) {
        if (cps[j] === "\n") newlines += 1;
        j += 1;
      }
      if (newlines >= 2) {
        blocks.push([start, k]);
        start = j;
      }
      k = j;
    }
    blocks.push([start, cps.length]);
    return blocks.filter(([a, b]) => b > a);
  }

  function isHeading(text) {
    const line = text.trim();
    return line.length > 0 && line.length <= 90 && !line.includes("\n")
      && !/[.!?:;…»"”)]$/.test(line);
  }

  /** The article with the cited code-point range [start, end) wrapped in <mark> elements. */
  function renderArticle(doc, start, end) {
    const cps = doc.cps;
    let blocks = blocksOf(cps);
    // A first block made of the title line (and the keyword line) repeats the panel header.
    if (blocks.length > 1) {
      const [a, b] = blocks[0];
      const lines = cps.slice(a, b).join("").split("\n");
      const first = lines[0].replace(/^#+\s*/, "").trim();
      if (lines.length <= 2 && first === (doc.title || "").trim() && b <= start) blocks = blocks.slice(1);
    }
    const nodes = blocks.map(([a, b], i) => {
      const text = cps.slice(a, b).join("");
      const tag = i < blocks.length - 1 && isHeading(text) ? "h3" : "p";
      const s = Math.max(a, start);
      const e = Math.min(b, end);
      if (s >= e) return el(tag, {}, text);
      return el(tag, { class: "has-mark" },
        cps.slice(a, s).join(""),
        el("mark", { class: "cited" }, cps.slice(s, e).join("")),
        cps.slice(e, b).join(""));
    });
    els.panelText.setAttribute("lang", doc.language || "");
    els.panelText.replaceChildren(...nodes);
  }

  function setKeywords(keywords) {
    els.panelKeywords.replaceChildren(...(keywords || []).map((k) => el("li", {}, k)));
  }

  function markCurrent(turn, n) {
    for (const node of document.querySelectorAll('[aria-current="true"]')) node.removeAttribute("aria-current");
    if (!turn) return;
    for (const node of turn.root.querySelectorAll(`.cite[data-n="${n}"], .source-link[data-n="${n}"]`)) {
      node.setAttribute("aria-current", "true");
    }
  }

  async function openSource(turn, n, trigger) {
    const c = (turn.citations || []).find((x) => x.n === n);
    if (!c) return;
    const token = ++state.panelToken;
    state.panelTrigger = trigger || null;
    markCurrent(turn, n);
    const known = state.docs.get(c.doc_id);
    els.panelEyebrow.textContent = `Source [${n}]`;
    els.panelTitle.textContent = c.title || (known && known.title) || c.doc_id;
    els.panelTitle.setAttribute("lang", (known && known.language) || turn.language || "");
    setKeywords(known && known.keywords);
    els.panelStatus.textContent = "Loading the article…";
    els.panelText.replaceChildren();
    els.panel.hidden = false;
    document.body.classList.add("panel-open");
    els.panelTitle.focus({ preventScroll: true });

    let doc = null;
    try {
      doc = await loadDocument(c.doc_id);
    } catch (_) {
      doc = null;
    }
    if (token !== state.panelToken) return; // another source was opened meanwhile
    let start = c.start;
    let end = c.end;
    if (doc) {
      setKeywords(doc.keywords);
      if (doc.title) els.panelTitle.textContent = doc.title;
      if (doc.cps.slice(start, end).join("") !== c.text) {
        // Offsets do not match this text (e.g. the article was re-ingested): find the passage.
        const at = doc.text.indexOf(c.text);
        if (at >= 0) {
          start = codePoints(doc.text.slice(0, at)).length;
          end = start + codePoints(c.text).length;
        } else {
          doc = null;
        }
      }
    }
    if (doc) {
      els.panelStatus.textContent = "";
      renderArticle(doc, start, end);
    } else {
      els.panelStatus.textContent = "The full article could not be loaded; showing the cited passage only.";
      els.panelText.replaceChildren(el("p", {}, el("mark", { class: "cited" }, c.text)));
    }
    const mark = els.panelText.querySelector("mark");
    if (mark) mark.scrollIntoView({ block: "start", behavior: "auto" });
    announce(`Source ${n} opened: ${els.panelTitle.textContent}. Press Escape to close it.`);
  }

  function closePanel(restoreFocus = true) {
    if (els.panel.hidden) return;
    els.panel.hidden = true;
    document.body.classList.remove("panel-open");
    state.panelToken += 1;
    markCurrent(null);
    const trigger = state.panelTrigger;
    state.panelTrigger = null;
    if (restoreFocus && trigger && document.contains(trigger)) {
      trigger.focus({ preventScroll: WIDE.matches });
    }
  }

  // ---------------------------------------------------------------- wiring

  els.form.addEventListener("submit", (event) => {
    event.preventDefault();
    submit();
  });
  els.question.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      submit();
    }
  });
  els.question.addEventListener("input", onQuestionInput);
  els.stop.addEventListener("click", () => {
    if (state.controller) state.controller.abort();
    els.question.focus();
  });
  els.newConversation.addEventListener("click", newConversation);
  els.panelClose.addEventListener("click", () => closePanel(true));
  els.bannerRetry.addEventListener("click", () => {
    setStatus("", "Connecting…");
    checkHealth();
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !els.panel.hidden) {
      event.preventDefault();
      // give the focus back to the marker, unless the user is typing elsewhere
      const active = document.activeElement;
      closePanel(!active || active === document.body || els.panel.contains(active));
    }
  });

  els.docsDetails.open = WIDE.matches;
  WIDE.addEventListener("change", () => {
    if (WIDE.matches) els.docsDetails.open = true;
  });

  updateButtons();
  checkHealth();
})();
