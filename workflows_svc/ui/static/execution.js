// Page: one execution: its state, a per-action timeline with logs and responses, and buttons.

import {get, post, seg} from "./api.js";
import {
  badge, countdown, facts, fmtDuration, fmtTime, h, pretty, put, putChanged, route, s, spanMs,
} from "./dom.js";
import {actionName} from "./graph.js";
import {jsonField, opButton, outcomeBox, readObject} from "./ops.js";

const EXCERPT_CHARS = 4000;

function waitingText(waiting) {
  if (!waiting) return null;
  const parts = [waiting.reason];
  if (waiting.signal) parts.push(`for signal "${waiting.signal}"`);
  const until = waiting.until ? (new Date(waiting.until).getTime() - Date.now()) / 1000 : null;
  return h("span", {id: "waiting"}, parts.join(" "),
    until === null ? null : [" until ", fmtTime(waiting.until), " (", countdown(until), ")"]);
}

function excerpt(body) {
  const text = typeof body === "string" ? body : pretty(body);
  return text.length > EXCERPT_CHARS ? `${text.slice(0, EXCERPT_CHARS)}\n… (cut here)` : text;
}

function response(entry) {
  const r = entry.response;
  if (!r) return null;
  const head = `Response ${r.status ?? ""} ${r.content_type || ""}${r.truncated ? " (truncated)" : ""}`;
  return h("details", {class: "response"}, h("summary", {}, head),
    h("pre", {class: "code"}, excerpt(r.body ?? "")));
}

/** Where the action ran within the execution, as a bar (when the API gives timings). */
function bar(entry, startMs, totalMs) {
  if (!entry.started_at || !totalMs) return null;
  const from = new Date(entry.started_at).getTime() - startMs;
  const took = entry.duration_ms ?? spanMs(entry.started_at, entry.finished_at) ?? 0;
  const x = Math.max(0, (from / totalMs) * 1000);
  const width = Math.max(4, Math.min(1000 - x, (took / totalMs) * 1000));
  return s("svg", {class: "bar", viewBox: "0 0 1000 10", preserveAspectRatio: "none",
    "aria-hidden": "true"}, s("rect", {x, y: 0, width, height: 10, class: `st-${entry.status}`}));
}

/** The per-action timeline: one entry per action run, with its bar, logs and response. */
export function timeline(execution, names) {
  const entries = execution.executed_actions || [];
  if (!entries.length) return h("p", {class: "muted"}, "No action has run yet.");
  const startMs = new Date(execution.created_at).getTime();
  const endMs = execution.finished_at ? new Date(execution.finished_at).getTime()
    : Math.max(startMs, ...entries.map((e) => new Date(e.finished_at || 0).getTime()));
  const totalMs = endMs - startMs;
  return h("ol", {class: "timeline"}, entries.map((entry) => {
    const name = entry.name || names.get(entry.action_id) || `action-${entry.action_id}`;
    const took = entry.duration_ms ?? spanMs(entry.started_at, entry.finished_at);
    return h("li", {class: "entry", "data-action": name, "data-status": entry.status},
      h("div", {class: "entry-head"}, h("strong", {}, name), " ", badge(entry.status),
        entry.attempt ? h("span", {class: "muted"}, ` attempt ${entry.attempt}`) : null,
        took !== null && took !== undefined ? h("span", {class: "muted"}, ` · ${fmtDuration(took)}`)
          : null),
      bar(entry, startMs, totalMs),
      h("pre", {class: "logs"}, entry.logs || "(no log)"),
      response(entry));
  }));
}

