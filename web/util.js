// Small helpers shared by the page's modules: DOM, formatting, geometry extents and HTTP with
// the server's problem+json errors.

export const $ = (id) => document.getElementById(id);
export const status = (text) => { $('status').textContent = text; };
export const fmt = (n, digits = 0) => (n == null ? '—' : Number(n).toLocaleString('zh-CN', { maximumFractionDigits: digits }));
export const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** An error the server explained: `message` is its problem+json `detail` (or the HTTP status). */
async function failure(url, r) {
  let detail = `HTTP ${r.status}`;
  if ((r.headers.get('content-type') ?? '').includes('json')) {
    const body = await r.json().catch(() => null);
    if (body?.detail) detail = body.detail;
  }
  const err = new Error(detail);
  err.status = r.status;
  err.url = url;
  return err;
}

export async function getJson(url) {
  const r = await fetch(url);
  if (!r.ok) throw await failure(url, r);
  return r.json();
}

export async function postJson(url, body, signal) {
  const r = await fetch(url, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body), signal,
  });
  if (!r.ok) throw await failure(url, r);
  return r.json();
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
