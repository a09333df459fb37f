// Steps both scenarios take: open the page, find a community and click it on the map, and
// compare the validation panel with the server's own report of the same proposal.
import assert from 'node:assert/strict';
import { BASE, api, waitForRendered } from './lib.js';

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
  await waitForRendered(page, 'communities-fill');
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
