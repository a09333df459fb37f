// Scenario 2: assemble parts A and B from grids (the panel agrees with the API), then the audit
// view: open it, click a finding, check the map moved to it.
import assert from 'node:assert/strict';
import { run, api } from './lib.js';
import { COMMUNITY, openCommunity, pixel, shownReport, apiReport, waitIdle } from './common-steps.js';

await run('grids-audit', async (page, { shot }) => {
  await openCommunity(page);
  await page.click('#proposal-toggle');
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
  await waitIdle(page);
  await page.locator('#validation').scrollIntoViewIfNeeded();
  await shot('grids');

  // Audit view.
  await page.click('#proposal .close');
  await page.click('#audit-toggle');
  await page.waitForSelector('#audit-list li[data-index]', { state: 'attached' });
  // The first finding (in list order) that has a place: its own geometry or its subject's.
  const features = (await api('/api/v1/audit.geojson')).body.features;
  const order = await page.$$eval('#audit-list li[data-index]', (lis) => lis.map((li) => Number(li.dataset.index)));
  let index = null;
  let geometry = null;
  for (const i of order) {
    geometry = features[i].geometry;
    if (!geometry) {
      const code = features[i].properties.codes[0];
      const level = code.length === 15 ? 'grids' : 'communities';
      geometry = (await api(`/api/v1/${level}/${code}`)).body.geometry;
    }
    if (geometry) { index = i; break; }
  }
  assert.ok(index != null, 'no finding with a place');
  const finding = features[index];
  const item = page.locator(`#audit-list li[data-index="${index}"]`);
  await item.locator('xpath=ancestor::details/summary').click();
  const before = await page.evaluate(() => window.shequMap.getCenter().toArray());
  await item.click();
  await page.waitForFunction(() => window.shequMap.isMoving(), null, { timeout: 10000 }).catch(() => {});
  await waitIdle(page);
  const after = await page.evaluate(() => window.shequMap.getCenter().toArray());
  const coords = JSON.stringify(geometry.coordinates).match(/-?\d+\.\d+/g).map(Number);
  const lons = coords.filter((_, i) => i % 2 === 0);
  const lats = coords.filter((_, i) => i % 2 === 1);
  console.log(`finding ${finding.properties.kind} ${finding.properties.codes[0]}: centre ${before} → ${after}`);
  assert.notDeepEqual(after, before);
  assert.ok(after[0] >= Math.min(...lons) && after[0] <= Math.max(...lons), `${after} in ${Math.min(...lons)}…${Math.max(...lons)}`);
  assert.ok(after[1] >= Math.min(...lats) && after[1] <= Math.max(...lats), `${after} in ${Math.min(...lats)}…${Math.max(...lats)}`);
  await shot('audit');
});
