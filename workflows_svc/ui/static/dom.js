// Small DOM helpers: element builders and the formatting every view shares.

const SVG_NS = "http://www.w3.org/2000/svg";

function fill(el, attrs, children) {
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "text") el.textContent = value;
    else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

/** An HTML element: h("a", {href: "#/"}, "text", child, ...). */
export function h(tag, attrs, ...children) {
  return fill(document.createElement(tag), attrs, children);
}

/** An SVG element, same signature as h. */
export function s(tag, attrs, ...children) {
  return fill(document.createElementNS(SVG_NS, tag), attrs, children);
}

/** Replace the children of `el`. */
export function put(el, ...children) {
  el.replaceChildren();
  return fill(el, {}, children);
}

export function badge(status) {
  const name = status || "none";
  return h("span", {class: `badge st-${name.replace(/[^a-z-]/g, "")}`}, name);
}

export function fmtTime(iso) {
  if (!iso) return "—";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

export function fmtDuration(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return "—";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const total = Math.round(ms / 1000);
  if (total < 60) return `${(ms / 1000).toFixed(ms < 10000 ? 1 : 0)} s`;
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = total % 60;
  return hours ? `${hours} h ${minutes} min` : `${minutes} min ${seconds} s`;
}

export function spanMs(startIso, endIso) {
  if (!startIso || !endIso) return null;
  return new Date(endIso).getTime() - new Date(startIso).getTime();
}

/** A span that counts down to `seconds` from now (main.js ticks every [data-due]). */
export function countdown(seconds) {
  const el = h("span", {class: "countdown", "data-due": Date.now() + seconds * 1000});
  el.textContent = countdownText(seconds * 1000);
  return el;
}

export function countdownText(leftMs) {
  if (leftMs <= 0) return "due now";
  const seconds = Math.ceil(leftMs / 1000);
  return seconds < 60 ? `in ${seconds} s` : `in ${fmtDuration(seconds * 1000)}`;
}

/** JSON for reading: nulls dropped, indented. */
export function pretty(value) {
  return JSON.stringify(value, (_, v) => (v === null ? undefined : v), 2);
}

export function route(...parts) {
  return "#/" + parts.map(encodeURIComponent).join("/");
}

/** A definition list from [label, value] pairs, skipping empty values. */
export function facts(pairs) {
  const dl = h("dl", {class: "facts"});
  for (const [label, value] of pairs) {
    if (value === null || value === undefined || value === "") continue;
    dl.append(h("dt", {}, label), h("dd", {}, value));
  }
  return dl;
}

const shown = new WeakMap();

/** put(el, build()) only when `data` differs from what `el` shows (keeps focus and scroll). */
export function putChanged(el, data, build) {
  const key = JSON.stringify(data);
  if (shown.get(el) === key) return;
  shown.set(el, key);
  put(el, build());
}
