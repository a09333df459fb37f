// Scenario (issue 15): the server's refusals reach the user in Chinese, rendered by the page from
// each problem's `code` and `params` (web/messages.js), never as the server's English `detail`:
// a wrong password, a split line that does not cross the community, a proposal over the part
// limit (the server runs with --max-proposal-parts 3) and a transition the proposal's state no
// longer allows (another session moved it meanwhile). After each, no Latin-script sentence is
// visible anywhere on the page.
import assert from 'node:assert/strict';
import { run, BASE, api } from './lib.js';
import { COMMUNITY, openCommunity, drawLine, assembleFromGrids } from './common-steps.js';

const USERS = JSON.parse(process.env.SHEQU_USERS ?? '{}');
assert.ok(USERS.street, 'SHEQU_USERS must name a street account');

/** Runs of Latin-script words (three or more words of two or more letters): an English sentence. */
const sentences = (text) => text.match(/[A-Za-z]{2,}(?:[\s,;:'’()-]+[A-Za-z]{2,}){2,}/g) ?? [];

/** Asserts that the visible page has no English sentence; returns its visible text. */
async function noEnglish(page, when) {
  const text = await page.evaluate(() => document.body.innerText);
  assert.deepEqual(sentences(text), [], `English on the page ${when}`);
  return text;
}

/** Signs in through the API (a session of its own): cookie and CSRF token. */
async function apiSession({ user, password }) {
  const r = await fetch(`${BASE}/api/v1/login`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ user, password }),
  });
  assert.equal(r.status, 200, `login ${user}`);
  const body = await r.json();
  return { cookie: r.headers.get('set-cookie').split(';')[0], csrf: body.csrf_token };
}

await run('server-messages', async (page, { shot, allowConsole }) => {
  // The refusals this scenario provokes, which Chromium logs as failed resources.
  allowConsole(/status of (401|409|413|422)/);
  const { community } = await openCommunity(page);

  // 1. A wrong password.
  await page.fill('#login-user', USERS.street.user);
  await page.fill('#login-password', 'not-the-password');
  await page.click('#login button[type="submit"]');
  await page.waitForFunction(() => /登录失败/.test(document.querySelector('#status')?.textContent ?? ''));
  const login = await page.textContent('#status');
  console.log(`wrong password: ${login}`);
  assert.match(login, /用户名或密码错误/);
  await noEnglish(page, 'after a wrong password');
  // The basemap switch of a server without a Tianditu key: disabled, and it says why.
  assert.deepEqual(await page.$$eval('#basemap option', (os) => os.map((o) => o.disabled)), [false, true, true]);
  await page.click('#basemap-box summary');
  assert.match(await page.innerText('#basemap-note'), /服务器未配置天地图密钥/);
  await page.click('#basemap-box summary');
  // The toast sits over the bottom of the map, where the next step clicks: dismiss it.
  await page.evaluate(() => { document.querySelector('#status').textContent = ''; });

  // 2. A split line that ends inside the community.
  await drawLine(page, community, [[0.5, -1], [0.5, 0.5]]);
  await page.waitForSelector('#validation[data-state="error"]');
  const line = await page.innerText('#validation');
  console.log(`line refused: ${line}`);
  assert.match(line, /线必须穿过社区：起点和终点都在社区外，但线的一端在社区内/);
  await noEnglish(page, 'after a refused line');

  // A fresh page for each of the next steps (the autosaved drawing is dropped).
  const fresh = async () => {
    await page.evaluate(() => localStorage.clear());
    await openCommunity(page);
  };

  // 3. Over the part limit: a file with four parts where the server allows three.
  const grids = (await api(`/api/v1/grids?community=${COMMUNITY}`)).body.features.map((f) => f.properties.code);
  const quarter = Math.ceil(grids.length / 4);
  const groups = [0, 1, 2, 3].map((i) => grids.slice(i * quarter, (i + 1) * quarter)).filter((g) => g.length);
  const split = await api('/api/v1/proposals/split', { community: COMMUNITY, groups });
  assert.equal(split.status, 200, JSON.stringify(split.body));
  assert.equal(split.body.features.length, 4);
  await fresh();
  await page.click('#proposal-toggle');
  await page.setInputFiles('#load', { name: '四部分.geojson', mimeType: 'application/geo+json', buffer: Buffer.from(JSON.stringify(split.body)) });
  await page.waitForFunction(() => /部分过多/.test(document.querySelector('#validation')?.textContent ?? ''), null, { timeout: 30000 });
  const limit = await page.innerText('#validation');
  console.log(`over the limit: ${limit}`);
  assert.match(limit, /方案的部分过多：4 个，上限为 3 个/);
  await noEnglish(page, 'after a proposal over the limit');

  // 4. A transition the state no longer allows: the page shows a draft, another session of the
  // same official has meanwhile moved it to consultation, and 征求意见 is pressed again.
  await fresh();
  await page.fill('#login-user', USERS.street.user);
  await page.fill('#login-password', USERS.street.password);
  await page.click('#login button[type="submit"]');
  await page.waitForSelector('#who[data-role="street"]');
  await page.click('#proposal-toggle');
  await assembleFromGrids(page);
  const created = page.waitForResponse((r) => r.url().endsWith('/api/v1/proposals') && r.request().method() === 'POST');
  await page.click('#server-save');
  const id = (await (await created).json()).id;
  await page.waitForSelector('#wf-status[data-status="draft"]');
  const other = await apiSession(USERS.street);
  const moved = await fetch(`${BASE}/api/v1/proposals/${id}/transition`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Cookie: other.cookie, 'X-CSRF-Token': other.csrf },
    body: JSON.stringify({ to: 'consultation' }),
  });
  assert.equal(moved.status, 200, await moved.text());
  await page.click('#workflow button[data-to="consultation"]');
  await page.waitForFunction(() => (document.querySelector('#wf-error')?.textContent ?? '') !== '', null, { timeout: 30000 });
  const refused = await page.textContent('#wf-error');
  console.log(`transition refused: ${refused}`);
  assert.match(refused, /处于“征求意见”的方案不能转为“征求意见”/);
  await noEnglish(page, 'after a refused transition');
  await shot('refused-transition');
});
