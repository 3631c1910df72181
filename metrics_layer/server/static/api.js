/*
 * The service's API, asked with the caller's credential: an API key (sent as X-API-Key) or a
 * bearer token (Authorization), kept in this tab's session storage; none on an anonymous
 * service. Requests go to this service only (relative paths, no cookies).
 */

const CREDENTIAL = "metrics_layer.credential";

export function credential() {
  try {
    const kept = JSON.parse(sessionStorage.getItem(CREDENTIAL) || "null");
    return kept && typeof kept.value === "string" && kept.value ? kept : null;
  } catch (error) {
    return null;
  }
}

function headers(json) {
  const out = { Accept: "application/json" };
  if (json) out["Content-Type"] = "application/json";
  const kept = credential();
  if (kept && kept.kind === "token") out.Authorization = "Bearer " + kept.value;
  else if (kept) out["X-API-Key"] = kept.value;
  return out;
}

export class ApiError extends Error {
  constructor(status, body) {
    const detail = body && body.error ? body.error : null;
    super(detail && detail.message ? detail.message : "the service answered HTTP " + status);
    this.status = status;
    this.type = detail ? detail.type : null;
  }
}

export async function api(path, body) {
  const init = { headers: headers(body !== undefined), credentials: "omit", cache: "no-store" };
  if (body !== undefined) {
    init.method = "POST";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  let data = null;
  try {
    data = await response.json();
  } catch (error) {
    data = null;
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

/** Keeps ``value`` for this tab, sent as an API key (``kind`` "key") or a bearer token. */
export function keepCredential(kind, value) {
  sessionStorage.setItem(CREDENTIAL, JSON.stringify({ kind: kind, value: value }));
}

export function forgetCredential() {
  sessionStorage.removeItem(CREDENTIAL);
}