function buttons(ctx, id, box, fromSelect) {
  const payload = jsonField({id: "signal-payload", label: "Signal payload",
    hint: "Optional JSON object delivered with the signal."});
  const signalName = h("input", {id: "signal-name", type: "text", autocomplete: "off"});
  const retry = opButton(ctx, {id: "retry", label: "Retry", box, done: "Retry requested.",
    call: () => post(`/executions/${seg(id)}/retry`,
      fromSelect.value ? {from: fromSelect.value} : undefined)});
  const cancel = opButton(ctx, {id: "cancel", label: "Cancel", box, done: "Cancel requested.",
    confirmText: "Cancel this execution?", call: () => post(`/executions/${seg(id)}/cancel`)});
  const signal = opButton(ctx, {id: "send-signal", label: "Send signal", box, done: "Signal sent.",
    call: () => {
      const name = signalName.value.trim();
      if (!name) throw new Error("give the signal's name");
      const value = readObject(payload, "Signal payload");
      return post(`/executions/${seg(id)}/signals/${seg(name)}`, value ?? {});
    }});
  return {retry, cancel, signal, signalName, payload};
}

/** Mount the page of execution `id`; refresh() is polled by main.js. */
export function mount(main, ctx, id) {
  document.title = `Execution ${id.slice(0, 8)} · workflows`;
  const box = outcomeBox("execution-outcome");
  const fromSelect = h("select", {id: "retry-from"},
    h("option", {value: ""}, "the actions that did not succeed"));
  const ops = buttons(ctx, id, box, fromSelect);
  const summary = h("div", {id: "summary"});
  const steps = h("div", {id: "timeline"});
  const crumbs = h("p", {class: "crumbs"}, h("a", {href: "#/"}, "← Workflows"));
  let names = null;

  const loadNames = async (workflowId) => {
    const workflow = await get(`/workflows/${seg(workflowId)}`);
    names = new Map((workflow.actions || []).map((a) => [a.action_id, actionName(a)]));
    fromSelect.append(...[...names.values()].map((n) => h("option", {value: n}, `from ${n}`)));
    put(crumbs, h("a", {href: "#/"}, "← Workflows"), " / ",
      h("a", {href: route("workflows", workflowId), class: "wid"}, workflowId));
  };

  const refresh = async () => {
    const execution = await get(`/executions/${seg(id)}`);
    if (!names) await loadNames(execution.workflow_id);
    if (execution.waiting?.signal && !ops.signalName.value) {
      ops.signalName.value = execution.waiting.signal;
    }
    put(summary, facts([
      ["Status", badge(execution.status)],
      ["Workflow", h("a", {href: route("workflows", execution.workflow_id)},
        execution.workflow_id)],
      ["Waiting", waitingText(execution.waiting)],
      ["Reason", execution.reason],
      ["Cancel", execution.cancel_requested && execution.status === "pending"
        ? "requested: it ends when the actions in flight end" : null],
      ["Started", fmtTime(execution.created_at)],
      ["Finished", execution.finished_at ? fmtTime(execution.finished_at) : "not yet"],
      ["Duration", fmtDuration(spanMs(execution.created_at, execution.finished_at))],
      ["Attempt", execution.attempt],
      ["Retries left", execution.retries],
      ["Workflow version", execution.workflow_version],
      ["Input", execution.input ? h("pre", {class: "code"}, pretty(execution.input)) : null],
    ]));
    putChanged(steps, [execution.executed_actions, execution.finished_at], () => timeline(execution, names));
    // Only what the server would accept now (SPEC 12: retry a failed or cancelled one,
    // cancel or signal a pending one); a 409 still shows its reason if the state moved on.
    const pending = execution.status === "pending";
    ops.retry.disabled = !["failed", "cancelled"].includes(execution.status);
    ops.cancel.disabled = !pending || execution.cancel_requested;
    ops.signal.disabled = !pending;
  };

  put(main, crumbs,
    h("h1", {tabindex: -1}, "Execution ", h("span", {class: "eid"}, id)),
    summary,
    h("section", {"aria-labelledby": "ops-title", class: "card"},
      h("h2", {id: "ops-title"}, "Operate"),
      h("div", {class: "field"}, h("label", {for: "retry-from"}, "Retry from"), fromSelect),
      h("div", {class: "field"}, h("label", {for: "signal-name"}, "Signal name"),
        ops.signalName),
      ops.payload.field,
      h("div", {class: "buttons"}, ops.retry, ops.cancel, ops.signal),
      box),
    h("section", {"aria-labelledby": "timeline-title"},
      h("h2", {id: "timeline-title"}, "Actions"), steps));
  return {refresh};
}
