// Scenario (issue 15): several split lines, 按网格取整 into a grid grouping of eight parts, part
// forms that keep their values through adding parts and undo/redo (which never crash: the page's
// console must stay clean), save to a file and reopen it read-only with every part drawn exactly
// and the same verdict, 编辑 back into the same grid grouping, and a reload in the middle of the
// drawing that restores the work.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, api } from './lib.js';
import { COMMUNITY, openCommunity, pixel, waitIdle, shownReport } from './common-steps.js';

/** Draws a line through `lngLats` with the line tool (a click on the last point finishes it). */
async function drawLine(page, lngLats) {
  const points = [];
  for (const p of lngLats) {
    const at = await pixel(page, p);
    points.push({ x: Math.round(at.x), y: Math.round(at.y) });
  }
  for (const at of points) {
    await page.mouse.move(at.x, at.y, { steps: 3 });
    await page.mouse.click(at.x, at.y);
  }
  const last = points[points.length - 1];
  await page.mouse.click(last.x, last.y);
}

const picker = (page) => page.$$eval('#part-picker button[data-part]', (bs) => bs.map((b) => b.textContent));
const groupsOf = (page) => page.evaluate(() => {
  const s = window.shequProposal.state();
  return { partCount: s.partCount, groups: s.groups };
});

