// Page: one workflow: its state, operator buttons, action graph, definition and executions.

import {del, get, post, seg} from "./api.js";
import {
  badge, facts, fmtDuration, fmtTime, h, pretty, put, putChanged, route, spanMs,
} from "./dom.js";
import {drawGraph} from "./graph.js";
import {displayStatus, nextRun, triggerText} from "./list.js";
import {jsonField, opButton, outcomeBox, readObject} from "./ops.js";

const LIVE_FIELDS = ["status", "created_at", "archived_at", "seconds_to_next_run", "paused",
  "paused_at", "version", "updated_at"];
const OLD_VERSIONS_SHOWN = 10; // the newest ones; each is fetched once (a version never changes)
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

/** The kept versions, newest first: the current one, then older ones (fetched once each). */
function versionsList(workflow, old) {
  const current = h("li", {"data-version": workflow.version},
    h("strong", {}, `Version ${workflow.version}`), " (current) · defined ",
    fmtTime(workflow.updated_at || workflow.created_at));
  const older = [...old.values()].sort((a, b) => b.version - a.version).map((v) =>
    h("li", {"data-version": v.version}, h("details", {},
      h("summary", {}, `Version ${v.version} · defined ${fmtTime(v.defined_at)}`),
      h("pre", {class: "code"}, pretty({trigger: v.trigger, actions: v.actions})))));
  return h("ol", {class: "versions"}, current, older);
}

async function fetchVersions(id, version, old) {
  const wanted = [];
  for (let n = version - 1; n >= Math.max(1, version - OLD_VERSIONS_SHOWN); n--) {
    if (!old.has(n)) wanted.push(n);
  }
  const found = await Promise.all(wanted.map((n) => get(`/workflows/${seg(id)}/versions/${n}`)));
  for (const v of found) old.set(v.version, v);
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
  const versions = h("div", {id: "versions"});
  const oldVersions = new Map();
  const title = h("h1", {tabindex: -1, class: "wid"}, id);

  const refresh = async () => {
    const [workflow, page] = await Promise.all([
      get(`/workflows/${seg(id)}`), get(`/workflows/${seg(id)}/executions?limit=20`)]);
    const newest = page.items[0] || null;
    const status = displayStatus(workflow);
    await fetchVersions(id, workflow.version || 1, oldVersions);
    put(summary, facts([
      ["Status", badge(status)],
      ["Trigger", triggerText(workflow.trigger)],
      ["Next run", nextRun(workflow)],
      ["Version", workflow.version],
      ["Paused", workflow.paused_at ? fmtTime(workflow.paused_at) : null],
      ["Created", fmtTime(workflow.created_at)],
      ["Archived", workflow.archived_at ? fmtTime(workflow.archived_at) : null],
      ["Last result", newest ? badge(newest.status) : "never run"],
    ]));
    putChanged(graph, [workflow.actions, newest], () => drawGraph(workflow.actions || [], newest));
    putChanged(defn, definition(workflow), () => pretty(definition(workflow)));
    putChanged(versions, [workflow.version, workflow.updated_at, [...oldVersions.keys()]],
      () => versionsList(workflow, oldVersions));
    putChanged(execs, page.items, () => (page.items.length ? page.items.map(executionRow)
      : h("tr", {}, h("td", {colspan: 5, class: "muted"}, "No execution yet."))));
    const archived = status === "archived";
    for (const b of [ops.trigger, ops.pause, ops.resume, ops.archive]) {
      b.disabled = archived;
    }
    // One of pause/resume at a time; the keyboard focus moves to the one now shown.
    const hadFocus = document.activeElement;
    ops.pause.hidden = Boolean(workflow.paused_at);
    ops.resume.hidden = !workflow.paused_at;
    if (hadFocus === ops.pause && ops.pause.hidden) ops.resume.focus();
    if (hadFocus === ops.resume && ops.resume.hidden) ops.pause.focus();
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
      h("h2", {id: "defn-title"}, "Definition"), defn),
    h("section", {"aria-labelledby": "versions-title"},
      h("h2", {id: "versions-title"}, "Versions"), versions));
  return {refresh};
}
