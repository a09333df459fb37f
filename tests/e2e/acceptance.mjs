// Acceptance scenario of issue 15: a split of 城南社区 into eight parts from grids (the split
// assistant's 建议方案, adopted as an editable grid proposal) that passes the household band;
// saved to the server, reopened read-only with every part drawn and the same verdict; carried
// through consultation and vote, submitted, and approved by a reviewer from the 变更前/变更后
// view; the approval view printed (print media: map picture, legend, before/after table, event
// history) and the grid assignment exported as CSV; no horizontal overflow at 1,400×900,
// 1,024×700 and 390×844 (where 登录 stays on screen at 1,024 px).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { run, BASE } from './lib.js';
import { openCommunity, shownReport, waitIdle } from './common-steps.js';

const USERS = JSON.parse(process.env.SHEQU_USERS ?? '{}');
assert.ok(USERS.street && USERS.reviewer, 'SHEQU_USERS must name a street and a reviewer account');

async function signIn(page, { user, password }, role) {
  await page.fill('#login-user', user);
  await page.fill('#login-password', password);
  await page.click('#login button[type="submit"]');
  await page.waitForSelector(`#who[data-role="${role}"]`);
}

const waitStatus = (page, s) => page.waitForSelector(`#wf-status[data-status="${s}"]`, { timeout: 30000 });
const drawnParts = (page) => page.evaluate(() => new Set(window.shequMap
  .queryRenderedFeatures({ layers: ['proposal-fill'] }).map((f) => f.properties.part)).size);

/** No horizontal overflow at `width`×`height`; `visible` must lie inside the viewport. */
async function fits(page, width, height, visible = []) {
  await page.setViewportSize({ width, height });
  await page.waitForFunction(([w]) => window.innerWidth === w, [width]);
  const m = await page.evaluate((ids) => ({
    scroll: document.documentElement.scrollWidth,
    inner: window.innerWidth,
    outside: ids.filter((sel) => {
      const r = document.querySelector(sel)?.getBoundingClientRect();
      return !r || r.width === 0 || r.right > window.innerWidth || r.bottom > window.innerHeight;
    }),
  }), visible);
  console.log(`${width}×${height}: scrollWidth ${m.scroll}, innerWidth ${m.inner}`);
  assert.ok(m.scroll <= m.inner, `horizontal overflow at ${width}×${height}: ${m.scroll} > ${m.inner}`);
  assert.deepEqual(m.outside, [], `off-screen at ${width}×${height}`);
}

