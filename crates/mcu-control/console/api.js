// The control API from the browser: same origin, the HTTP-only session
// cookie goes along by itself. Failures become ApiError with the API's
// stable error code (the console translates by code).

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message || code);
    this.status = status;
    this.code = code;
    this.details = details || null;
  }
}

let onUnauthenticated = () => {};

/** Called when a call answers 401 (the session ended): the app shows the login. */
export function setUnauthenticatedHandler(f) {
  onUnauthenticated = f;
}

/** One call; resolves to the JSON body (null for 204), rejects with ApiError. */
export async function api(method, path, body) {
  const init = { method, credentials: "same-origin", headers: {} };
  if (body !== undefined) {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch("/api/v1" + path, init);
  } catch (e) {
    throw new ApiError(0, "network", String(e));
  }
  if (res.status === 204) return null;
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch (_) {
    data = null;
  }
  if (!res.ok) {
    const err = (data && data.error) || {};
    const e = new ApiError(res.status, err.code || "http_" + res.status, err.message || text, err.details);
    if (res.status === 401 && path !== "/auth/login") onUnauthenticated();
    throw e;
  }
  return data;
}

export const get = (path) => api("GET", path);
export const post = (path, body) => api("POST", path, body === undefined ? {} : body);
export const put = (path, body) => api("PUT", path, body);
export const patch = (path, body) => api("PATCH", path, body);
export const del = (path) => api("DELETE", path);

/** A path segment, escaped. */
export const seg = encodeURIComponent;
