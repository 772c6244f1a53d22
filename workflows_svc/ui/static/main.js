// The dashboard's shell: routes by URL fragment, polls the current view, asks for the API key.

import {onUnauthorized, storedKey, storeKey} from "./api.js";
import {countdownText, h, put} from "./dom.js";
import * as executionPage from "./execution.js";
import * as listPage from "./list.js";
import * as workflowPage from "./workflow.js";

const POLL_MS = 2000;
const main = document.getElementById("main");
const live = document.getElementById("live");
const dialog = document.getElementById("key-dialog");
const keyInput = document.getElementById("api-key");
const keyMessage = document.getElementById("key-message");
const forget = document.getElementById("forget-key");
const pollState = document.getElementById("poll-state");

let view = null; // {refresh} of the page shown
let token = 0;
let timer = null;
let error = null;

function announce(text) {
  live.textContent = "";
  // A fresh text node after clearing makes screen readers read a repeated message again.
  requestAnimationFrame(() => { live.textContent = text; });
}

function showError(text) {
  if (!error || !main.contains(error)) {
    error = h("p", {id: "page-error", class: "outcome error", role: "alert"});
    main.prepend(error);
  }
  put(error, text);
}

function clearError() {
  error?.remove();
  error = null;
}

let running = false;
let again = false;

/** Refresh the current view now, then every POLL_MS (one refresh at a time). */
async function refresh() {
  if (running) {
    again = true;
    return;
  }
  clearTimeout(timer);
  if (!view || dialog.open) return;
  running = true;
  const mine = token;
  try {
    await view.refresh();
    if (mine === token) {
      clearError();
      pollState.textContent = `updated ${new Date().toLocaleTimeString()}`;
    }
  } catch (e) {
    if (mine === token && e.status !== 401) showError(`Could not load this page: ${e.message}`);
  } finally {
    running = false;
  }
  if (again || mine !== token) {
    again = false;
    refresh();
  } else {
    timer = setTimeout(refresh, POLL_MS);
  }
}

function parse(hash) {
  const parts = hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  if (parts[0] === "workflows" && parts.length === 2) return [workflowPage, parts[1]];
  if (parts[0] === "executions" && parts.length === 2) return [executionPage, parts[1]];
  return [listPage, null];
}

function show() {
  if (location.hash && !location.hash.startsWith("#/")) return; // an in-page anchor
  token += 1;
  clearTimeout(timer);
  error = null;
  const [page, id] = parse(location.hash);
  const ctx = {announce, refresh};
  view = page.mount(main, ctx, id);
  main.querySelector("h1")?.focus();
  refresh();
}

function askForKey(text) {
  keyMessage.textContent = text;
  keyInput.value = "";
  forget.hidden = true;
  if (!dialog.open) dialog.showModal();
  keyInput.focus();
}

onUnauthorized((_, hadKey) => {
  askForKey(hadKey
    ? "Wrong API key: the server refused it (401). Enter the key again."
    : "This server needs an API key (401). Enter it to continue.");
  announce("An API key is needed.");
});

document.getElementById("key-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const key = keyInput.value.trim();
  if (!key) return;
  storeKey(key);
  forget.hidden = false;
  dialog.close();
  refresh();
});
dialog.addEventListener("cancel", (event) => event.preventDefault()); // nothing works without it
forget.addEventListener("click", () => { storeKey(null); location.reload(); });
forget.hidden = !storedKey();

setInterval(() => {
  for (const el of document.querySelectorAll("[data-due]")) {
    el.textContent = countdownText(Number(el.dataset.due) - Date.now());
  }
}, 1000);
window.addEventListener("hashchange", show);
show();
