// Small helpers shared by the page's modules: DOM, formatting, geometry extents and HTTP with
// the server's problem+json errors (said in Chinese by web/messages.js).

export const $ = (id) => document.getElementById(id);
export const status = (text) => { $('status').textContent = text; };
export const fmt = (n, digits = 0) => (n == null ? '—' : Number(n).toLocaleString('zh-CN', { maximumFractionDigits: digits }));
export const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

import { problemText, RULE_NAMES } from '/web/messages.js';

export { problemText, RULE_NAMES };

/**
 * An error the server explained: `message` in Chinese (from the problem's `code` and `params`),
 * `code` and `detail` (the server's English, for the console only).
 */
async function failure(url, r) {
  let body = null;
  if ((r.headers.get('content-type') ?? '').includes('json')) body = await r.json().catch(() => null);
  const err = new Error(problemText(body, r.status));
  err.detail = body?.detail;
  err.code = body?.code;
  err.status = r.status;
  err.url = url;
  return err;
}

/**
 * What the page is looking at and who is signed in: `asOf` (`YYYY-MM-DD` or null for now) is
 * added to every read of the registry; `csrf` goes with every write of a signed-in user.
 */
export const session = { asOf: null, csrf: null };

// Reads that answer "as the city was on that day" when `as_of` is given.
const DATED = /^\/api\/v1\/(towns|communities|grids|lookup|address|audit)/;

/** `url` with the `as_of` of the history view, when it reads the registry. */
export function dated(url) {
  if (!session.asOf || !DATED.test(url)) return url;
  return `${url}${url.includes('?') ? '&' : '?'}as_of=${session.asOf}`;
}

export async function getJson(url) {
  const r = await fetch(dated(url));
  if (!r.ok) throw await failure(url, r);
  return r.json();
}

/** A write (`POST`, `PUT`, …) with a JSON body (or none); the answer's JSON, or null when empty. */
export async function sendJson(method, url, body, signal) {
  const headers = {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (session.csrf) headers['X-CSRF-Token'] = session.csrf;
  const r = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal });
  if (!r.ok) throw await failure(url, r);
  const text = await r.text();
  return text ? JSON.parse(text) : null;
}

export const postJson = (url, body, signal) => sendJson('POST', url, body, signal);

/** [west, south, east, north] of a GeoJSON geometry, or null when it has none. */
export function bbox(geometry) {
  if (!geometry) return null;
  const b = [Infinity, Infinity, -Infinity, -Infinity];
  const walk = (c) => {
    if (typeof c[0] === 'number') {
      b[0] = Math.min(b[0], c[0]); b[1] = Math.min(b[1], c[1]);
      b[2] = Math.max(b[2], c[0]); b[3] = Math.max(b[3], c[1]);
    } else c.forEach(walk);
  };
  if (geometry.type === 'GeometryCollection') geometry.geometries.forEach((g) => walk(g.coordinates));
  else walk(geometry.coordinates);
  return Number.isFinite(b[0]) ? b : null;
}
