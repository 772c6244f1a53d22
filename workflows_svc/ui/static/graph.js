// The action graph as inline SVG: nodes coloured by the last execution's state.

import {h, s} from "./dom.js";

const NODE_W = 184;
const NODE_H = 46;
const GAP_X = 28;
const GAP_Y = 34;
const PAD = 12;

export function actionName(action) {
  return action.name || `action-${action.action_id}`;
}

/** Each action's dependencies: `depends_on` when given (SPEC 9), else the action before it. */
export function dependencies(actions) {
  const deps = new Map();
  actions.forEach((action, i) => {
    const given = Array.isArray(action.depends_on) ? action.depends_on : null;
    deps.set(actionName(action), given ?? (i > 0 ? [actionName(actions[i - 1])] : []));
  });
  return deps;
}

/** Layer of each action: 0 for roots, else one below its deepest dependency. */
function layers(deps) {
  const layer = new Map();
  const visiting = new Set();
  const depth = (name) => {
    if (layer.has(name)) return layer.get(name);
    if (visiting.has(name) || !deps.has(name)) return -1; // a cycle or an unknown name
    visiting.add(name);
    const below = Math.max(-1, ...deps.get(name).map(depth)) + 1;
    visiting.delete(name);
    layer.set(name, below);
    return below;
  };
  for (const name of deps.keys()) depth(name);
  return layer;
}

/**
 * State per action name: its last recorded result in `execution`, else not run. While the
 * execution is pending, an action not run yet whose dependencies all succeeded is `running`
 * (or `waiting` when the execution waits: a delay, a signal, a backoff), the others `pending`.
 */
export function actionStates(actions, execution) {
  const states = new Map();
  const byId = new Map(actions.map((a) => [a.action_id, actionName(a)]));
  for (const name of byId.values()) {
    if (!execution) states.set(name, "never-run");
    else states.set(name, execution.status === "pending" ? "pending" : "not-run");
  }
  for (const entry of execution?.executed_actions || []) {
    const name = entry.name || byId.get(entry.action_id);
    if (name) states.set(name, entry.status);
  }
  if (execution?.status === "pending") {
    const ready = execution.waiting ? "waiting" : "running";
    for (const [name, needs] of dependencies(actions)) {
      if (states.get(name) === "pending" && needs.every((n) => states.get(n) === "ok")) {
        states.set(name, ready);
      }
    }
  }
  return states;
}

function positions(actions, deps) {
  const layer = layers(deps);
  const rows = [];
  for (const action of actions) {
    const name = actionName(action);
    const at = Math.max(0, layer.get(name) ?? 0);
    (rows[at] ||= []).push(name);
  }
  const widest = Math.max(1, ...rows.map((row) => row.length));
  const width = PAD * 2 + widest * NODE_W + (widest - 1) * GAP_X;
  const place = new Map();
  rows.forEach((row, y) => {
    const rowWidth = row.length * NODE_W + (row.length - 1) * GAP_X;
    const left = (width - rowWidth) / 2;
    row.forEach((name, x) => {
      place.set(name, {x: left + x * (NODE_W + GAP_X), y: PAD + y * (NODE_H + GAP_Y)});
    });
  });
  const height = PAD * 2 + rows.length * NODE_H + Math.max(0, rows.length - 1) * GAP_Y;
  return {place, width, height};
}

function short(text, max) {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function edge(from, to) {
  const x1 = from.x + NODE_W / 2;
  const y1 = from.y + NODE_H;
  const x2 = to.x + NODE_W / 2;
  const y2 = to.y - 4;
  const mid = (y1 + y2) / 2;
  return s("path", {class: "edge", d: `M${x1},${y1} C${x1},${mid} ${x2},${mid} ${x2},${y2}`,
    "marker-end": "url(#arrow)"});
}

function node(action, at, state) {
  const name = actionName(action);
  return s("g", {class: `node st-${state}`, "data-action": name, "data-state": state},
    s("title", {}, `${name} (${action.type}): ${state}`),
    s("rect", {x: at.x, y: at.y, width: NODE_W, height: NODE_H, rx: 7}),
    s("text", {x: at.x + 10, y: at.y + 19, class: "node-name"}, short(name, 24)),
    s("text", {x: at.x + 10, y: at.y + 36, class: "node-state"},
      short(`${action.type} · ${state}`, 28)));
}

/** The SVG (and its text summary) for `actions`, coloured by `execution` (or null). */
export function drawGraph(actions, execution) {
  const deps = dependencies(actions);
  const states = actionStates(actions, execution);
  const {place, width, height} = positions(actions, deps);
  const summary = actions.map((a) => `${actionName(a)}: ${states.get(actionName(a))}`);
  const svg = s("svg", {class: "graph", role: "img", width, height,
    viewBox: `0 0 ${width} ${height}`, "aria-label": `Action graph. ${summary.join("; ")}`},
  s("defs", {}, s("marker", {id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5,
    markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse"},
  s("path", {d: "M0,0 L10,5 L0,10 z", class: "arrow"}))));
  for (const [name, needs] of deps) {
    for (const need of needs) {
      if (place.has(need)) svg.append(edge(place.get(need), place.get(name)));
    }
  }
  for (const action of actions) {
    const name = actionName(action);
    svg.append(node(action, place.get(name), states.get(name)));
  }
  return h("figure", {class: "graph-box"}, svg,
    h("figcaption", {}, execution ? "Coloured by the newest execution." : "Not run yet."));
}
