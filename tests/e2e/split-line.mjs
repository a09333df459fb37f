// Scenario 1: click a community (panel shows its real household count), draw a split line across
// it, and check the validation panel against the API's verdict for the same proposal.
import assert from 'node:assert/strict';
import { run } from './lib.js';
import { openCommunity, drawLine, shownReport, apiReport, waitIdle } from './common-steps.js';

await run('split-line', async (page, { shot }) => {
  const { community, households } = await openCommunity(page);
  console.log(`panel: ${community.properties.name} 户数 ${households}`);
  await shot('community');

  const ring = community.geometry.coordinates[0];
  const xs = ring.map((p) => p[0]);
  // A bent north-south line across the middle (its middle point 0.001° east), at whole pixels
  // (any line across must split into valid parts: tests/split_line.rs checks many on the server
  // side).
  const bend = 0.5 + 0.001 / (Math.max(...xs) - Math.min(...xs));
  const split = page.waitForRequest((r) => r.url().endsWith('/api/v1/proposals/split'));
  const { points } = await drawLine(page, community, [[0.5, -1], [bend, 0.5], [0.5, 2]]);
  const line = await page.evaluate((px) => {
    const box = document.getElementById('map').getBoundingClientRect();
    // terra-draw keeps 9 decimals (its default coordinatePrecision).
    return px.map((q) => window.shequMap.unproject([q.x - box.left, q.y - box.top]).toArray()
      .map((c) => Number(c.toFixed(9))));
  }, points);
  const request = (await split).postDataJSON();
  assert.deepEqual(request.line, line);
  assert.equal(request.community, community.properties.code);
  assert.equal(request.line.length, 3);

  const shown = await shownReport(page);
  const expected = await apiReport(request);
  console.log(`panel: ${shown.text}; API: ${expected.report.verdict}; ${shown.checks.length} rules`);
  assert.equal(shown.verdict, expected.report.verdict);
  assert.deepEqual(shown.checks, expected.checks);
  assert.equal(await page.locator('fieldset.part').count(), expected.report.parts.length);
  await waitIdle(page);
  await page.locator('#validation').scrollIntoViewIfNeeded();
  await shot('validated');
});
