// Page: every workflow, filtered by status and trigger kind, with its next run and last result.

import {get, seg} from "./api.js";
import {badge, countdown, fmtTime, h, put, route} from "./dom.js";

const PAGE_SIZE = 25;
const MAX_PAGES = 5; // of 200 workflows each: the list polls, so it stays bounded
const STATUSES = ["active", "scheduled", "locked", "paused", "archived"];
const TRIGGERS = ["manual", "periodic", "cron", "once"];

/** What the list shows as a workflow's status. */
export function displayStatus(workflow) {
  if (workflow.archived_at) return "archived";
  if (workflow.paused_at) return "paused";
  return workflow.status;
}

/** "periodic every 10s", "cron 0 9 * * 1-5 (Europe/Berlin)", "manual". */
export function triggerText(trigger) {
  const t = trigger || {};
  if (t.type === "periodic") return `periodic every ${t.interval}`;
  if (t.type === "cron") return `cron ${t.cron}${t.timezone ? ` (${t.timezone})` : ""}`;
  if (t.type === "once") return `once ${t.at ? `at ${fmtTime(t.at)}` : `after ${t.after}`}`;
  return t.type || "?";
}

export function nextRun(workflow) {
  const status = displayStatus(workflow);
  if (status === "archived" || status === "paused" || !workflow.trigger?.next_run) return "—";
  return countdown(workflow.seconds_to_next_run ?? 0);
}

async function allWorkflows() {
  const items = [];
  let cursor = null;
  for (let page = 0; page < MAX_PAGES; page++) {
    const query = cursor ? `&cursor=${seg(cursor)}` : "";
    const answer = await get(`/workflows?limit=200${query}`);
    items.push(...answer.items);
    cursor = answer.next_cursor;
    if (!cursor) return {items, more: false};
  }
  return {items, more: true};
}

async function lastResult(workflowId) {
  const page = await get(`/workflows/${seg(workflowId)}/executions?limit=1`);
  return page.items[0] || null;
}

function select(id, label, values) {
  const el = h("select", {id}, h("option", {value: ""}, "any"),
    values.map((v) => h("option", {value: v}, v)));
  return {el, field: h("div", {class: "field inline"}, h("label", {for: id}, label), el)};
}

function resultCell(execution) {
  if (!execution) return h("span", {class: "muted"}, "never run");
  return h("a", {href: route("executions", execution.id), class: "result"},
    badge(execution.status), " ", h("span", {class: "muted"},
      fmtTime(execution.finished_at || execution.created_at)));
}

function row(workflow, execution) {
  return h("tr", {"data-workflow": workflow.workflow_id},
    h("td", {"data-label": "Workflow"},
      h("a", {href: route("workflows", workflow.workflow_id), class: "wid"}, workflow.workflow_id)),
    h("td", {"data-label": "Status"}, badge(displayStatus(workflow))),
    h("td", {"data-label": "Trigger"}, triggerText(workflow.trigger)),
    h("td", {"data-label": "Next run"}, nextRun(workflow)),
    h("td", {"data-label": "Last result", class: "last-result"}, resultCell(execution)));
}

/** Mount the page into `main`; the returned refresh() is polled by main.js. */
export function mount(main, ctx) {
  document.title = "Workflows · dashboard";
  const status = select("filter-status", "Status", STATUSES);
  const trigger = select("filter-trigger", "Trigger", TRIGGERS);
  const count = h("p", {id: "count", class: "muted"});
  const body = h("tbody");
  const prev = h("button", {type: "button", id: "prev-page"}, "Previous page");
  const next = h("button", {type: "button", id: "next-page"}, "Next page");
  const pager = h("div", {class: "pager", hidden: true}, prev, next);
  const state = {items: [], more: false, results: new Map(), page: 0};

  const filtered = () => state.items.filter((w) =>
    (!status.el.value || displayStatus(w) === status.el.value) &&
    (!trigger.el.value || w.trigger?.type === trigger.el.value));

  const render = () => {
    const rows = filtered();
    const pages = Math.max(1, Math.ceil(rows.length / PAGE_SIZE));
    state.page = Math.min(state.page, pages - 1);
    const shown = rows.slice(state.page * PAGE_SIZE, (state.page + 1) * PAGE_SIZE);
    put(body, shown.length ? shown.map((w) => row(w, state.results.get(w.workflow_id)))
      : h("tr", {}, h("td", {colspan: 5, class: "muted"}, "No workflow matches.")));
    put(count, `${rows.length} of ${state.items.length}${state.more ? "+" : ""} workflows` +
      (pages > 1 ? ` · page ${state.page + 1} of ${pages}` : ""));
    prev.disabled = state.page === 0;
    next.disabled = state.page >= pages - 1;
    pager.hidden = pages <= 1;
    return shown;
  };

  const refresh = async () => {
    Object.assign(state, await allWorkflows());
    const shown = render();
    const results = await Promise.all(shown.map((w) => lastResult(w.workflow_id)));
    shown.forEach((w, i) => state.results.set(w.workflow_id, results[i]));
    render();
  };

  const again = () => { state.page = 0; render(); ctx.refresh(); };
  status.el.addEventListener("change", again);
  trigger.el.addEventListener("change", again);
  prev.addEventListener("click", () => { state.page -= 1; ctx.refresh(); });
  next.addEventListener("click", () => { state.page += 1; ctx.refresh(); });

  put(main,
    h("h1", {tabindex: -1}, "Workflows"),
    h("form", {class: "filters", role: "search", "aria-label": "Filter workflows",
      onsubmit: (e) => e.preventDefault()}, status.field, trigger.field),
    count,
    h("table", {id: "workflows", class: "rows"},
      h("caption", {class: "visually-hidden"}, "Workflows, their next run and last result"),
      h("thead", {}, h("tr", {}, ["Workflow", "Status", "Trigger", "Next run", "Last result"]
        .map((label) => h("th", {scope: "col"}, label)))),
      body),
    pager);
  return {refresh};
}