await run('acceptance', async (page, { shot }) => {
  await openCommunity(page);
  await fits(page, 1024, 700, ['#login button[type="submit"]', '#q']);
  await fits(page, 1400, 900, ['#login button[type="submit"]']);
  await signIn(page, USERS.street, 'street');
  await page.click('#proposal-toggle');

  // 建议方案 with eight parts; candidates side by side; the first shown on the map, then adopted.
  await page.click('#suggest-open');
  await page.selectOption('#suggest-parts', '8');
  const suggested = page.waitForResponse((r) => r.url().endsWith('/api/v1/proposals/suggest'));
  await page.click('#suggest-run');
  assert.equal((await suggested).status(), 200);
  await page.waitForSelector('#suggestions .candidate');
  const rows = await page.locator('#suggestions .candidate').first().locator('tr').count();
  assert.equal(rows, 9, 'a header and eight parts');
  await page.click('#suggestions [data-show="0"]');
  await page.click('#suggestions [data-adopt="0"]');
  await page.waitForFunction(() => window.shequProposal.state().tool === 'grids');
  const report = await shownReport(page);
  const parts = await page.locator('fieldset.part').count();
  console.log(`adopted: ${parts} parts, ${report.text}`);
  assert.equal(parts, 8);
  for (let i = 0; i < 8; i += 1) assert.ok(report.checks.includes(`${i}/households=pass`), `part ${i} households in band: ${report.checks}`);
  assert.notEqual(report.verdict, 'fail');

  // Saved to the server, then reopened from the list: read-only, every part drawn, same verdict.
  const created = page.waitForResponse((r) => r.url().endsWith('/api/v1/proposals') && r.request().method() === 'POST');
  await page.click('#server-save');
  const id = (await (await created).json()).id;
  await waitStatus(page, 'draft');
  await page.click('#server-open');
  await page.click(`#stored-list li[data-id="${id}"]`);
  await page.waitForSelector('#stored[hidden]', { state: 'attached' });
  await page.waitForFunction(() => window.shequProposal.state().tool === 'view');
  const reopened = await shownReport(page);
  assert.equal(reopened.verdict, report.verdict);
  assert.deepEqual(reopened.checks, report.checks);
  await waitIdle(page);
  assert.equal(await drawnParts(page), 8, 'every part drawn');
  await shot('reopened');

  // The procedure: consultation (a comment), vote (a tally), submission.
  await page.click('#workflow button[data-to="consultation"]');
  await waitStatus(page, 'consultation');
  await page.fill('#wf-comment', '居民代表同意按八个社区拆分');
  await page.click('#workflow button[data-act="comment"]');
  await page.waitForSelector('#workflow li[data-kind="comment"]');
  await page.click('#workflow button[data-to="vote"]');
  await waitStatus(page, 'vote');
  await page.fill('#wf-for', '41');
  await page.fill('#wf-against', '3');
  await page.fill('#wf-abstain', '1');
  await page.click('#workflow button[data-act="vote"]');
  await page.waitForSelector('#workflow [data-passes="true"]');
  await page.click('#workflow button[data-to="submitted"]');
  await waitStatus(page, 'submitted');
  await page.click('#logout');
  await page.waitForSelector('#login:not([hidden])');

  // The reviewer opens it, looks at 变更前 and 变更后, and approves.
  await signIn(page, USERS.reviewer, 'reviewer');
  await page.click('#server-open');
  await page.selectOption('#stored-status', 'submitted');
  await page.click(`#stored-list li[data-id="${id}"]`);
  // The list closes once the proposal is open (the street's copy was on show until then).
  await page.waitForSelector('#stored[hidden]', { state: 'attached' });
  await waitStatus(page, 'submitted');
  await page.waitForFunction(() => window.shequProposal.state().tool === 'view');
  await page.click('#compare [data-show="before"]');
  await waitIdle(page);
  assert.ok(await page.evaluate(() => window.shequMap.queryRenderedFeatures({ layers: ['before-line'] }).length > 0));
  assert.equal(await page.evaluate(() => window.shequMap.getLayoutProperty('proposal-fill', 'visibility')), 'none');
  await shot('before');
  await page.click('#compare [data-show="after"]');
  await waitIdle(page);
  assert.equal(await drawnParts(page), 8);
  await page.click('#compare [data-show="both"]');
  // The CSV of the grid assignment for the approval file (the city as before the approval): 64
  // grids, each in one of the eight parts.
  const download = page.waitForEvent('download');
  await page.click('#csv');
  const csv = readFileSync(await (await download).path(), 'utf8').replace(/^\ufeff/, '').trim().split(/\r\n/);
  assert.match(csv[0], /^网格编码,网格名称,原社区编码/);
  assert.equal(csv.length, 65);
  assert.ok(csv.slice(1).every((l) => /,[A-H],/.test(l)), 'every grid in a part');

  await page.click('#workflow button[data-to="approved"]');
  await waitStatus(page, 'approved');

  // The approval view printed: print media shows only the print view, with its four parts.
  await page.evaluate(() => { window.print = () => { window.shequPrinted = true; }; });
  await page.click('#print');
  await page.waitForFunction(() => window.shequPrinted === true);
  await page.emulateMedia({ media: 'print' });
  const printed = await page.evaluate(() => {
    const v = document.getElementById('print-view');
    const img = v.querySelector('img.print-map');
    return {
      shown: getComputedStyle(v).display !== 'none',
      map: getComputedStyle(document.querySelector('main')).display,
      picture: img?.src.startsWith('data:image/png') && img.naturalWidth > 0,
      legend: v.querySelectorAll('ul.legend li').length,
      table: !!v.querySelector('table.before-after'),
      events: v.querySelectorAll('ol.events li').length,
    };
  });
  console.log(`print view: ${JSON.stringify(printed)}`);
  assert.ok(printed.shown && printed.map === 'none' && printed.picture && printed.table, JSON.stringify(printed));
  assert.equal(printed.legend, 9, 'eight parts and the boundary before');
  assert.ok(printed.events >= 6, 'created, 3 moves, comment, vote, approval');
  await page.pdf?.({ path: `${process.env.SHEQU_SCREENSHOTS ?? 'target/e2e'}/acceptance-print.pdf` }).catch(() => {});
  await page.emulateMedia({ media: 'screen' });

  // The phone layout: read-only, no horizontal overflow, search usable.
  await fits(page, 390, 844, ['#q']);
  await shot('phone');
  const versions = (await (await fetch(`${BASE}/api/v1/versions`)).json()).versions.length;
  assert.ok(versions >= 2, 'the approval made a version');
});
