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
  return problemError(url, r.status, body);
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

// The request worker (web/fetcher.js), started by `startFetcher` or on first use.
let fetcher = null;
let fetches = 0;
const waiting = new Map();

/** An error from a problem+json `body` with HTTP `status` of `url` (as `failure` makes them). */
function problemError(url, status, body) {
  const err = new Error(problemText(body, status));
  err.detail = body?.detail;
  err.code = body?.code;
  err.status = status;
  err.url = url;
  return err;
}

/** Starts the request worker ahead of its first use (loading it takes a moment). */
export function startFetcher() {
  if (!fetcher) {
    fetcher = new Worker('/web/fetcher.js', { type: 'module' });
    fetcher.onmessage = ({ data }) => waiting.get(data.id)?.(data);
  }
  return fetcher;
}

/** Sends `message` to the request worker; resolves with its answer, rejects as `postJson` does. */
function offMain(message, signal) {
  startFetcher();
  const id = ++fetches;
  const headers = { 'Content-Type': 'application/json' };
  if (session.csrf) headers['X-CSRF-Token'] = session.csrf;
  return new Promise((resolve, reject) => {
    const done = () => { waiting.delete(id); signal?.removeEventListener('abort', abort); };
    function abort() {
      fetcher.postMessage({ abort: id });
      done();
      reject(new DOMException('aborted', 'AbortError'));
    }
    if (signal?.aborted) { abort(); return; }
    signal?.addEventListener('abort', abort);
    waiting.set(id, (answer) => {
      done();
      if (answer.aborted) reject(new DOMException('aborted', 'AbortError'));
      else if (answer.error) reject(new Error(answer.error));
      else if (!answer.ok) reject(Object.assign(problemError(answer.url, answer.status, answer.json), { answer }));
      else resolve(answer);
    });
    fetcher.postMessage({ ...message, id, headers });
  });
}

const absolute = (url) => new URL(url, location.href).href;

/**
 * `postJson` made by the request worker: the request, its answer and the JSON parsing never wait
 * for the main thread (busy drawing the map), and the page gets the answer in one step.
 */
export async function postJsonOffMain(url, body, signal) {
  return (await offMain({ url: absolute(url), body }, signal)).json;
}

/**
 * POST /api/v1/proposals/split with `body`, then POST /proposals/validate with the proposal the
 * editor makes of the answer and `state` (its kind, title, parents and forms: parts.js), both in
 * the worker: resolves with `{split, report}`; a refusal's error has the `url` refused (and,
 * when the validation was refused, the split in `answer.split`).
 */
export async function splitAndValidate(body, state, signal) {
  const answer = await offMain({
    split: { url: absolute('/api/v1/proposals/split'), body },
    validate: absolute('/api/v1/proposals/validate'), state,
  }, signal);
  return { split: answer.split, report: answer.report };
}

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
