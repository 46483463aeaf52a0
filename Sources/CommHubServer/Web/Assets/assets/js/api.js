// The JSON API as every client uses it, with the browser's session: the
// session cookie goes along by itself (same origin), the CSRF token from
// /auth/session goes in X-CSRF-Token on every change.

let csrf = null;
let clockOffsetMs = 0;

export class APIError extends Error {
  constructor(status, code, message) { super(message); this.status = status; this.code = code; }
}

export function setSession(session) {
  csrf = session?.csrf_token ?? null;
  if (session?.server_time) syncClock(session.server_time);
}

/** The server's clock (it may be simulated), as far as the last answer told. */
export function now() { return Date.now() + clockOffsetMs; }
export function syncClock(iso) {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return;
  const moved = Math.abs(t - Date.now() - clockOffsetMs) > 1000;
  clockOffsetMs = t - Date.now();
  // A clock that jumped (a simulated one advanced, or this device's drifted):
  // countdowns redraw now rather than at their next tick.
  if (moved) window.dispatchEvent(new CustomEvent('commhub:clock'));
}

export async function api(method, path, body, { raw = false, headers = {} } = {}) {
  const init = { method, headers: { Accept: 'application/json', ...headers }, credentials: 'same-origin' };
  if (method !== 'GET' && method !== 'HEAD' && csrf) init.headers['X-CSRF-Token'] = csrf;
  if (body instanceof Blob || body instanceof ArrayBuffer) {
    init.body = body;
  } else if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const r = await fetch(path, init);
  if (r.status === 204) return null;
  const text = await r.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { json = null; }
  if (!r.ok) {
    const e = json?.error;
    if (r.status === 401 && path.startsWith('/api/')) window.dispatchEvent(new CustomEvent('commhub:signed-out'));
    throw new APIError(r.status, e?.code ?? `http_${r.status}`, e?.message ?? r.statusText);
  }
  return raw ? text : json;
}

export const get = (p) => api('GET', p);
export const post = (p, b) => api('POST', p, b ?? {});
export const put = (p, b) => api('PUT', p, b);

/** Every page of a list (bounded: at most `maxPages`). */
export async function all(path, maxPages = 20) {
  const out = [];
  let cursor = null;
  for (let i = 0; i < maxPages; i++) {
    const sep = path.includes('?') ? '&' : '?';
    const page = await get(`${path}${sep}limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    out.push(...page.items);
    cursor = page.next_cursor;
    if (!cursor) break;
  }
  return out;
}

/** Uploads a file's bytes; the stored attachment (sha256, size, type). */
export async function upload(blob, fileName) {
  return api('POST', `/api/attachments?file_name=${encodeURIComponent(fileName)}`, blob,
    { headers: { 'Content-Type': blob.type || 'application/octet-stream' } });
}
