// The public REST API, called with fetch; the API key lives in sessionStorage.

const KEY_SLOT = "wfa.apiKey";
let unauthorized = () => {};

/** Where the API lives: the page's own origin and path prefix (the page is <prefix>/ui). */
export function apiBase() {
  return location.pathname.replace(/\/ui\/?$/, "");
}

export function storedKey() {
  return sessionStorage.getItem(KEY_SLOT);
}

export function storeKey(key) {
  if (key) sessionStorage.setItem(KEY_SLOT, key);
  else sessionStorage.removeItem(KEY_SLOT);
}

/** `handler(error)` runs on every 401: the page asks for the key again. */
export function onUnauthorized(handler) {
  unauthorized = handler;
}

export class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

/** The server's error body as one clear line; an unknown route is "not supported". */
export function describe(status, body) {
  const said = body && typeof body === "object" ? body.error || body.detail : null;
  const generic = !said || said === "Not Found" || said === "Method Not Allowed";
  if ((status === 404 || status === 405) && generic) {
    return `not supported by this server (${status})`;
  }
  if (typeof said === "string") return `${said} (${status})`;
  return `the server answered ${status}`;
}

/** One API call: the parsed JSON answer, or an ApiError with a readable message. */
export async function api(method, path, body) {
  const key = storedKey();
  const headers = {Accept: "application/json"};
  if (key) headers["X-API-Key"] = key;
  const init = {method, headers, cache: "no-store"};
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(apiBase() + path, init);
  } catch {
    throw new ApiError(0, "the server cannot be reached");
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = text;
  }
  if (response.status === 401) {
    storeKey(null);
    const error = new ApiError(401, key ? "wrong API key" : "an API key is needed", data);
    unauthorized(error, Boolean(key));
    throw error;
  }
  if (!response.ok) throw new ApiError(response.status, describe(response.status, data), data);
  return data;
}

export const get = (path) => api("GET", path);
export const post = (path, body) => api("POST", path, body);
export const del = (path) => api("DELETE", path);

/** Path segment for an id (workflow ids may hold spaces, '?', '#', ...). */
export const seg = encodeURIComponent;
