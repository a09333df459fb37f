// Scenario (issue 15): the basemap switch. The server runs with a Tianditu key and a fake
// upstream on loopback (tests/browser.rs); the page switches 无底图 → 天地图矢量+注记 →
// 天地图影像+注记 → 无底图, its tiles come only from the server's proxy (lib.js fails on any
// request to another host), the attribution (天地图, 审图号) shows while a basemap is on, and no
// HTML, script or JSON the page receives contains the key.
import assert from 'node:assert/strict';
import { run, BASE, waitForApp } from './lib.js';

const KEY = process.env.SHEQU_BASEMAP_KEY;
assert.ok(KEY, 'SHEQU_BASEMAP_KEY (the key the server was given) is not set');

await run('basemap', async (page, { shot }) => {
  const leaks = [];
  page.on('response', async (r) => {
    const type = r.headers()['content-type'] ?? '';
    if (!/json|javascript|html|css|text/.test(type)) return;
    const body = await r.text().catch(() => '');
    if (body.includes(KEY)) leaks.push(r.url());
  });
  await page.goto(`${BASE}/`);
  await waitForApp(page);
  await page.waitForSelector('#basemap[data-available="true"]', { state: 'attached' });
  // The switch sits folded in the layer box (it would otherwise widen the box over the map).
  await page.click('#basemap-box summary');
  const options = await page.$$eval('#basemap option', (os) => os.map((o) => ({ value: o.value, text: o.textContent, disabled: o.disabled })));
  assert.deepEqual(options, [
    { value: '', text: '无底图', disabled: false },
    { value: 'vec', text: '天地图矢量+注记', disabled: false },
    { value: 'img', text: '天地图影像+注记', disabled: false },
  ]);
  assert.equal(await page.isVisible('#basemap-attribution'), false);

  const tiles = (layer) => page.waitForResponse((r) => new URL(r.url()).pathname.startsWith(`/basemap/${layer}/`) && r.status() === 200,
    { timeout: 30000 });
  for (const [choice, layers] of [['vec', ['vec', 'cva']], ['img', ['img', 'cia']]]) {
    const answered = layers.map(tiles);
    await page.selectOption('#basemap', choice);
    await Promise.all(answered);
    const shown = await page.evaluate(() => window.shequMap.getStyle().layers.filter((l) => l.id.startsWith('basemap-')).map((l) => l.id));
    assert.deepEqual(shown, layers.map((l) => `basemap-${l}`), `${choice}: layers ${shown}`);
    // Right over the background colour, under the server's own layers.
    const first = await page.evaluate(() => window.shequMap.getStyle().layers.find((l) => l.type !== 'background').id);
    assert.equal(first, `basemap-${layers[0]}`);
    const attribution = await page.textContent('#basemap-attribution');
    assert.ok(await page.isVisible('#basemap-attribution'));
    assert.match(attribution, /天地图/);
    assert.match(attribution, /审图号/);
    await shot(choice);
  }
  await page.selectOption('#basemap', '');
  await page.waitForFunction(() => !window.shequMap.getStyle().layers.some((l) => l.id.startsWith('basemap-')));
  assert.equal(await page.isVisible('#basemap-attribution'), false);
  // The page's own text never holds the key either.
  const html = await page.content();
  assert.ok(!html.includes(KEY), 'the page holds the key');
  assert.deepEqual(leaks, [], 'answers holding the key');
});
