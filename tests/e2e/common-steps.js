// Steps both scenarios take: open the page, find a community and click it on the map, and
// compare the validation panel with the server's own report of the same proposal.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { BASE, SHOTS, api, waitForApp } from './lib.js';

export const COMMUNITY = '442000005003'; // 城南社区 (南区街道)

export async function waitIdle(page) {
  await page.waitForFunction(() => {
    const m = window.shequMap;
    return m && !m.isMoving() && m.loaded() && m.areTilesLoaded();
  }, null, { timeout: 60000 });
}

/** Pixel position of [lon, lat] on the page. */
export async function pixel(page, lngLat) {
  const box = await page.locator('#map').boundingBox();
  const p = await page.evaluate((c) => window.shequMap.project(c), lngLat);
  return { x: box.x + p.x, y: box.y + p.y };
}

/** Opens `/`, searches the community by code, clicks it on the map; checks the panel's household count. */
export async function openCommunity(page) {
  await page.goto(`${BASE}/`);
  await waitForApp(page);
  // The first view holds the whole city (a fixed zoom used to cut off its south), and the labels
  // layer, which /style.json keeps in its metadata without a glyph source, is on the map.
  const city = (await api('/style.json')).body.sources.shequ.bounds;
  const start = await page.evaluate(() => {
    const b = window.shequMap.getBounds();
    return { view: [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()], labels: !!window.shequMap.getLayer('labels') };
  });
  await page.screenshot({ path: join(SHOTS, 'start-view.png') });
  assert.ok(start.view[0] <= city[0] && start.view[1] <= city[1] && start.view[2] >= city[2] && start.view[3] >= city[3],
    `start view ${start.view} holds the city ${city}`);
  assert.ok(start.labels, 'the labels layer is on the map');
  const community = (await api(`/api/v1/communities/${COMMUNITY}`)).body;
  await page.fill('#q', COMMUNITY);
  await page.press('#q', 'Enter');
  await page.locator('#results li', { hasText: `社区 ${COMMUNITY}` }).click();
  await waitIdle(page);
  // Its office lies inside it (checked with the lookup API); click there.
  const office = community.properties.office;
  const lookup = (await api(`/api/v1/lookup?lon=${office[0]}&lat=${office[1]}`)).body;
  assert.equal(lookup.community.code, COMMUNITY);
  await page.locator('#panel .close').click();
  const at = await pixel(page, office);
  await page.mouse.click(at.x, at.y);
  await page.waitForSelector('#panel:not([hidden]) td[data-field="户数"]');
  const shown = await page.textContent('#panel td[data-field="户数"]');
  assert.equal(shown, community.properties.households.toLocaleString('zh-CN'));
  assert.equal(await page.textContent('#panel h2'), community.properties.name);
  return { community, households: shown };
}

/** The report the panel shows: overall verdict and every (part, rule, verdict). */
export async function shownReport(page) {
  await page.waitForSelector('#validation[data-state="done"], #validation[data-state="error"]', { timeout: 60000 });
  return page.evaluate(() => ({
    verdict: document.querySelector('#verdict')?.dataset.verdict,
    text: document.querySelector('#verdict')?.textContent,
    checks: [...document.querySelectorAll('#validation ul.checks li')]
      .map((li) => `${li.closest('ul').dataset.part}/${li.dataset.rule}=${li.dataset.verdict}`),
  }));
}

/** The server's report of the split `request` (as the page sent it), in the same form. */
export async function apiReport(request) {
  const split = await api('/api/v1/proposals/split', request);
  assert.equal(split.status, 200, JSON.stringify(split.body));
  const v = await api('/api/v1/proposals/validate', split.body);
  assert.equal(v.status, 200, JSON.stringify(v.body));
  return {
    report: v.body,
    checks: [...v.body.checks.map((c) => `proposal/${c.rule}=${c.verdict}`),
      ...v.body.parts.flatMap((p, i) => p.checks.map((c) => `${i}/${c.rule}=${c.verdict}`))],
  };
}

/**
 * With the editor open on the selected community: the eastern third of its grids go to part B
 * (the current part after starting); checks the panel against the API. Returns the /split
 * request the page sent and the report the panel shows.
 */
export async function assembleFromGrids(page) {
  await page.click('[data-tool="grids"]');
  await page.waitForFunction(() => window.shequMap.queryRenderedFeatures({ layers: ['paint-grids-fill'] }).length > 0);
  await waitIdle(page);

  // The eastern third of the grids go to part B (the current part after starting).
  const grids = (await api(`/api/v1/grids?community=${COMMUNITY}`)).body.features;
  const centre = (g) => {
    const r = g.geometry.coordinates[0];
    return [r.reduce((a, p) => a + p[0], 0) / r.length, r.reduce((a, p) => a + p[1], 0) / r.length];
  };
  grids.sort((a, b) => centre(b)[0] - centre(a)[0]);
  let clicked = 0;
  let split = null;
  for (const g of grids.slice(0, Math.floor(grids.length / 3))) {
    const at = await pixel(page, centre(g));
    const box = await page.locator('#map').boundingBox();
    const hit = await page.evaluate(([x, y]) => window.shequMap
      .queryRenderedFeatures([x, y], { layers: ['paint-grids-fill'] })[0]?.properties.code, [at.x - box.x, at.y - box.y]);
    if (hit !== g.properties.code) continue; // the centre of a concave grid may lie outside it
    split = page.waitForRequest((r) => r.url().endsWith('/api/v1/proposals/split'));
    await page.mouse.click(at.x, at.y);
    clicked += 1;
  }
  assert.ok(clicked >= 5, `only ${clicked} grids clickable`);
  const request = (await split).postDataJSON();
  assert.equal(request.groups.length, 2);
  assert.equal(request.groups[1].length, clicked);
  assert.equal(request.groups[0].length + clicked, grids.length);
  assert.match(await page.textContent('#part-picker'), new RegExp(`B（${clicked}）`));

  const shown = await shownReport(page);
  const expected = await apiReport(request);
  console.log(`${clicked} grids into B; panel: ${shown.text}; API: ${expected.report.verdict}`);
  assert.equal(shown.verdict, expected.report.verdict);
  assert.deepEqual(shown.checks, expected.checks);
  return { request, shown };
}

/**
 * Opens the editor (when closed) with the line tool and draws a line through `fractions` of the
 * community's extent ([fx, fy]: 0 west/south, 1 east/north; a margin of 0.002° is added below
 * 0 and above 1 so that ends outside lie outside), finishing it with a second click on the last
 * point. Returns the page pixels clicked (`points`, whole pixels) and `finishedAt`, the time
 * (Date.now()) just before the finishing click.
 */
export async function drawLine(page, community, fractions) {
  if (await page.isHidden('#proposal')) await page.click('#proposal-toggle');
  await page.click('[data-tool="line"]');
  await waitIdle(page);
  const ring = community.geometry.coordinates[0];
  const xs = ring.map((p) => p[0]);
  const ys = ring.map((p) => p[1]);
  const [w, e, s, n] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const along = (lo, hi, f) => (f < 0 ? lo - 0.002 : f > 1 ? hi + 0.002 : lo + (hi - lo) * f);
  const pts = [];
  for (const [fx, fy] of fractions) pts.push(await pixel(page, [along(w, e, fx), along(s, n, fy)]));
  const points = pts.map((at) => ({ x: Math.round(at.x), y: Math.round(at.y) }));
  for (const at of points) await page.mouse.click(at.x, at.y);
  const last = points[points.length - 1];
  const finishedAt = Date.now();
  await page.mouse.click(last.x, last.y);
  return { points, finishedAt };
}
