// Scenario 1: click a community (panel shows its real household count), draw a split line across
// it, and check the validation panel against the API's verdict for the same proposal.
import assert from 'node:assert/strict';
import { run, api } from './lib.js';
import { openCommunity, pixel, shownReport, apiReport, waitIdle } from './common-steps.js';

await run('split-line', async (page, { shot }) => {
  const { community, households } = await openCommunity(page);
  console.log(`panel: ${community.properties.name} 户数 ${households}`);
  await shot('community');

  await page.click('#proposal-toggle');
  await page.click('[data-tool="line"]');
  await waitIdle(page);
  const ring = community.geometry.coordinates[0];
  const xs = ring.map((p) => p[0]);
  const ys = ring.map((p) => p[1]);
  const [w, e, s, n] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  // A bent north-south line across the middle, at whole pixels (any line across must split
  // into valid parts: tests/split_line.rs checks many on the server side).
  const x = w + (e - w) * 0.5;
  const points = [];
  for (const p of [[x, s - 0.002], [x + 0.001, (s + n) / 2], [x, n + 0.002]]) {
    const at = await pixel(page, p);
    points.push({ x: Math.round(at.x), y: Math.round(at.y) });
  }
  const line = await page.evaluate((px) => {
    const box = document.getElementById('map').getBoundingClientRect();
    // terra-draw keeps 9 decimals (its default coordinatePrecision).
    return px.map((q) => window.shequMap.unproject([q.x - box.left, q.y - box.top]).toArray()
      .map((c) => Number(c.toFixed(9))));
  }, points);
  const split = page.waitForRequest((r) => r.url().endsWith('/api/v1/proposals/split'));
  for (const at of points) {
    await page.mouse.move(at.x, at.y, { steps: 5 });
    await page.mouse.click(at.x, at.y);
  }
  const last = points[points.length - 1];
  await page.mouse.click(last.x, last.y); // a click on the last point finishes the line
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