await run('parts-reopen', async (page, { shot }) => {
  const { community } = await openCommunity(page);
  const ring = community.geometry.coordinates[0];
  const xs = ring.map((p) => p[0]);
  const ys = ring.map((p) => p[1]);
  const [w, e, s, n] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  await page.click('#proposal-toggle');
  await page.click('[data-tool="line"]');
  await waitIdle(page);

  // Three north-south lines and one east-west line: whole grids grouped by the pieces.
  const ns = (f) => [[w + f * (e - w), s - 0.002], [w + f * (e - w), n + 0.002]];
  const ew = (f) => [[w - 0.002, s + f * (n - s)], [e + 0.002, s + f * (n - s)]];
  const first = page.waitForRequest((r) => r.url().endsWith('/api/v1/proposals/split'));
  await drawLine(page, ns(0.5));
  assert.ok((await first).postDataJSON().line, 'one line: split by the line');
  await shownReport(page);
  for (const line of [ns(0.25), ns(0.75), ew(0.5)]) {
    const grouped = page.waitForResponse((r) => r.url().endsWith('/api/v1/proposals/grid-groups'));
    await drawLine(page, line);
    assert.equal((await grouped).status(), 200);
  }
  await page.waitForFunction(() => window.shequProposal.state().lines.length === 4);
  const report = await shownReport(page);
  const parts = await page.locator('fieldset.part').count();
  console.log(`4 lines: ${parts} parts, ${report.text}`);
  assert.ok(parts >= 6, `${parts} parts from 4 lines`);
  assert.equal((await page.evaluate(() => window.shequProposal.drawn())).linestring, 4);

  // A name typed into part A stays through 按网格取整, adding a part and undo/redo.
  await page.locator('#parts fieldset[data-part="0"] [data-field="name"]').fill('城南一社区');
  await page.locator('#parts fieldset[data-part="0"] [data-field="name"]').press('Tab');
  await page.locator('#parts fieldset[data-part="1"] [data-field="workers"]').fill('17');
  await page.locator('#parts fieldset[data-part="1"] [data-field="workers"]').press('Tab');
  const snapped = page.waitForResponse((r) => r.url().endsWith('/api/v1/proposals/grid-groups'));
  await page.click('#snap-grids');
  assert.equal((await snapped).status(), 200);
  await page.waitForSelector('#part-picker:not([hidden])');
  await shownReport(page);
  const before = await groupsOf(page);
  console.log(`按网格取整: ${before.partCount} parts; picker ${(await picker(page)).join(' ')}`);
  assert.equal(before.partCount, parts);
  assert.equal(await page.inputValue('#parts fieldset[data-part="0"] [data-field="name"]'), '城南一社区');
  assert.equal(await page.inputValue('#parts fieldset[data-part="1"] [data-field="workers"]'), '17');

  // Parts up to twelve; each added part keeps the forms; undo/redo over all of it never crashes.
  while ((await groupsOf(page)).partCount < 12) await page.click('#part-picker [data-add]');
  assert.equal(await page.locator('#part-picker [data-add]').count(), 0, 'no more than 12 parts');
  assert.equal(await page.inputValue('#parts fieldset[data-part="0"] [data-field="name"]'), '城南一社区');
  const grids = (await api(`/api/v1/grids?community=${COMMUNITY}`)).body.features;
  for (let i = 0; i < 12 - before.partCount; i += 1) await page.click('#undo');
  assert.deepEqual(await groupsOf(page), before);
  // A grid clicked into the current part after the undos (the old crash: groups[current].push),
  // then undo and redo over it.
  const box = await page.locator('#map').boundingBox();
  const code = await page.evaluate(([x, y]) => window.shequMap
    .queryRenderedFeatures([x, y], { layers: ['paint-grids-fill'] })[0]?.properties.code, [box.width / 2, box.height / 2]);
  assert.ok(code, 'a grid in the middle of the map');
  await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
  await page.waitForFunction(() => !document.getElementById('undo').disabled);
  assert.ok(await page.isDisabled('#redo'), 'a new edit drops the redo branch');
  const labels = await picker(page);
  assert.ok(labels.every((l) => /^[A-L]（\d+）$/.test(l)), `picker ${labels}`);
  await page.click('#undo');
  assert.deepEqual(await groupsOf(page), before);
  await page.click('#redo');
  await page.click('#undo');
  assert.deepEqual(await groupsOf(page), before);
  assert.equal(await page.inputValue('#parts fieldset[data-part="0"] [data-field="name"]'), '城南一社区');
  const verdict = await shownReport(page);
  await shot('grids');

  // A reload in the middle of the drawing warns (beforeunload) and restores the work (autosaved
  // in the browser).
  const warned = new Promise((resolve) => {
    page.once('dialog', (d) => { resolve(d.type()); d.accept(); });
  });
  await page.reload();
  assert.equal(await warned, 'beforeunload');
  await page.waitForSelector('#part-picker:not([hidden])');
  await page.waitForFunction(() => window.shequProposal?.state().tool === 'grids');
  assert.deepEqual(await groupsOf(page), before);
  assert.equal(await page.inputValue('#parts fieldset[data-part="0"] [data-field="name"]'), '城南一社区');
  const again = await shownReport(page);
  assert.equal(again.verdict, verdict.verdict);

  // Save to a file, then open it: read-only, every part drawn, same verdict.
  const download = page.waitForEvent('download');
  await page.click('#save');
  const file = await (await download).path();
  const dir = mkdtempSync(join(tmpdir(), 'shequ-file-'));
  try {
    const copy = join(dir, '方案.geojson');
    writeFileSync(copy, readFileSync(file));
    await page.setInputFiles('#load', copy);
    // The page reads the file after the input's change event: the copy stays until it has.
    await page.waitForFunction(() => window.shequProposal.state().tool === 'view').catch(async (e) => {
      // Say what the page showed instead (a refused file names why in the status line).
      const shown = await page.evaluate(() => ({
        tool: window.shequProposal.state().tool,
        status: document.getElementById('status')?.textContent,
      }));
      throw new Error(`the opened file did not switch to the read-only view: ${JSON.stringify(shown)}; ${e.message}`);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const reopened = await shownReport(page);
  assert.equal(reopened.verdict, verdict.verdict);
  assert.deepEqual(reopened.checks, again.checks);
  assert.ok(await page.isVisible('#edit'));
  assert.ok(await page.isVisible('#compare'));
  assert.equal(await page.getAttribute('#parts fieldset[data-part="0"] [data-field="name"]', 'readonly'), '');
  await waitIdle(page);
  const drawnParts = await page.evaluate(() => new Set(window.shequMap.queryRenderedFeatures({ layers: ['proposal-fill'] })
    .map((f) => f.properties.part)).size);
  assert.equal(drawnParts, before.partCount, 'every part drawn');
  const beforeLines = await page.evaluate(() => window.shequMap.queryRenderedFeatures({ layers: ['before-line'] }).length);
  assert.ok(beforeLines > 0, 'the community before the change is outlined');
  // Clicks on the map do not redraw a read-only proposal.
  await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
  assert.equal(await page.evaluate(() => window.shequProposal.state().tool), 'view');
  await shot('reopened');

  // 编辑: back to the same grid grouping, the forms as saved.
  await page.click('#edit');
  await page.waitForFunction(() => window.shequProposal.state().tool === 'grids');
  assert.deepEqual(await groupsOf(page), before);
  assert.equal(await page.inputValue('#parts fieldset[data-part="0"] [data-field="name"]'), '城南一社区');
  assert.equal(grids.length, Object.keys(before.groups).length);
});
