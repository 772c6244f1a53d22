// The operator's buttons: each one calls the API and says plainly what came of it.

import {h, put} from "./dom.js";

/** A message area under a group of buttons (role=alert for errors, status otherwise). */
export function outcomeBox(id) {
  return h("p", {id, class: "outcome", "aria-live": "polite"});
}

function show(box, text, kind) {
  box.className = `outcome ${kind}`;
  box.setAttribute("role", kind === "error" ? "alert" : "status");
  put(box, text);
}

/**
 * A `<button>` that runs `call()`; the result (or the server's error) goes to `box` and to
 * the page's live region, then the view refreshes.
 */
export function opButton(ctx, {id, label, done, box, call, confirmText}) {
  const button = h("button", {type: "button", id, class: "op"}, label);
  button.addEventListener("click", async () => {
    if (confirmText && !window.confirm(confirmText)) return;
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    try {
      await call();
      show(box, done, "ok");
      ctx.announce(done);
    } catch (error) {
      if (error.status === 401) return; // the key dialog tells about it
      const text = `${label} failed: ${error.message}`;
      show(box, text, "error");
      ctx.announce(text);
    } finally {
      button.disabled = false;
      button.removeAttribute("aria-busy");
    }
    ctx.refresh();
  });
  return button;
}

/** A labelled JSON textarea: `read()` is undefined when blank, else the parsed value. */
export function jsonField({id, label, hint, rows = 3}) {
  const area = h("textarea", {id, rows, spellcheck: "false", "aria-describedby": `${id}-hint`});
  const hintEl = h("span", {id: `${id}-hint`, class: "hint"}, hint);
  const field = h("div", {class: "field"}, h("label", {for: id}, label), area, hintEl);
  const read = () => {
    const text = area.value.trim();
    area.removeAttribute("aria-invalid");
    if (!text) return undefined;
    try {
      return JSON.parse(text);
    } catch (error) {
      area.setAttribute("aria-invalid", "true");
      area.focus();
      throw new Error(`${label} is not valid JSON: ${error.message}`);
    }
  };
  return {field, area, read};
}

/** Parse a JSON field that must hold an object (or be blank). */
export function readObject(json, label) {
  const value = json.read();
  if (value !== undefined && (value === null || typeof value !== "object" || Array.isArray(value))) {
    json.area.setAttribute("aria-invalid", "true");
    throw new Error(`${label} must be a JSON object, like {"customer": "acme"}`);
  }
  return value;
}
