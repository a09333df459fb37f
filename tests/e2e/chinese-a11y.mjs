// Scenario (issue 15): every word the page shows is Chinese — the attribute panel's findings and
// advice (rendered from the rule and its figures, not the server's English suggestion), a
// refused split line (the server's problem detail rendered in Chinese), MapLibre's control
// titles — and the lists are keyboard-operable (search results, audit findings, failing rules
// by Tab/focus and Enter) with text contrast of at least 4.5:1 on the coloured labels.
import assert from 'node:assert/strict';
import { run } from './lib.js';
import { openCommunity, drawLine, waitIdle } from './common-steps.js';

/** Latin words of two or more letters in `text` (units such as m² are one letter). */
const latin = (text) => text.match(/[A-Za-z]{2,}/g) ?? [];

/** WCAG contrast ratio of every element matching `selector` (its colour on its background). */
const contrasts = (page, selector) => page.$$eval(selector, (els) => els.map((e) => {
  const rgb = (c) => c.match(/[\d.]+/g).slice(0, 3).map(Number);
  const lum = (c) => {
    const [r, g, b] = rgb(c).map((v) => { const s = v / 255; return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const style = getComputedStyle(e);
  const [a, b] = [lum(style.color), lum(style.backgroundColor)].sort((x, y) => y - x);
  return { text: e.textContent, ratio: (a + 0.05) / (b + 0.05) };
}));

await run('chinese-a11y', async (page, { shot, allowConsole }) => {
  // The refused line's 422 answer, which Chromium logs as a failed resource.
  allowConsole(/status of 422/);
  const { community } = await openCommunity(page);
  const panel = await page.innerText('#panel');
  assert.deepEqual(latin(panel), [], `English in the panel: ${panel}`);
  assert.match(panel, /工作人员不足：还需 \d+ 人/);
  assert.match(panel, /可考虑拆分（约 8 个社区）/);
  for (const c of await contrasts(page, '#panel .sev')) assert.ok(c.ratio >= 4.5, `${c.text}: ${c.ratio.toFixed(2)}:1`);
  const titles = await page.$$eval('.maplibregl-ctrl button', (bs) => bs.map((b) => b.title));
  assert.ok(titles.includes('放大') && titles.includes('缩小'), `control titles ${titles}`);
  assert.deepEqual(titles.flatMap(latin), [], `English control titles ${titles}`);

  // A line that ends inside the community: the refusal in Chinese.
  await drawLine(page, community, [[0.5, -1], [0.5, 0.5]]);
  await page.waitForSelector('#validation[data-state="error"]');
  const refusal = await page.innerText('#validation');
  console.log(`refusal: ${refusal}`);
  assert.match(refusal, /线必须穿过社区/);
  assert.deepEqual(latin(refusal), [], refusal);
  await page.click('#proposal .close');

  // Search results by keyboard: focus the second result and press Enter.
  await page.fill('#q', '社区');
  await page.press('#q', 'Enter');
  await page.waitForSelector('#results li[tabindex="0"]');
  const second = page.locator('#results li').nth(1);
  const label = await second.evaluate((li) => li.firstChild.textContent);
  await second.focus();
  await page.keyboard.press('Enter');
  await page.waitForFunction((l) => document.querySelector('#panel h2')?.textContent === l, label);

  // Audit findings by keyboard: a town's list opened with Enter, a finding followed with Enter.
  await page.click('#audit-toggle');
  await page.waitForSelector('#audit-list summary');
  await page.focus('#audit-list summary');
  await page.keyboard.press('Enter');
  const finding = page.locator('#audit-list details[open] li[data-index]').first();
  await finding.waitFor();
  assert.equal(await finding.getAttribute('tabindex'), '0');
  const before = await page.evaluate(() => window.shequMap.getCenter().toArray());
  await finding.focus();
  await page.keyboard.press('Enter');
  await page.waitForFunction((b) => {
    const c = window.shequMap.getCenter().toArray();
    return c[0] !== b[0] || c[1] !== b[1];
  }, before);
  const audit = await page.innerText('#audit');
  assert.deepEqual(latin(audit), [], 'English in the audit view');
  for (const c of await contrasts(page, '#audit .sev')) assert.ok(c.ratio >= 4.5, `${c.text}: ${c.ratio.toFixed(2)}:1`);
  await waitIdle(page);
  await shot('audit');
});
