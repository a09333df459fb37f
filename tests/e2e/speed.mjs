// Speed figures of issue 15 in headless Chromium (recorded in BENCHMARKS.md; a measurement, not
// a pass/fail test): JSON bytes loaded before the communities are first drawn, time from
// navigation to communities drawn, and time from finishing a split line (the last click) to the
// verdict shown. Each figure is the median of RUNS fresh page loads.
import { run, BASE, waitForRendered } from './lib.js';
import { COMMUNITY, openCommunity, pixel, waitIdle } from './common-steps.js';

const RUNS = Number(process.env.RUNS ?? 5);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

await run('speed', async (page) => {
  const load = [];
  const json = [];
  for (let i = 0; i < RUNS; i += 1) {
    let bytes = 0;
    let counting = true;
    const onResponse = async (r) => {
      if (!counting || !(r.headers()['content-type'] ?? '').includes('json')) return;
      const body = await r.body().catch(() => null);
      if (counting && body) bytes += body.length;
    };
    page.on('response', onResponse);
    const t0 = Date.now();
    await page.goto(`${BASE}/?run=${i}`);
    await waitForRendered(page, 'communities-fill');
    load.push(Date.now() - t0);
    counting = false;
    page.off('response', onResponse);
    json.push(bytes);
  }
  const verdict = [];
  for (let i = 0; i < RUNS; i += 1) {
    const { community } = await openCommunity(page);
    await page.click('#proposal-toggle');
    await page.click('[data-tool="line"]');
    await waitIdle(page);
    const ring = community.geometry.coordinates[0];
    const xs = ring.map((p) => p[0]);
    const ys = ring.map((p) => p[1]);
    const x = Math.min(...xs) + (Math.max(...xs) - Math.min(...xs)) * (0.4 + 0.05 * i);
    const pts = [];
    for (const p of [[x, Math.min(...ys) - 0.002], [x, Math.max(...ys) + 0.002]]) pts.push(await pixel(page, p));
    for (const at of pts) await page.mouse.click(Math.round(at.x), Math.round(at.y));
    const t0 = Date.now();
    await page.mouse.click(Math.round(pts[1].x), Math.round(pts[1].y));
    await page.waitForFunction(() => document.querySelector('#validation')?.dataset.state === 'done'
      && window.shequProposal.state().lines.length === 1, null, { polling: 'raf' });
    verdict.push(Date.now() - t0);
    // The next run starts from a fresh page without the autosaved line.
    await page.evaluate(() => localStorage.clear());
  }
  console.log(`community ${COMMUNITY}, ${RUNS} runs each`);
  console.log(`JSON before first draw: median ${median(json)} bytes (${json.join(', ')})`);
  console.log(`communities drawn after navigation: median ${median(load)} ms (${load.join(', ')})`);
  console.log(`verdict after the line is finished: median ${median(verdict)} ms (${verdict.join(', ')})`);
});
