// Issue 15's speed goals in headless Chromium, with budgets:
// - JSON received before the communities are first drawn: at most 150 KB in every run (a hard
//   limit: bytes do not depend on the machine's load);
// - communities drawn after navigation: median of RUNS fresh page loads at most 1.5 s;
// - verdict shown after the split line is finished (the finishing click): median of RUNS lines
//   at most 600 ms.
// The times are medians because the machine is shared: one run can stall behind another build;
// the median of five does not move for one or two stalls. SPEED_FACTOR (default 1) multiplies
// the two time budgets; the budgets without it are the goals. tests/browser.rs runs this at ×3
// (a regression guard: the goals are not yet met with Chromium's software renderer on the
// 2-core test machine, see BENCHMARKS.md); run it alone to judge the goals themselves.
// Figures are printed and recorded in BENCHMARKS.md ("Issue 15 — web map speed").
import assert from 'node:assert/strict';
import { run, BASE, waitForRendered } from './lib.js';
import { COMMUNITY, drawLine, openCommunity } from './common-steps.js';

const RUNS = Number(process.env.RUNS ?? 5);
const FACTOR = Number(process.env.SPEED_FACTOR ?? 1);
const JSON_BUDGET = 150 * 1024;
const DRAWN_BUDGET_MS = 1500 * FACTOR;
const VERDICT_BUDGET_MS = 600 * FACTOR;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

await run('speed', async (page) => {
  const load = [];
  const json = [];
  const biggest = [];
  for (let i = 0; i < RUNS; i += 1) {
    // Every JSON answer that arrives before the communities are drawn counts with its decoded
    // body (what the page parses), whenever that body finishes reading.
    let drawn = false;
    const bodies = [];
    const onResponse = (r) => {
      if (drawn || !(r.headers()['content-type'] ?? '').includes('json')) return;
      bodies.push(r.body().then((b) => [r.url().replace(BASE, ''), b.length], () => [r.url(), 0]));
    };
    page.on('response', onResponse);
    const t0 = Date.now();
    await page.goto(`${BASE}/?run=${i}`);
    await waitForRendered(page, 'communities-fill');
    load.push(Date.now() - t0);
    drawn = true;
    page.off('response', onResponse);
    const sizes = await Promise.all(bodies);
    json.push(sizes.reduce((a, [, n]) => a + n, 0));
    biggest.push(sizes.sort((a, b) => b[1] - a[1]).slice(0, 3).map(([u, n]) => `${u} ${n}`).join(', '));
  }
  const verdict = [];
  for (let i = 0; i < RUNS; i += 1) {
    const { community } = await openCommunity(page);
    // A north-south line across the community, a little further east each run.
    const x = 0.4 + 0.05 * i;
    const { finishedAt } = await drawLine(page, community, [[x, -1], [x, 2]]);
    await page.waitForFunction(() => document.querySelector('#validation')?.dataset.state === 'done'
      && window.shequProposal.state().lines.length === 1, null, { polling: 'raf', timeout: 60000 });
    verdict.push(Date.now() - finishedAt);
    // The next run starts from a fresh page without the autosaved line.
    await page.evaluate(() => localStorage.clear());
  }
  console.log(`community ${COMMUNITY}, ${RUNS} runs each; budgets ×${FACTOR}`);
  console.log(`JSON before first draw: median ${median(json)} bytes (${json.join(', ')}); largest: ${biggest[0]}`);
  console.log(`communities drawn after navigation: median ${median(load)} ms (${load.join(', ')})`);
  console.log(`verdict after the line is finished: median ${median(verdict)} ms (${verdict.join(', ')})`);
  const failures = [];
  if (Math.max(...json) > JSON_BUDGET) failures.push(`JSON before first draw ${Math.max(...json)} B > ${JSON_BUDGET} B`);
  if (median(load) > DRAWN_BUDGET_MS) failures.push(`communities drawn after ${median(load)} ms > ${DRAWN_BUDGET_MS} ms`);
  if (median(verdict) > VERDICT_BUDGET_MS) failures.push(`verdict after ${median(verdict)} ms > ${VERDICT_BUDGET_MS} ms`);
  assert.deepEqual(failures, [], 'speed budgets');
});
