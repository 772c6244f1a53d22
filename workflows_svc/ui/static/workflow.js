// Page: one workflow: its state, operator buttons, action graph, definition and executions.

import {del, get, post, seg} from "./api.js";
import {
  badge, facts, fmtDuration, fmtTime, h, pretty, put, putChanged, route, spanMs,
} from "./dom.js";
import {drawGraph} from "./graph.js";
import {displayStatus, nextRun, triggerText} from "./list.js";
import {jsonField, opButton, outcomeBox, readObject} from "./ops.js";

const LIVE_FIELDS = ["status", "created_at", "archived_at", "seconds_to_next_run", "paused",
  "version", "updated_at"];
const LIVE_TRIGGER_FIELDS = ["next_run", "status", "interval_ms"];

/** The definition as written (live state left out), in the API's field names. */
export function definition(workflow) {
  const copy = structuredClone(workflow);
  for (const key of LIVE_FIELDS) delete copy[key];
  for (const key of LIVE_TRIGGER_FIELDS) delete copy.trigger?.[key];
  return copy;
}

function executionRow(execution) {
  const actions = execution.executed_actions || [];
  const ok = actions.filter((a) => a.status === "ok").length;
  return h("tr", {"data-execution": execution.id, "data-status": execution.status},
    h("td", {"data-label": "Execution"},
      h("a", {href: route("executions", execution.id), class: "eid"}, execution.id)),
    h("td", {"data-label": "Status", class: "exec-status"}, badge(execution.status)),
    h("td", {"data-label": "Started"}, fmtTime(execution.created_at)),
    h("td", {"data-label": "Duration"},
      fmtDuration(spanMs(execution.created_at, execution.finished_at))),
    h("td", {"data-label": "Actions"}, `${ok} ok / ${execution.total_actions}`));
}

function buttons(ctx, id, box) {
  const input = jsonField({id: "trigger-input", label: "Input",
    hint: "Optional JSON object, sent as {\"input\": ...}; leave blank for none."});
  const trigger = opButton(ctx, {id: "trigger", label: "Trigger", box,
    done: "Triggered: the execution appears below.",
    call: () => {
      const value = readObject(input, "Input");
      return post(`/workflows/${seg(id)}/trigger`, value === undefined ? undefined : {input: value});
    }});
  const pause = opButton(ctx, {id: "pause", label: "Pause", box, done: "Paused.",
    call: () => post(`/workflows/${seg(id)}/pause`)});
  const resume = opButton(ctx, {id: "resume", label: "Resume", box, done: "Resumed.",
    call: () => post(`/workflows/${seg(id)}/resume`)});
  const archive = opButton(ctx, {id: "archive", label: "Archive", box, done: "Archived.",
    confirmText: `Archive ${id}? It will not run again; its history stays readable.`,
    call: () => del(`/workflows/${seg(id)}`)});
  return {input, trigger, pause, resume, archive};
}

/** Mount the page of workflow `id`; refresh() is polled by main.js. */
export function mount(main, ctx, id) {
  document.title = `${id} · workflows`;
  const box = outcomeBox("workflow-outcome");
  const ops = buttons(ctx, id, box);
  const summary = h("div", {id: "summary"});
  const graph = h("div", {id: "graph"});
  const defn = h("pre", {id: "definition", class: "code"});
  const execs = h("tbody");
  const title = h("h1", {tabindex: -1, class: "wid"}, id);

  const refresh = async () => {
    const [workflow, page] = await Promise.all([
      get(`/workflows/${seg(id)}`), get(`/workflows/${seg(id)}/executions?limit=20`)]);
    const newest = page.items[0] || null;
    const status = displayStatus(workflow);
    put(summary, facts([
      ["Status", badge(status)],
      ["Trigger", triggerText(workflow.trigger)],
      ["Next run", nextRun(workflow)],
      ["Version", workflow.version],
      ["Created", fmtTime(workflow.created_at)],
      ["Archived", workflow.archived_at ? fmtTime(workflow.archived_at) : null],
      ["Last result", newest ? badge(newest.status) : "never run"],
    ]));
    putChanged(graph, [workflow.actions, newest], () => drawGraph(workflow.actions || [], newest));
    putChanged(defn, definition(workflow), () => pretty(definition(workflow)));
    putChanged(execs, page.items, () => (page.items.length ? page.items.map(executionRow)
      : h("tr", {}, h("td", {colspan: 5, class: "muted"}, "No execution yet."))));
    const archived = status === "archived";
    for (const b of [ops.trigger, ops.pause, ops.resume, ops.archive]) {
      b.disabled = archived;
    }
  };

  put(main,
    h("p", {class: "crumbs"}, h("a", {href: "#/"}, "← Workflows")),
    title,
    summary,
    h("section", {"aria-labelledby": "ops-title", class: "card"},
      h("h2", {id: "ops-title"}, "Operate"),
      h("form", {id: "trigger-form", onsubmit: (e) => e.preventDefault()}, ops.input.field),
      h("div", {class: "buttons"}, ops.trigger, ops.pause, ops.resume, ops.archive),
      box),
    h("section", {"aria-labelledby": "graph-title"},
      h("h2", {id: "graph-title"}, "Action graph"), graph),
    h("section", {"aria-labelledby": "execs-title"},
      h("h2", {id: "execs-title"}, "Executions"),
      h("table", {id: "executions", class: "rows"},
        h("caption", {class: "visually-hidden"}, "Executions, newest first"),
        h("thead", {}, h("tr", {}, ["Execution", "Status", "Started", "Duration", "Actions"]
          .map((label) => h("th", {scope: "col"}, label)))),
        execs)),
    h("section", {"aria-labelledby": "defn-title"},
      h("h2", {id: "defn-title"}, "Definition"), defn));
  return {refresh};
}
