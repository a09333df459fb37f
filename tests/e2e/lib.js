// Shared by the browser scenarios: a headless Debian Chromium on a fresh profile, a page that
// records console errors and any request to a host other than the server, and the server's API.
import { chromium } from 'playwright-core';
import { mkdtempSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';

export const BASE = process.env.SHEQU_URL;
export const SHOTS = process.env.SHEQU_SCREENSHOTS ?? 'target/e2e';
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
assert.ok(BASE, 'SHEQU_URL (the server under test) is not set');

/** Runs `scenario(page, ctx)` in a fresh browser and fails on console errors or foreign requests. */
export async function run(name, scenario) {
  mkdirSync(SHOTS, { recursive: true });
  const profile = mkdtempSync(join(tmpdir(), 'shequ-e2e-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1400, height: 900 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--use-angle=swiftshader', '--enable-unsafe-swiftshader'],
  });
  const origin = new URL(BASE).origin;
  const errors = [];
  const foreign = [];
  context.on('request', (r) => {
    const url = r.url();
    if (!url.startsWith(origin) && !url.startsWith('data:') && !url.startsWith('blob:')) foreign.push(url);
  });
  // Development: SHEQU_WEB_DIR serves the page's own files from that directory instead of the
  // copies compiled into the server, so a change to web/ is tried without a rebuild.
  if (process.env.SHEQU_WEB_DIR) {
    const types = { js: 'text/javascript', css: 'text/css', html: 'text/html' };
    await context.route((url) => url.origin === origin && (url.pathname === '/' || /^\/web\/[a-z]+\.(js|css|html)$/.test(url.pathname)),
      (route) => {
        const path = new URL(route.request().url()).pathname;
        const file = path === '/' ? 'index.html' : path.slice('/web/'.length);
        route.fulfill({ body: readFileSync(join(process.env.SHEQU_WEB_DIR, file)), contentType: `${types[file.split('.').pop()]}; charset=utf-8` });
      });
  }
  const page = context.pages()[0] ?? await context.newPage();
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(String(e)));
  try {
    // `allowConsole(re)`: console errors the scenario provokes on purpose (a refused request).
    const allowed = [];
    await scenario(page, {
      shot: (file) => page.screenshot({ path: join(SHOTS, `${name}-${file}.png`) }),
      allowConsole: (re) => allowed.push(re),
    });
    assert.deepEqual(errors.filter((e) => !allowed.some((re) => re.test(e))), [], 'console errors');
    assert.deepEqual(foreign, [], 'requests to other hosts');
  } catch (err) {
    await page.screenshot({ path: join(SHOTS, `${name}-failure.png`) }).catch(() => {});
    console.error(`console errors: ${JSON.stringify(errors)}`);
    throw err;
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
  console.log(`${name}: ok`);
}

export async function api(path, body) {
  const r = await fetch(BASE + path, body === undefined ? {} : {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
  });
  return { status: r.status, body: await r.json() };
}

/**
 * Waits until the page is ready to use: communities drawn and the editor, session and basemap
 * switch started (the page starts them once the first view is drawn).
 */
export async function waitForApp(page, timeout = 60000) {
  await waitForRendered(page, 'communities-fill', timeout);
  await page.waitForFunction(() => window.shequProposal, null, { timeout });
}

/** Waits until MapLibre has rendered features of `layer` (a style layer id) in the view. */
export async function waitForRendered(page, layer, timeout = 60000) {
  await page.waitForFunction((l) => {
    const m = window.shequMap;
    return m && m.loaded() && m.getLayer(l) && m.queryRenderedFeatures({ layers: [l] }).length > 0;
  }, layer, { timeout });
}
