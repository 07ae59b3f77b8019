/* Chat page for the cited question-answering service. Plain JavaScript, no build step, no
 * network access beyond the service itself.
 *
 * Talks to: GET /healthz, GET /v1/documents (paged), GET /v1/documents/{id}, POST /v1/chat (SSE),
 * POST /v1/documents and PUT /v1/documents/{id} (multipart uploads, or `{"url": ...}` for
 * an article, a feed or an export on the web), GET /v1/jobs/{id}, DELETE /v1/documents/{id}.
 * An article's outlet and date (from its metadata) are shown in the list of articles, beside
 * each cited source and in the source panel, with a link to the original; under a cited source,
 * the other outlets that carried the same story (`also_in`). The list of articles can be
 * sorted (title, date, time added) and limited to one outlet (the API's `sort`, `order` and
 * `outlet` parameters). Search filters (publication days, outlets) chosen beside the question
 * box go with every question as `filters`; an answer shows the time its question asked about
 * (`window`) and the filters it was searched with.
 * All service text is inserted as text nodes (never innerHTML), so answers and articles cannot
 * inject markup.
 *
 * API keys: when a call answers 401, the page asks for a key (a dialog showing the server's
 * reason), keeps it in sessionStorage for the tab, sends it as `Authorization: Bearer` on every
 * call and retries. Busy service: a 503 with Retry-After waits (with a countdown) and retries.
 */
"use strict";

