// Calls to atalaia's HTTP API. The token travels in the HttpOnly session cookie, so nothing
// here ever holds it; a 401 anywhere means the session ended and the sign-in view comes back.

export class ApiError extends Error {
  constructor(status, message, detail) {
    super(message);
    this.status = status;
    this.detail = detail;
  }
}

let unauthorized = () => {};

/** What to do when a call answers 401 (show the sign-in view). */
export function onUnauthorized(handler) {
  unauthorized = handler;
}

/** A readable message from FastAPI's `detail` (a string, or a list of located errors). */
export function describeDetail(detail, fallback) {
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) {
    return detail
      .map((item) => {
        if (typeof item === "string") return item;
        const loc = (item.loc || []).filter((part) => part !== "body").join(".");
        return loc ? `${loc}: ${item.msg}` : item.msg;
      })
      .join("; ");
  }
  return fallback;
}

export async function api(path, { method = "GET", body, signal, quiet401 = false } = {}) {
  const init = { method, credentials: "same-origin", cache: "no-store", signal, headers: {} };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, "The service cannot be reached. Is atalaia running?");
  }
  if (response.status === 401 && !quiet401) {
    unauthorized();
    throw new ApiError(401, "Your session has ended. Sign in again.");
  }
  const type = response.headers.get("content-type") || "";
  const data = response.status === 204 ? null : type.includes("json") ? await response.json() : await response.text();
  if (!response.ok) {
    const fallback = `${method} ${path} failed (HTTP ${response.status})`;
    const detail = data && typeof data === "object" ? data.detail : undefined;
    throw new ApiError(response.status, describeDetail(detail, fallback), detail);
  }
  return data;
}

export const session = {
  async check() {
    const state = await api("/api/session", { quiet401: true });
    return Boolean(state && state.signed_in);
  },
  signIn(token, remember) {
    return api("/api/session", { method: "POST", body: { token, remember }, quiet401: true });
  },
  signOut() {
    return api("/api/session", { method: "DELETE", quiet401: true });
  },
};

/** URL-encode a path segment (camera and alert ids). */
export const seg = (value) => encodeURIComponent(value);

/**
 * The site's nodes (`/api/nodes*`). `self()` says whether this node is part of a cluster
 * (`cluster`, `node_id`); the lists only mean something when it is.
 */
export const nodes = {
  self: () => api("/api/nodes/self"),
  list: () => api("/api/nodes"),
  cameras: () => api("/api/nodes/cameras"),
};

/**
 * Whether this node is part of a cluster, asked once per page: a node joins or leaves a
 * cluster only through its configuration, which takes a restart. Returns this node's own view
 * (`cluster`, `node_id`).
 */
export function clusterMembership() {
  let known = null;
  return async () => {
    known ??= await nodes.self();
    return known;
  };
}
