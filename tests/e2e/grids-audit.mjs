// Scenario 2: assemble parts A and B from grids (the panel agrees with the API), then the audit
// view: open it, click a finding, check the map moved to it.
import assert from 'node:assert/strict';
import { run, api } from './lib.js';
import { openCommunity, assembleFromGrids, waitIdle } from './common-steps.js';

await run('grids-audit', async (page, { shot }) => {
  await openCommunity(page);
  await page.click('#proposal-toggle');
  await assembleFromGrids(page);
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