(() => {
  const MAX_CHARS = 2000;
  const MAX_HISTORY = 40; // messages sent back as the conversation (user + assistant)
  const WIDE = window.matchMedia("(min-width: 900px)");
  const KEY_STORE = "ragkit.apiKey";
  const PAGE_SIZE = 500; // the most GET /v1/documents gives at once
  const BUSY_GIVE_UP_MS = 3 * 60 * 1000; // stop retrying a busy service after 3 minutes

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
    panelMeta: $("panel-meta"),
    urlForm: $("url-form"),
    urlInput: $("url-input"),
    urlError: $("url-error"),
    panelStatus: $("panel-status"),
    panelText: $("panel-text"),
    panelClose: $("panel-close"),
    srStatus: $("sr-status"),
    enterKey: $("enter-key"),
    forgetKey: $("forget-key"),
    docsSection: $("docs"),
    addDocs: $("add-docs"),
    fileInput: $("file-input"),
    uploads: $("uploads"),
    docsStatus: $("docs-status"),
    dropOverlay: $("drop-overlay"),
    keyDialog: $("key-dialog"),
    keyForm: $("key-form"),
    keyReason: $("key-reason"),
    keyInput: $("api-key"),
    keyError: $("key-error"),
    keyCancel: $("key-cancel"),
    confirmDialog: $("confirm-dialog"),
    confirmTitle: $("confirm-title"),
    confirmText: $("confirm-text"),
    confirmOk: $("confirm-ok"),
    confirmCancel: $("confirm-cancel"),
    docsView: $("docs-view"),
    docsSort: $("docs-sort"),
    docsOutlet: $("docs-outlet"),
    docsOutletItem: $("docs-outlet-item"),
    filtersToggle: $("filters-toggle"),
    filtersSummary: $("filters-summary"),
    filtersClear: $("filters-clear"),
    filtersPanel: $("filters-panel"),
    filterFrom: $("filter-from"),
    filterTo: $("filter-to"),
    filterOutlets: $("filter-outlets"),
    filterOutletsEmpty: $("filter-outlets-empty"),
    filtersError: $("filters-error"),
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
    apiKey: "", // the key sent as `Authorization: Bearer` (mirrored in sessionStorage)
    authRequired: false, // the service answered 401 at least once
    keyPrompt: null, // {promise, resolve, reject} while the key dialog is open
    docsToken: 0,
    dragDepth: 0,
    // what every question is searched in: days "YYYY-MM-DD" ("" = open), outlet names
    filters: { after: "", before: "", outlets: [] },
    outlets: [], // [{name, count}] of every article, by name
    docsView: { sort: "title", order: "asc", outlet: "" }, // how the list of articles is shown
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
    constructor(status, reason, retryAfter, body) {
      super(reason);
      this.status = status;
      this.retryAfter = retryAfter;
      this.body = body || null;
    }
  }

  /** The user closed the API key dialog without giving a key. */
  class KeyCancelled extends Error {
    constructor() {
      super("an API key is needed");
      this.name = "KeyCancelled";
    }
  }

  function errorFromBody(status, statusText, body, retryAfter) {
    const reason = reasonFromDetail(body && body.detail);
    return new HttpError(status, reason || statusText || "request failed", retryAfter, body);
  }

  async function httpError(response) {
    let body = null;
    try {
      body = await response.json();
    } catch (_) {
      body = null;
    }
    return errorFromBody(response.status, response.statusText, body, response.headers.get("Retry-After"));
  }

  function describeHttpError(err) {
    const s = err.status;
    if (s === 422) return `The question was not accepted (${s}): ${err.message}.`;
    if (s === 503) return `The service is unavailable (${s}): ${err.message}. Try again shortly.`;
    if (s >= 500) return `The service failed (${s}): ${err.message}.`;
    return `The request was refused (${s}): ${err.message}.`;
  }

  function abortError() {
    return new DOMException("The operation was aborted.", "AbortError");
  }

  function isAbort(err) {
    return Boolean(err) && err.name === "AbortError";
  }

  /** Resolves after `ms`, or rejects with an AbortError as soon as `signal` aborts. */
  function sleep(ms, signal) {
    return new Promise((resolve, reject) => {
      if (signal && signal.aborted) {
        reject(abortError());
        return;
      }
      const onAbort = () => {
        window.clearTimeout(timer);
        reject(abortError());
      };
      const timer = window.setTimeout(() => {
        if (signal) signal.removeEventListener("abort", onAbort);
        resolve();
      }, ms);
      if (signal) signal.addEventListener("abort", onAbort, { once: true });
    });
  }

  function formatBytes(n) {
    if (n < 1000) return `${n} B`;
    if (n < 1e6) return `${(n / 1000).toFixed(1)} kB`;
    return `${(n / 1e6).toFixed(1)} MB`;
  }

  // ---------------------------------------------------------------- API key

  function readStoredKey() {
    try {
      return window.sessionStorage.getItem(KEY_STORE) || "";
    } catch (_) {
      return ""; // storage disabled: the key lives in memory only
    }
  }

  function setKey(key) {
    state.apiKey = key || "";
    try {
      if (state.apiKey) window.sessionStorage.setItem(KEY_STORE, state.apiKey);
      else window.sessionStorage.removeItem(KEY_STORE);
    } catch (_) {
      // storage disabled: keep it in memory for this page only
    }
    updateKeyButtons();
  }

  function updateKeyButtons() {
    els.forgetKey.hidden = !state.apiKey;
    els.enterKey.hidden = Boolean(state.apiKey) || !state.authRequired;
  }

  function withKey(headers) {
    const h = new Headers(headers || {});
    if (state.apiKey) h.set("Authorization", `Bearer ${state.apiKey}`);
    return h;
  }

  /** The key dialog, shared by every call that got a 401 while it is open. Resolves when a
   * new key was given; rejects with KeyCancelled when the dialog is dismissed. */
  function promptForKey(reason) {
    if (reason) {
      els.keyReason.replaceChildren("The service needs an API key for this. It answered: ",
        el("q", { class: "reason" }, reason), ".");
    } else {
      els.keyReason.textContent = "Enter the API key this service gave you.";
    }
    if (state.keyPrompt) return state.keyPrompt.promise;
    const prompt = {};
    prompt.promise = new Promise((resolve, reject) => {
      prompt.resolve = resolve;
      prompt.reject = reject;
    });
    state.keyPrompt = prompt;
    prompt.returnFocus = document.activeElement;
    els.keyInput.value = "";
    els.keyError.textContent = "";
    els.keyInput.removeAttribute("aria-invalid");
    if (!els.keyDialog.open) els.keyDialog.showModal();
    els.keyInput.focus();
    return prompt.promise;
  }

  function closeKeyDialog(key) {
    const prompt = state.keyPrompt;
    state.keyPrompt = null;
    if (els.keyDialog.open) els.keyDialog.close();
    els.keyInput.value = "";
    if (prompt) {
      const back = prompt.returnFocus;
      if (back && back !== document.body && document.contains(back)) back.focus({ preventScroll: true });
      if (key) prompt.resolve(key);
      else prompt.reject(new KeyCancelled());
    }
  }

  function submitKey() {
    const key = els.keyInput.value.trim();
    let problem = "";
    if (!key) problem = "Type the API key first.";
    else if (key.length < 16) problem = `API keys are at least 16 characters long; this one has ${key.length}.`;
    else if (/\s/.test(key)) problem = "An API key has no spaces in it.";
    if (problem) {
      els.keyError.textContent = problem;
      els.keyInput.setAttribute("aria-invalid", "true");
      els.keyInput.focus();
      return;
    }
    setKey(key);
    closeKeyDialog(key);
  }

  /** After a 401 to a call sent with `usedKey`: wait for a key to retry with. */
  async function needKey(usedKey, reason, signal) {
    state.authRequired = true;
    updateKeyButtons();
    if (state.apiKey && state.apiKey !== usedKey) return; // a new key arrived meanwhile
    if (usedKey) setKey(""); // refused: stop sending it
    const given = promptForKey(reason);
    if (!signal) {
      await given;
      return;
    }
    await new Promise((resolve, reject) => {
      if (signal.aborted) {
        reject(abortError());
        return;
      }
      signal.addEventListener("abort", () => reject(abortError()), { once: true });
      given.then(resolve, reject);
    });
  }

  function forgetKey() {
    setKey("");
    state.authRequired = true;
    updateKeyButtons();
    announce("The API key was forgotten. The page will ask for one when the service needs it.");
    els.enterKey.focus();
  }

  /** `fetch` with the API key; a 401 asks for a key and retries the call. */
  async function apiFetch(url, options = {}) {
    for (;;) {
      const key = state.apiKey;
      const response = await fetch(url, { ...options, headers: withKey(options.headers) });
      if (response.status !== 401) return response;
      const err = await httpError(response);
      await needKey(key, err.message, options.signal);
    }
  }

  /** XMLHttpRequest (for upload progress) → {status, body, retryAfter}. */
  function xhrSend(method, url, body, onProgress) {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open(method, url);
      xhr.setRequestHeader("Accept", "application/json");
      if (state.apiKey) xhr.setRequestHeader("Authorization", `Bearer ${state.apiKey}`);
      if (onProgress) {
        xhr.upload.addEventListener("progress", (event) => {
          if (event.lengthComputable) onProgress(event.loaded, event.total);
        });
      }
      xhr.addEventListener("load", () => {
        let parsed = null;
        try {
          parsed = JSON.parse(xhr.responseText);
        } catch (_) {
          parsed = null;
        }
        resolve({ status: xhr.status, statusText: xhr.statusText, body: parsed,
          retryAfter: xhr.getResponseHeader("Retry-After") });
      });
      xhr.addEventListener("error", () => reject(new TypeError("network error")));
      xhr.addEventListener("abort", () => reject(abortError()));
      xhr.send(body);
    });
  }

  /** An upload with the API key; a 401 asks for a key and sends the files again. */
  async function apiUpload(method, url, body, onProgress) {
    for (;;) {
      const key = state.apiKey;
      const result = await xhrSend(method, url, body, onProgress);
      if (result.status !== 401) return result;
      await needKey(key, reasonFromDetail(result.body && result.body.detail) || "an API key is required");
    }
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
      showBanner("empty", ["No articles ingested yet: add text, page, feed or export files with ",
        "“Add articles…” (or drop them on the page), add one by its web address, or run ",
        el("code", { text: "rag ingest PATH" }), "."], false);
      setStatus("empty", "No articles ingested");
    } else {
      hideBanner();
      setStatus("ok", `${plural(health.documents, "article")} · ${plural(health.passages, "passage")}`);
    }
    await loadDocuments();
  }

  /** The list's parameters for GET /v1/documents ("" for the default: by title, every outlet). */
  function viewQuery(view) {
    const params = new URLSearchParams();
    if (view.sort !== "title" || view.order !== "asc") {
      params.set("sort", view.sort);
      params.set("order", view.order);
    }
    if (view.outlet) params.append("outlet", view.outlet);
    return params.toString();
  }

  /** Every document (those `query` keeps), a page of PAGE_SIZE at a time. */
  async function fetchAllDocuments(query = "") {
    const all = [];
    let offset = 0;
    for (;;) {
      const response = await apiFetch(
        `/v1/documents?offset=${offset}&limit=${PAGE_SIZE}${query ? `&${query}` : ""}`,
        { cache: "no-store" });
      if (!response.ok) throw await httpError(response);
      const page = await response.json();
      if (Array.isArray(page)) return page; // an older service: the whole list at once
      const docs = Array.isArray(page.documents) ? page.documents : [];
      all.push(...docs);
      offset += docs.length;
      if (!docs.length || offset >= (page.total || 0)) return all;
    }
  }

  async function loadDocuments() {
    const token = ++state.docsToken;
    const view = { ...state.docsView };
    let docs;
    let all;
    try {
      docs = await fetchAllDocuments(viewQuery(view));
      // the outlets to choose from are those of every article, not only of the ones listed
      all = view.outlet ? await fetchAllDocuments() : docs;
    } catch (err) {
      if (token !== state.docsToken) return;
      renderDocsMessage(err instanceof KeyCancelled
        ? "The list of articles needs an API key: use “Enter API key” at the top of the page."
        : err instanceof HttpError
          ? `The list of articles could not be loaded (${err.status}: ${err.message}).`
          : "The list of articles could not be loaded.");
      return;
    }
    if (token !== state.docsToken) return; // a newer load is under way
    state.docs = new Map(all.map((d) => [d.doc_id, d]));
    setOutlets(all);
    if (view.outlet && !state.outlets.some((o) => o.name === view.outlet)) {
      state.docsView.outlet = ""; // its last article is gone: list them all again
      renderDocsView(all.length);
      await loadDocuments();
      return;
    }
    renderDocsView(all.length);
    renderDocs(docs, all.length);
  }

  /** After an upload, a replacement or a deletion: the status line and the list. */
  function refreshCorpus() {
    state.docTexts.clear(); // a changed article must be read again
    return checkHealth();
  }

  function renderDocsMessage(text) {
    els.docsList.replaceChildren();
    els.docsView.hidden = true;
    els.docsCount.textContent = "";
    els.docsEmpty.textContent = text;
    els.docsEmpty.hidden = false;
    els.examples.replaceChildren();
  }

  /** An article's own date as written ("2020-02-14" or "2020-02-14T09:30:00+01:00"):
   * "14 Feb 2020" or "14 Feb 2020, 09:30", in the zone it was published in. */
  function formatPublished(iso) {
    const m = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}))?/.exec(String(iso || ""));
    if (!m) return "";
    const day = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], 12));
    const text = new Intl.DateTimeFormat("en-GB", {
      day: "numeric", month: "short", year: "numeric", timeZone: "UTC",
    }).format(day);
    return m[4] ? `${text}, ${m[4]}:${m[5]}` : text;
  }

  /** A day "YYYY-MM-DD" as "14 Feb 2020" ("" when it is not one). */
  function formatDay(iso) {
    return /^\d{4}-\d{2}-\d{2}$/.test(String(iso || "")) ? formatPublished(iso) : "";
  }

  /** Days from `after` to `before` (either may be ""), short: "1–29 Feb 2020",
   * "28 Feb – 3 Mar 2020", "from 1 Feb 2020", "until 29 Feb 2020", "14 Feb 2020". */
  function formatRange(after, before) {
    const a = formatDay(after);
    const b = formatDay(before);
    if (!a && !b) return "";
    if (!b) return `from ${a}`;
    if (!a) return `until ${b}`;
    if (after === before) return a;
    if (after.slice(0, 7) === before.slice(0, 7)) return `${Number(after.slice(8))}–${b}`;
    if (after.slice(0, 4) === before.slice(0, 4)) return `${a.replace(/ \d{4}$/, "")} – ${b}`;
    return `${a} – ${b}`;
  }

  /** Who published an article and when: "Le Monde · 14 Feb 2020" (nodes; empty if unknown). */
  function aboutNodes(x) {
    const nodes = [];
    if (x.outlet) nodes.push(el("span", { class: "outlet" }, x.outlet));
    const date = formatPublished(x.published);
    if (date) {
      if (nodes.length) nodes.push(" · ");
      nodes.push(el("time", { class: "published", datetime: x.published }, date));
    }
    return nodes;
  }

  /** The original article's address, only when it is a web address. */
  function originalUrl(x) {
    return /^https?:\/\//i.test(String(x.url || "")) ? x.url : "";
  }

  function originalLink(x, className) {
    const url = originalUrl(x);
    return url ? el("a", { class: className, href: url, target: "_blank",
      rel: "noopener noreferrer", title: url }, "Original article ↗") : null;
  }

  function setPanelMeta(x) {
    const nodes = aboutNodes(x);
    const authors = Array.isArray(x.authors) ? x.authors.filter(Boolean) : [];
    if (authors.length) nodes.push(nodes.length ? " · " : "", `by ${authors.join(", ")}`);
    const link = originalLink(x, "original");
    if (link) nodes.push(nodes.length ? " · " : "", link);
    els.panelMeta.replaceChildren(...nodes);
    els.panelMeta.hidden = !nodes.length;
  }

  function docMeta(d) {
    const parts = [];
    const date = formatPublished(String(d.published || "").slice(0, 10)); // the day is enough
    if (d.outlet) parts.push(d.outlet);
    if (date) parts.push(date);
    parts.push(plural(d.passages, "passage"));
    if (d.language) parts.push(d.language.toUpperCase());
    if (d.state === "writing") parts.push("being written…");
    else if (d.state === "deleting") parts.push("being deleted…");
    return parts.join(" · ");
  }

  /** The articles listed (`docs`, those the list's outlet keeps, in its order) of `total`. */
  function renderDocs(docs, total = docs.length) {
    if (!total) {
      renderDocsMessage("No articles yet: add some with “Add articles…”.");
      els.docsDetails.open = true; // the Add button in sight, also on a phone
      return;
    }
    els.docsCount.textContent = docs.length === total ? `(${total})` : `(${docs.length} of ${total})`;
    els.docsEmpty.hidden = docs.length > 0;
    els.docsEmpty.textContent = docs.length ? "" : `No article from ${state.docsView.outlet}.`;
    // a refresh must not drop the keyboard focus from the list
    const focused = document.activeElement && els.docsList.contains(document.activeElement)
      ? document.activeElement.closest("li").dataset.docId : null;
    els.docsList.replaceChildren(...docs.map((d) => el("li", { "data-doc-id": d.doc_id },
      el("div", { class: "doc-info" },
        el("span", { class: "doc-title", lang: d.language || null, text: d.title || d.doc_id }),
        el("span", { class: "doc-meta" }, docMeta(d))),
      el("button", {
        type: "button",
        class: "btn-text doc-delete",
        "aria-label": `Delete “${d.title || d.doc_id}”`,
        title: "Delete this article",
        disabled: d.state === "deleting",
        onclick: (event) => deleteDocument(d, event.currentTarget),
      }, "Delete"),
    )));
    if (focused) {
      const again = els.docsList.querySelector(`li[data-doc-id="${CSS.escape(focused)}"] .doc-delete`);
      if (again) again.focus({ preventScroll: true });
    }
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

  /** The outlets of every article, with how many articles each has, by name. */
  function setOutlets(docs) {
    const counts = new Map();
    for (const d of docs) {
      const name = String(d.outlet || "").trim();
      if (name) counts.set(name, (counts.get(name) || 0) + 1);
    }
    state.outlets = [...counts].map(([name, count]) => ({ name, count }))
      .sort((x, y) => x.name.localeCompare(y.name, "fr", { sensitivity: "base" }));
    renderOutletChoices();
  }

  /** The list's sort and outlet controls, shown once there are articles. */
  function renderDocsView(total) {
    const view = state.docsView;
    els.docsView.hidden = !total;
    els.docsSort.value = `${view.sort}:${view.order}`;
    const options = state.outlets.map((o) => el("option", { value: o.name }, `${o.name} (${o.count})`));
    els.docsOutlet.replaceChildren(el("option", { value: "" }, "All outlets"), ...options);
    els.docsOutlet.value = view.outlet;
    els.docsOutletItem.hidden = !state.outlets.length && !view.outlet;
  }

  function changeDocsView() {
    const [sort, order] = els.docsSort.value.split(":");
    state.docsView = { sort, order, outlet: els.docsOutlet.value };
    loadDocuments();
  }

  // ---------------------------------------------------------------- search filters

  /** The filters chosen, as the API's `filters` object; null when nothing is chosen. */
  function requestFilters() {
    const f = state.filters;
    const out = {};
    if (f.after) out.published_after = f.after;
    if (f.before) out.published_before = f.before;
    if (f.outlets.length) out.outlets = [...f.outlets];
    return Object.keys(out).length ? out : null;
  }

  /** Filters (the API's object) in a few words: "Le Monde · 1–29 Feb 2020"; "" for none. */
  function filtersText(filters) {
    if (!filters) return "";
    const parts = [];
    const outlets = filters.outlets || [];
    if (outlets.length) {
      parts.push(outlets.length <= 2 ? outlets.join(", ")
        : `${outlets.slice(0, 2).join(", ")} +${outlets.length - 2}`);
    }
    const range = formatRange(filters.published_after || "", filters.published_before || "");
    if (range) parts.push(range);
    return parts.join(" · ");
  }

  /** Why the chosen days cannot be sent ("" when they can); `typing`: a day half typed is
   * not one yet (it limits nothing until complete), said only when the question is sent. */
  function filtersProblem(typing = false) {
    if (!typing && (els.filterFrom.validity.badInput || els.filterTo.validity.badInput)) {
      return "Complete the day (day, month and year) or clear it.";
    }
    const { after, before } = state.filters;
    if (after && before && after > before) {
      return `The first day (${formatDay(after)}) is after the last one (${formatDay(before)}).`;
    }
    return "";
  }

  function renderFilters() {
    const f = state.filters;
    const chosen = requestFilters();
    const text = filtersText(chosen);
    els.filtersSummary.textContent = text || "all articles";
    els.filtersToggle.dataset.active = chosen ? "true" : "false";
    els.filtersClear.hidden = !chosen;
    // the date pickers offer only the days that make a range
    els.filterFrom.max = f.before || "2100-12-31";
    els.filterTo.min = f.after || "1900-01-01";
    const problem = filtersProblem(true);
    els.filtersError.textContent = problem;
    for (const input of [els.filterFrom, els.filterTo]) {
      if (problem) input.setAttribute("aria-invalid", "true");
      else input.removeAttribute("aria-invalid");
    }
    // the question box tells a screen reader what its questions are limited to
    const described = ["composer-help", "composer-message"];
    if (chosen) described.push("filters-summary");
    els.question.setAttribute("aria-describedby", described.join(" "));
  }

  /** The outlet checkboxes, from the outlets of the articles; a chosen outlet whose articles
   * are all gone is no longer chosen. */
  function renderOutletChoices() {
    const known = new Set(state.outlets.map((o) => o.name));
    const chosen = state.filters.outlets.filter((name) => known.has(name));
    const dropped = chosen.length !== state.filters.outlets.length;
    state.filters.outlets = chosen;
    const active = document.activeElement;
    const focused = active && els.filterOutlets.contains(active) ? active.value : null;
    els.filterOutlets.replaceChildren(...state.outlets.map((o) => el("li", {},
      el("label", { class: "chip" },
        el("input", { type: "checkbox", value: o.name, checked: chosen.includes(o.name) }),
        el("span", {}, o.name), " ",
        el("span", { class: "count" }, `${o.count}`,
          el("span", { class: "visually-hidden" }, o.count === 1 ? " article" : " articles"))))));
    els.filterOutletsEmpty.hidden = state.outlets.length > 0;
    if (focused !== null) {
      const again = Array.from(els.filterOutlets.querySelectorAll("input")).find((i) => i.value === focused);
      if (again) again.focus({ preventScroll: true });
    }
    if (dropped) renderFilters();
  }

  function readFilterDays() {
    // a day half typed reads as "" (the input's value is only ever a whole day)
    state.filters.after = els.filterFrom.value;
    state.filters.before = els.filterTo.value;
    renderFilters();
  }

  function setFiltersOpen(open) {
    els.filtersPanel.hidden = !open;
    els.filtersToggle.setAttribute("aria-expanded", open ? "true" : "false");
  }

  function clearFilters() {
    state.filters = { after: "", before: "", outlets: [] };
    els.filterFrom.value = "";
    els.filterTo.value = "";
    for (const box of els.filterOutlets.querySelectorAll("input")) box.checked = false;
    renderFilters();
    els.filtersToggle.focus();
    announce("Search filters cleared: questions are searched in every article.");
  }

  // ---------------------------------------------------------------- adding articles

  const STATUS_LABEL = {
    added: "Added",
    updated: "Updated",
    unchanged: "Unchanged",
    deleted: "Deleted",
    conflict: "Conflict",
    error: "Error",
  };

  /** The file name of an outcome (`upload:NAME` for the files the service read). */
  function outcomeName(outcome) {
    return String(outcome.name || "").replace(/^upload:/, "");
  }

  function outcomeText(o) {
    switch (o.status) {
      case "added":
        return `${plural(o.passages, "passage")}, now searchable.`;
      case "updated":
        return `${plural(o.passages, "passage")}; ${o.embedded} new or changed.`;
      case "unchanged":
        return "Already there with the same text: nothing to do.";
      case "deleted":
        return "Removed.";
      case "conflict":
        return `A different article already has the id “${o.doc_id}”. Replace it with this file?`;
      default:
        return errorReason(o);
    }
  }

  /** An error's reason without the file name the service puts in front of it
   * ("empty.txt:1: empty file" → "line 1: empty file"). */
  function errorReason(o) {
    let text = String(o.detail || "").trim();
    const name = outcomeName(o);
    for (const prefix of [`upload:${name}:`, `${name}:`, `'${name}':`]) {
      if (name && text.startsWith(prefix)) {
        text = text.slice(prefix.length).trim();
        break;
      }
    }
    text = text.replace(/^(\d+):\s*/, "line $1: ");
    return text ? `${text.charAt(0).toUpperCase()}${text.slice(1)}` : "The file could not be read.";
  }

  /** Outcomes in the order the files were given. */
  function inFileOrder(report, outcomes) {
    const rank = (o) => {
      const i = report.files.findIndex((f) => f.name === outcomeName(o));
      return i < 0 ? report.files.length : i;
    };
    return [...outcomes].sort((a, b) => rank(a) - rank(b));
  }

  /** One upload (a batch of files) shown as a card above the list of articles. */
  function createReport(files, title) {
    const report = {
      files,
      phase: el("p", { class: "upload-phase" }),
      bar: el("progress", { class: "upload-bar", max: 1, value: 0 }),
      outcomes: el("ul", { class: "outcomes" }),
      dismiss: el("button", { type: "button", class: "btn-icon btn-icon-small", hidden: true,
        "aria-label": "Dismiss this upload report", title: "Dismiss" }, "×"),
    };
    report.heading = el("p", { class: "upload-title" }, title);
    report.root = el("li", { class: "upload", "aria-busy": "true" },
      el("div", { class: "upload-head" }, report.heading, report.dismiss),
      report.phase, report.bar, report.outcomes);
    report.bar.setAttribute("aria-label", title);
    report.dismiss.addEventListener("click", () => {
      const next = report.root.nextElementSibling || report.root.previousElementSibling;
      report.root.remove();
      const target = next && next.querySelector("button:not([hidden])");
      (target || els.addDocs).focus();
    });
    els.uploads.prepend(report.root);
    return report;
  }

  function setPhase(report, text, value, max) {
    report.phase.textContent = text;
    if (value === undefined) {
      report.bar.hidden = true;
    } else {
      report.bar.hidden = false;
      if (value === null) {
        report.bar.removeAttribute("value"); // indeterminate
      } else {
        report.bar.max = Math.max(1, max);
        report.bar.value = Math.min(value, max);
      }
    }
  }

  function finishReport(report, summary, kind) {
    report.root.setAttribute("aria-busy", "false");
    report.root.dataset.kind = kind || "done";
    report.bar.hidden = true;
    report.phase.textContent = summary;
    report.phase.classList.toggle("upload-error", kind === "error");
    report.dismiss.hidden = false;
  }

  function outcomeRow(report, o) {
    const name = outcomeName(o);
    const row = el("li", { class: "outcome", "data-status": o.status, "data-name": name, tabindex: "-1" });
    fillOutcome(report, row, o);
    return row;
  }

  function fillOutcome(report, row, o) {
    const name = outcomeName(o);
    row.dataset.status = o.status;
    const parts = [
      el("span", { class: "outcome-name" }, name),
      el("span", { class: `badge badge-${o.status}` }, STATUS_LABEL[o.status] || o.status),
      el("span", { class: "outcome-detail" }, outcomeText(o)),
    ];
    const file = report.files.find((f) => f.name === name);
    if (o.status === "conflict" && o.doc_id && file) {
      parts.push(el("button", {
        type: "button",
        class: "btn btn-small btn-secondary outcome-replace",
        "aria-label": `Replace the article “${o.doc_id}” with ${name}`,
        onclick: () => replaceDocument(report, row, o.doc_id, file),
      }, "Replace"));
    }
    row.replaceChildren(...parts);
  }

  function summarise(outcomes) {
    const counts = new Map();
    for (const o of outcomes) counts.set(o.status, (counts.get(o.status) || 0) + 1);
    const order = ["added", "updated", "unchanged", "conflict", "error", "deleted"];
    const words = {
      added: "added", updated: "updated", unchanged: "unchanged", deleted: "deleted",
      conflict: (n) => (n === 1 ? "conflict" : "conflicts"), error: (n) => (n === 1 ? "error" : "errors"),
    };
    return order.filter((k) => counts.get(k))
      .map((k) => {
        const n = counts.get(k);
        const w = typeof words[k] === "function" ? words[k](n) : words[k];
        return `${n} ${w}`;
      }).join(", ");
  }

  /** Wait for a queued job, showing its progress in passages; the job when it has ended. */
  async function pollJob(report, job) {
    let delay = 250;
    let failures = 0;
    while (job.state === "queued" || job.state === "running") {
      if (job.to_embed > 0) {
        setPhase(report, `Adding the passages… ${job.embedded} / ${job.to_embed} passages`,
          job.embedded, job.to_embed);
      } else if (job.state === "queued") {
        setPhase(report, "Waiting for the ingestion queue…", null);
      } else {
        setPhase(report, "Reading and splitting the articles…", null);
      }
      await sleep(delay);
      delay = Math.min(delay * 1.5, 2000);
      try {
        const response = await apiFetch(`/v1/jobs/${encodeURIComponent(job.id)}`, { cache: "no-store" });
        if (!response.ok) throw await httpError(response);
        job = await response.json();
        failures = 0;
      } catch (err) {
        if (err instanceof KeyCancelled || (err instanceof HttpError && err.status !== 503)) throw err;
        failures += 1; // the service restarting: the job resumes with it
        if (failures >= 8) throw err;
      }
    }
    return job;
  }

  /** 200/202 with a job, 413, 422, or another error → the report shows what happened. */
  async function settleUpload(report, result, verb) {
    const { status, body } = result;
    if (status === 200 || status === 202) {
      let job = body;
      if (job.state === "queued" || job.state === "running") job = await pollJob(report, job);
      if (job.state === "failed") {
        return { kind: "error", summary: `The ${verb} failed: ${job.error || "unknown error"}.`, outcomes: job.outcomes || [] };
      }
      const outcomes = job.outcomes || [];
      const bad = outcomes.some((o) => o.status === "error" || o.status === "conflict");
      return { kind: bad ? "partial" : "done", summary: `Done: ${summarise(outcomes) || "nothing to do"}.`, outcomes };
    }
    const err = errorFromBody(status, result.statusText, body, result.retryAfter);
    if (status === 413) {
      return { kind: "error", summary: `Too large, nothing was added (413): ${err.message}.`, outcomes: [] };
    }
    if (status === 422 && body && Array.isArray(body.detail)) {
      const outcomes = body.detail.map((e, i) => {
        const at = Array.isArray(e.loc) ? e.loc[e.loc.length - 1] : i;
        // a file's index, or a field of a JSON body (`url`): the one thing sent
        const file = typeof at === "number" ? report.files[at]
          : report.files.length === 1 ? report.files[0] : null;
        return { name: file ? file.name : `file ${i + 1}`, status: "error", detail: String(e.msg || "") };
      });
      const what = report.byUrl ? "the address could not be read" : "no file could be read";
      return { kind: "error", summary: `Nothing was added (422): ${what}.`, outcomes };
    }
    return { kind: "error", summary: `The ${verb} was refused (${status}): ${err.message}.`, outcomes: [] };
  }

  function describeUploadFailure(err, verb) {
    if (err instanceof KeyCancelled) return `Nothing was sent: adding articles needs an API key.`;
    if (err instanceof HttpError) return `The ${verb} could not be followed (${err.status}: ${err.message}).`;
    return `The ${verb} was interrupted: the service may be unreachable, or the files larger than it accepts.`;
  }

  async function uploadFiles(fileList) {
    const files = Array.from(fileList || []);
    if (!files.length) return;
    els.docsDetails.open = true;
    closePanel(false); // on wide screens the source panel hides the articles column
    const size = files.reduce((n, f) => n + f.size, 0);
    const title = files.length === 1 ? `Adding ${files[0].name}` : `Adding ${files.length} files`;
    const report = createReport(files, title);
    setPhase(report, `Uploading ${plural(files.length, "file")} (${formatBytes(size)})…`, 0, 1);
    announce(`${title}…`);
    const form = new FormData();
    for (const f of files) form.append("files", f, f.name);
    let outcome;
    try {
      const result = await apiUpload("POST", "/v1/documents", form, (loaded, total) => {
        const pct = total ? Math.round((100 * loaded) / total) : 100;
        setPhase(report, `Uploading ${plural(files.length, "file")}… ${pct}%`, loaded, total || 1);
      });
      setPhase(report, "Reading the articles…", null);
      outcome = await settleUpload(report, result, "upload");
    } catch (err) {
      outcome = { kind: "error", summary: describeUploadFailure(err, "upload"), outcomes: [] };
    }
    report.outcomes.replaceChildren(...inFileOrder(report, outcome.outcomes).map((o) => outcomeRow(report, o)));
    finishReport(report, outcome.summary, outcome.kind);
    announce(`${title}: ${outcome.summary}`);
    if (outcome.outcomes.some((o) => ["added", "updated", "deleted"].includes(o.status))) {
      await refreshCorpus();
    }
  }

  /** Add what a web address holds: an article page, each entry of a feed, each object of an
   * export (the service fetches it). */
  async function addUrl(url) {
    els.docsDetails.open = true;
    closePanel(false);
    const report = createReport([{ name: url }], `Adding ${url}`);
    report.byUrl = true;
    setPhase(report, "Fetching and reading…", null);
    announce(`Adding ${url}…`);
    let outcome;
    try {
      const response = await apiFetch("/v1/documents", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ url }),
      });
      let body = null;
      try {
        body = await response.json();
      } catch (_) {
        body = null;
      }
      const result = { status: response.status, statusText: response.statusText, body,
        retryAfter: response.headers.get("Retry-After") };
      outcome = await settleUpload(report, result, "download");
    } catch (err) {
      outcome = { kind: "error", summary: describeUploadFailure(err, "download"), outcomes: [] };
    }
    report.outcomes.replaceChildren(...outcome.outcomes.map((o) => outcomeRow(report, o)));
    finishReport(report, outcome.summary, outcome.kind);
    announce(`Adding ${url}: ${outcome.summary}`);
    if (outcome.outcomes.some((o) => ["added", "updated"].includes(o.status))) {
      els.urlInput.value = "";
      await refreshCorpus();
    }
  }

  function submitUrl() {
    const url = els.urlInput.value.trim();
    if (!/^https?:\/\/\S+$/i.test(url)) {
      els.urlError.textContent = "Give a web address starting with http:// or https://.";
      els.urlInput.setAttribute("aria-invalid", "true");
      els.urlInput.focus();
      return;
    }
    els.urlError.textContent = "";
    els.urlInput.removeAttribute("aria-invalid");
    addUrl(url);
  }

  /** PUT one file over the article `docId` (after a conflict). */
  async function replaceDocument(report, row, docId, file) {
    const button = row.querySelector(".outcome-replace");
    if (button) button.disabled = true;
    report.root.setAttribute("aria-busy", "true");
    const note = el("span", { class: "outcome-detail" }, `Replacing “${docId}”…`);
    row.replaceChildren(el("span", { class: "outcome-name" }, file.name),
      el("span", { class: "badge" }, "Replacing"), note);
    row.focus();
    const form = new FormData();
    form.append("files", file, file.name);
    let outcome;
    try {
      const result = await apiUpload("PUT", `/v1/documents/${encodeURIComponent(docId)}`, form);
      outcome = await settleUpload(report, result, "replacement");
    } catch (err) {
      outcome = { kind: "error", summary: describeUploadFailure(err, "replacement"), outcomes: [] };
    }
    report.root.setAttribute("aria-busy", "false");
    const o = outcome.outcomes[0] || { name: file.name, status: "error", detail: outcome.summary };
    fillOutcome(report, row, { ...o, name: file.name });
    row.focus();
    if (o.status !== "error" && o.status !== "conflict") {
      finishReport(report, `Replaced “${docId}”: ${outcomeText(o)}`, "done");
    }
    announce(o.status === "error" ? `Replacing “${docId}” failed: ${outcomeText(o)}` : `Replaced “${docId}”.`);
    if (["added", "updated"].includes(o.status)) await refreshCorpus();
  }

  // ---------------------------------------------------------------- deleting articles

  /** A modal confirmation; resolves true when confirmed (Escape and Cancel resolve false). */
  function confirmDialog(title, text, action) {
    return new Promise((resolve) => {
      els.confirmTitle.textContent = title;
      els.confirmText.textContent = text;
      els.confirmOk.textContent = action;
      els.confirmDialog.returnValue = "";
      els.confirmDialog.addEventListener("close", () => resolve(els.confirmDialog.returnValue === "confirm"),
        { once: true });
      els.confirmDialog.showModal();
      els.confirmCancel.focus(); // the safe choice first
    });
  }

  function setDocsStatus(text, kind) {
    els.docsStatus.textContent = text;
    if (kind) els.docsStatus.dataset.kind = kind;
    else delete els.docsStatus.dataset.kind;
  }

  async function deleteDocument(doc, trigger) {
    const name = doc.title || doc.doc_id;
    const ok = await confirmDialog(`Delete “${name}”?`,
      `Its ${plural(doc.passages, "passage")} will no longer be searched or cited. `
      + "Answers already shown keep their text. This cannot be undone.", "Delete");
    if (!ok) {
      if (document.contains(trigger)) trigger.focus();
      return;
    }
    trigger.disabled = true;
    setDocsStatus(`Deleting “${name}”…`);
    let message;
    let kind;
    try {
      const response = await apiFetch(`/v1/documents/${encodeURIComponent(doc.doc_id)}`, { method: "DELETE" });
      if (response.status === 404) {
        message = `“${name}” was already deleted.`;
      } else if (!response.ok) {
        throw await httpError(response);
      } else {
        const body = await response.json();
        message = `Deleted “${name}” (${plural(body.deleted_passages || 0, "passage")}).`;
      }
    } catch (err) {
      kind = "error";
      message = err instanceof KeyCancelled
        ? `“${name}” was not deleted: deleting needs an API key.`
        : err instanceof HttpError
          ? `“${name}” could not be deleted (${err.status}: ${err.message}).`
          : `“${name}” could not be deleted: the service is unreachable.`;
    }
    // the focus goes to the next article's Delete button (or the previous one, or Add)
    const item = trigger.closest("li");
    const next = item && (item.nextElementSibling || item.previousElementSibling);
    const nextId = next ? next.dataset.docId : null;
    setDocsStatus(message, kind);
    announce(message);
    if (kind === "error") {
      trigger.disabled = false;
      trigger.focus();
      return;
    }
    await refreshCorpus();
    const target = nextId && els.docsList.querySelector(`li[data-doc-id="${CSS.escape(nextId)}"] .doc-delete`);
    (target || els.addDocs).focus();
  }

  // ---------------------------------------------------------------- drag and drop

  function carriesFiles(event) {
    const types = event.dataTransfer && event.dataTransfer.types;
    return Boolean(types) && Array.from(types).includes("Files");
  }

  function showDropTarget(on) {
    els.dropOverlay.hidden = !on;
    document.body.classList.toggle("dragging", on);
    if (on) {
      els.docsDetails.open = true;
    }
  }

  function anyDialogOpen() {
    return els.keyDialog.open || els.confirmDialog.open;
  }

  document.addEventListener("dragenter", (event) => {
    if (!carriesFiles(event) || anyDialogOpen()) return;
    event.preventDefault();
    state.dragDepth += 1;
    showDropTarget(true);
  });
  document.addEventListener("dragover", (event) => {
    if (!carriesFiles(event) || anyDialogOpen()) return;
    event.preventDefault(); // allows the drop
    event.dataTransfer.dropEffect = "copy";
    if (els.dropOverlay.hidden) showDropTarget(true);
  });
  document.addEventListener("dragleave", (event) => {
    if (!carriesFiles(event)) return;
    state.dragDepth = Math.max(0, state.dragDepth - 1);
    if (!state.dragDepth || !event.relatedTarget) {
      state.dragDepth = 0;
      showDropTarget(false);
    }
  });
  document.addEventListener("drop", (event) => {
    if (!carriesFiles(event)) return;
    event.preventDefault(); // never let the browser open the file instead
    state.dragDepth = 0;
    showDropTarget(false);
    if (anyDialogOpen()) return;
    uploadFiles(event.dataTransfer.files);
  });
  window.addEventListener("blur", () => {
    state.dragDepth = 0;
    showDropTarget(false);
  });

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
    const problem = filtersProblem();
    if (problem) {
      setMessage(`Correct the search filters first: ${problem}`, "error");
      setFiltersOpen(true);
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
      filters: requestFilters(), // what it is searched in, as sent
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
      if (turn.waiting) return; // the busy countdown owns the line
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
      notes.push(el("p", { class: "abstain-note", lang: "en" }, turn.filters
        ? `The articles searched (${filtersText(turn.filters)}) do not answer this question. Try rephrasing it, or widen or clear the search filters.`
        : "The ingested articles do not answer this question. Try rephrasing it, or ask about one of the listed articles."));
    }
    const when = windowNote(body.window, turn.language);
    if (when) notes.push(when);
    if (turn.citations.length) notes.push(renderSources(turn));
    const meta = [];
    const total = body.timings && body.timings.total_ms;
    if (typeof total === "number") meta.push(`Answered in ${(total / 1000).toFixed(1)} s`);
    if (turn.searched && normalise(turn.searched) !== normalise(turn.question)) {
      meta.push(`searched for “${turn.searched}”`);
    }
    if (turn.filters) meta.push(`filters: ${filtersText(turn.filters)}`);
    if (meta.length) notes.push(el("p", { class: "answer-meta", lang: "en" }, meta.join(" · ")));
    turn.notesEl.replaceChildren(...notes);
    announce(turn.abstained
      ? "Answer complete: the sources do not say."
      : `Answer complete, with ${plural(turn.citations.length, "source")}.`);
  }

  /** The time the question asked about (`window` of the answer), in the answer's language:
   * `described` comes in the question's language already. */
  function windowText(w, language) {
    const fr = language === "fr";
    const described = String(w.described || "").trim();
    if (!w.applied) {
      if (fr) {
        return `${described ? `La question porte sur une période (${described})`
          : "La question demande les dernières nouvelles"}, mais les articles n’ont pas de date de publication\u00a0: toute la collection a été consultée.`;
      }
      return `${described ? `The question asks about a time (${described})`
        : "The question asks for the latest news"}, but the articles have no publication dates: the whole collection was searched.`;
    }
    if (!described) {
      return fr ? "Recherche dans les articles les plus récents d’abord."
        : "Searched the most recent articles first.";
    }
    if (fr) return `Recherche dans les articles publiés ${described}${w.recency ? ", les plus récents d’abord" : ""}.`;
    return `Searched articles published ${described}${w.recency ? ", most recent first" : ""}.`;
  }

  function windowNote(w, language) {
    if (!w || typeof w !== "object") return null;
    if (!w.applied && !w.described && !w.recency) return null;
    return el("p", {
      class: "window-note",
      lang: language === "fr" ? "fr" : "en",
      "data-applied": w.applied ? "true" : "false",
      title: w.expression ? `From the question’s words “${w.expression}”` : null,
    }, windowText(w, language));
  }

  /** "Also in: Ouest-France (6 Mar 2024), Le Monde (7 Mar 2024)": the other articles that
   * carry the same story, each linked to its original when it has a web address. */
  function alsoInNode(c) {
    const others = Array.isArray(c.also_in) ? c.also_in.filter((o) => o && typeof o === "object") : [];
    if (!others.length) return null;
    const parts = [];
    others.forEach((o, i) => {
      if (i) parts.push(", ");
      const name = o.outlet || o.title || o.doc_id;
      const url = originalUrl(o);
      const about = o.title && o.title !== name ? `“${o.title}”` : null;
      parts.push(url
        ? el("a", { href: url, target: "_blank", rel: "noopener noreferrer", title: about || url }, name)
        : el("span", { class: "outlet", title: about }, name));
      const date = formatDay(String(o.published || "").slice(0, 10));
      if (date) parts.push(" (", el("time", { datetime: o.published }, date), ")");
    });
    return el("p", { class: "also-in" }, el("span", { class: "also-in-label" }, "Also in: "), ...parts);
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
      ...(aboutNodes(c).length ? [el("span", { class: "source-meta" }, ...aboutNodes(c))] : []),
      el("span", { class: "source-excerpt" }, excerpt(c.text))),
      originalLink(c, "source-original"),
      alsoInNode(c),
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
    return apiFetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "text/event-stream, application/json" },
      body: JSON.stringify(body),
      signal,
    });
  }

  /** Seconds to wait before asking a busy service again (null: not a "busy, retry" answer). */
  function busyWait(err) {
    const header = Number.parseInt(err.retryAfter, 10);
    const fromBody = err.body && Number(err.body.retry_after);
    const seconds = Number.isFinite(header) ? header : fromBody;
    return Number.isFinite(seconds) && seconds >= 0 ? Math.max(1, Math.ceil(seconds)) : null;
  }

  function queueText(err) {
    const q = err.body && err.body.queue;
    if (!q || typeof q !== "object") return "";
    const parts = [];
    if (Number.isFinite(q.running)) parts.push(`${q.running} being answered`);
    if (Number.isFinite(q.waiting)) parts.push(`${q.waiting} waiting`);
    return parts.length ? ` (${parts.join(", ")})` : "";
  }

  class BusyTooLong extends Error {}

  /** The service said it is busy: show a countdown in the answer bubble, then return (or
   * reject with an AbortError when the user presses Stop). A little random jitter keeps
   * pages from all retrying in the same second. */
  async function waitWhileBusy(turn, err, seconds, signal) {
    const queue = queueText(err);
    const jitter = Math.random() * Math.min(1000, seconds * 250);
    const until = performance.now() + seconds * 1000 + jitter;
    let shown = -1;
    turn.waiting = true;
    turn.bubble.classList.add("waiting");
    turn.thinkingEl.classList.add("busy-note");
    const tick = () => {
      const left = Math.min(seconds, Math.max(1, Math.ceil((until - performance.now()) / 1000)));
      if (left === shown) return;
      shown = left;
      turn.thinkingEl.textContent =
        `The model is answering other questions${queue}; retrying in ${left} s. Press Stop to cancel.`;
    };
    tick();
    announce(`The model is answering other questions; your question will be retried in ${seconds} seconds.`);
    const timer = window.setInterval(tick, 250);
    try {
      await sleep(until - performance.now(), signal);
    } finally {
      window.clearInterval(timer);
      turn.waiting = false;
      turn.bubble.classList.remove("waiting");
      turn.thinkingEl.classList.remove("busy-note");
      turn.thinkingEl.textContent = "Reading the sources…";
      turn.started = performance.now();
    }
  }

  /** The answer's Response; a busy service (503 with Retry-After) is waited for and asked
   * again, for at most BUSY_GIVE_UP_MS. */
  async function chatResponse(turn, messages, question, signal) {
    const first = performance.now();
    const limits = turn.filters ? { filters: turn.filters } : {};
    for (;;) {
      let response = await post("/v1/chat", { messages, stream: true, ...limits }, signal);
      if (response.status === 404 || response.status === 405) {
        // A service without the chat endpoint: answer the question alone.
        response = await post("/v1/ask", { question, stream: true, ...limits }, signal);
      }
      if (response.ok) return response;
      const err = await httpError(response);
      const seconds = err.status === 503 ? busyWait(err) : null;
      if (seconds === null) throw err;
      if (performance.now() - first + seconds * 1000 > BUSY_GIVE_UP_MS) {
        const waited = Math.round((performance.now() - first) / 1000);
        throw new BusyTooLong(waited >= 60
          ? `The model stayed busy with other questions for ${Math.round(waited / 60)} min, so the page stopped retrying. Try again in a few minutes.`
          : `The model is busy with other questions for about ${Math.ceil(seconds / 60)} min. Try again later.`);
      }
      await waitWhileBusy(turn, err, seconds, signal);
    }
  }

  async function ask(question) {
    const messages = [...history(), { role: "user", content: question }];
    const turn = createTurn(question);
    const controller = new AbortController();
    state.controller = controller;
    setStreaming(true);
    try {
      const response = await chatResponse(turn, messages, question, controller.signal);
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
      if (controller.signal.aborted || isAbort(err)) {
        if (state.turns.includes(turn)) stopped(turn);
      } else if (err instanceof KeyCancelled) {
        fail(turn, "This service needs an API key to answer questions: enter one, then try again.", true);
      } else if (err instanceof BusyTooLong) {
        fail(turn, err.message, true);
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
      const promise = apiFetch(`/v1/documents/${encodeURIComponent(docId)}`)
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

  /** Nodes for the code points [a, b) of the cited passage, the supporting sentences
   * (`strong`: [start, end) ranges) marked strongly inside it. */
  function citedNodes(cps, a, b, strong) {
    const nodes = [];
    let at = a;
    for (const [s0, e0] of strong) {
      const s = Math.max(s0, at);
      const e = Math.min(e0, b);
      if (s >= e) continue;
      if (s > at) nodes.push(cps.slice(at, s).join(""));
      nodes.push(el("mark", { class: "support" }, cps.slice(s, e).join("")));
      at = e;
    }
    if (at < b) nodes.push(cps.slice(at, b).join(""));
    return nodes;
  }

  /** The article with the cited code-point range [start, end) wrapped in <mark> elements,
   * and inside it the sentences that support the answer marked strongly. */
  function renderArticle(doc, start, end, strong = []) {
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
        el("mark", { class: "cited" }, ...citedNodes(cps, s, e, strong)),
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
    setPanelMeta({ ...(known || {}), ...c });
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
      setPanelMeta(doc);
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
      // the supporting sentences move with the passage when it had to be found again
      const shift = start - c.start;
      const strong = (c.highlights || [])
        .map((h) => [h.start + shift, h.end + shift])
        .sort((x, y) => x[0] - y[0]);
      renderArticle(doc, start, end, strong);
    } else {
      els.panelStatus.textContent = "The full article could not be loaded; showing the cited passage only.";
      els.panelText.replaceChildren(el("p", {}, el("mark", { class: "cited" }, c.text)));
    }
    const mark = els.panelText.querySelector("mark.support") || els.panelText.querySelector("mark");
    if (mark) mark.scrollIntoView({ block: "center", behavior: "auto" });
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
    if (event.key === "Escape" && !event.defaultPrevented && !els.panel.hidden && !anyDialogOpen()) {
      event.preventDefault();
      // give the focus back to the marker, unless the user is typing elsewhere
      const active = document.activeElement;
      closePanel(!active || active === document.body || els.panel.contains(active));
    }
  });

  els.docsSort.addEventListener("change", changeDocsView);
  els.docsOutlet.addEventListener("change", changeDocsView);
  els.filtersToggle.addEventListener("click", () => setFiltersOpen(els.filtersPanel.hidden));
  els.filtersClear.addEventListener("click", clearFilters);
  els.filterFrom.addEventListener("change", readFilterDays);
  els.filterTo.addEventListener("change", readFilterDays);
  els.filterFrom.addEventListener("input", readFilterDays);
  els.filterTo.addEventListener("input", readFilterDays);
  els.filterOutlets.addEventListener("change", () => {
    state.filters.outlets = Array.from(els.filterOutlets.querySelectorAll("input:checked"), (box) => box.value);
    renderFilters();
  });
  els.filtersPanel.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && event.target instanceof HTMLInputElement) {
      event.preventDefault(); // Enter in a day box must not send the question
    } else if (event.key === "Escape") {
      event.preventDefault();
      setFiltersOpen(false);
      els.filtersToggle.focus();
    }
  });

  els.addDocs.addEventListener("click", () => els.fileInput.click());
  els.urlForm.addEventListener("submit", (event) => {
    event.preventDefault();
    submitUrl();
  });
  els.urlInput.addEventListener("input", () => {
    els.urlError.textContent = "";
    els.urlInput.removeAttribute("aria-invalid");
  });
  els.fileInput.addEventListener("change", () => {
    const files = Array.from(els.fileInput.files || []);
    els.fileInput.value = ""; // choosing the same files again fires `change` again
    uploadFiles(files);
  });
  els.keyForm.addEventListener("submit", (event) => {
    event.preventDefault();
    submitKey();
  });
  els.keyCancel.addEventListener("click", () => closeKeyDialog(null));
  els.keyDialog.addEventListener("cancel", (event) => { // Escape
    event.preventDefault();
    closeKeyDialog(null);
  });
  els.keyInput.addEventListener("input", () => {
    els.keyError.textContent = "";
    els.keyInput.removeAttribute("aria-invalid");
  });
  els.enterKey.addEventListener("click", () => {
    promptForKey(null).then(() => refreshCorpus(), () => {});
  });
  els.forgetKey.addEventListener("click", forgetKey);

  state.apiKey = readStoredKey();
  updateKeyButtons();
  els.docsDetails.open = WIDE.matches;
  WIDE.addEventListener("change", () => {
    if (WIDE.matches) els.docsDetails.open = true;
  });

  updateButtons();
  renderFilters();
  checkHealth();
})();
