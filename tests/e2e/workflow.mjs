// Scenario 3: a street official signs in, assembles a proposal from grids, saves it to the
// server and takes it through consultation and vote in the workflow panel; the stored proposal
// is checked through the API. If it passes validation it is submitted, the reviewer opens it
// from the server's list and approves it, and the history selector lists the new version.
// (Users come from SHEQU_USERS, added with `shequ user add` before the server started.)
import assert from 'node:assert/strict';
import { run, BASE } from './lib.js';
import { openCommunity, assembleFromGrids, waitIdle } from './common-steps.js';

const USERS = JSON.parse(process.env.SHEQU_USERS ?? '{}');
assert.ok(USERS.street && USERS.reviewer, 'SHEQU_USERS must name a street and a reviewer account');

/** Signs in through the API (a session of its own) and returns a GET with its cookie. */
async function apiSession({ user, password }) {
  const r = await fetch(`${BASE}/api/v1/login`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ user, password }),
  });
  assert.equal(r.status, 200, `login ${user}`);
  const cookie = r.headers.get('set-cookie').split(';')[0];
  return async (path) => {
    const a = await fetch(BASE + path, { headers: { Cookie: cookie } });
    assert.equal(a.status, 200, path);
    return a.json();
  };
}

async function signIn(page, { user, password }, role) {
  await page.fill('#login-user', user);
  await page.fill('#login-password', password);
  await page.click('#login button[type="submit"]');
  await page.waitForSelector(`#who[data-role="${role}"]`);
  assert.match(await page.textContent('#who'), new RegExp(user));
}

const waitStatus = (page, s) => page.waitForSelector(`#wf-status[data-status="${s}"]`, { timeout: 30000 });

await run('workflow', async (page, { shot }) => {
  await openCommunity(page);
  // Signed out: no server buttons.
  assert.equal(await page.isVisible('#server-save'), false);
  await signIn(page, USERS.street, 'street');
  await page.click('#proposal-toggle');
  const { request } = await assembleFromGrids(page);
  assert.ok(await page.isVisible('#server-save'));
  // Staff, offices and a reason for the size: the parts then pass with warnings (households over
  // the range, justified), so the proposal can go all the way.
  for (let i = 0; i < request.groups.length; i += 1) {
    const part = page.locator(`#parts fieldset[data-part="${i}"]`);
    await part.locator('[data-field="workers"]').fill('100');
    await part.locator('[data-field="office_area_m2"]').fill('5000');
    await part.locator('[data-field="justification"]').fill('人口密集，按现有网格暂设两个社区');
  }
  await page.waitForFunction(() => document.querySelector('#validation')?.dataset.state === 'done'
    && document.querySelector('#verdict')?.dataset.verdict !== 'fail', null, { timeout: 30000 });
  const shown = { verdict: await page.getAttribute('#verdict', 'data-verdict') };
  console.log(`with staff and offices: ${shown.verdict}`);

  // Save: a new stored proposal, shown as a draft.
  const created = page.waitForResponse((r) => r.url().endsWith('/api/v1/proposals') && r.request().method() === 'POST');
  await page.click('#server-save');
  const response = await created;
  assert.equal(response.status(), 201);
  const id = (await response.json()).id;
  await waitStatus(page, 'draft');
  const get = await apiSession(USERS.street);
  let stored = await get(`/api/v1/proposals/${id}`);
  assert.equal(stored.status, 'draft');
  assert.equal(stored.town_code, '442000005');
  assert.equal(stored.author, USERS.street.user);
  assert.equal(stored.proposal.features.length, request.groups.length);
  assert.equal(stored.verdict, shown.verdict);
  // Only the street's steps for a draft are offered.
  assert.deepEqual(await page.$$eval('#workflow button[data-to]', (bs) => bs.map((b) => b.dataset.to)), ['consultation']);

  // Consultation with a comment, then the vote with a tally.
  await page.click('#workflow button[data-to="consultation"]');
  await waitStatus(page, 'consultation');
  await page.fill('#wf-comment', '居民同意按网格拆分');
  await page.fill('#wf-source', '居民代表会议');
  await page.click('#workflow button[data-act="comment"]');
  await page.waitForSelector('#workflow li[data-kind="comment"]');
  await page.click('#workflow button[data-to="vote"]');
  await waitStatus(page, 'vote');
  await page.fill('#wf-for', '30');
  await page.fill('#wf-against', '5');
  await page.fill('#wf-abstain', '2');
  await page.click('#workflow button[data-act="vote"]');
  await page.waitForSelector('#workflow li[data-kind="vote"]');
  await page.waitForSelector('#workflow [data-passes="true"]');

  stored = await get(`/api/v1/proposals/${id}`);
  assert.equal(stored.status, 'vote');
  assert.deepEqual(stored.events.map((e) => e.kind), ['created', 'moved', 'comment', 'moved', 'vote']);
  assert.equal(stored.events[2].text, '居民同意按网格拆分');
  assert.deepEqual(stored.vote.tally, { for: 30, against: 5, abstain: 2, eligible: null });
  assert.equal(stored.vote.passes, true);
  await page.locator('#workflow').scrollIntoViewIfNeeded();
  await shot('vote');

  if (shown.verdict === 'fail') {
    console.log(`proposal #${id} fails validation: not submitted (save, consultation and vote checked)`);
    return;
  }
  // Submit, sign out, the reviewer opens it from the list and approves it.
  await page.click('#workflow button[data-to="submitted"]');
  await waitStatus(page, 'submitted');
  assert.deepEqual(await page.$$eval('#workflow button[data-to]', (bs) => bs.map((b) => b.dataset.to)), []);
  await page.click('#logout');
  await page.waitForSelector('#login:not([hidden])');
  await signIn(page, USERS.reviewer, 'reviewer');
  await page.click('#server-open');
  await page.selectOption('#stored-status', 'submitted');
  await page.click(`#stored-list li[data-id="${id}"]`);
  await waitStatus(page, 'submitted');
  assert.deepEqual(await page.$$eval('#workflow button[data-to]', (bs) => bs.map((b) => b.dataset.to)), ['approved', 'rejected']);
  const versionsBefore = (await (await fetch(`${BASE}/api/v1/versions`)).json()).versions.length;
  await page.click('#workflow button[data-to="approved"]');
  await waitStatus(page, 'approved');
  stored = await get(`/api/v1/proposals/${id}`);
  assert.equal(stored.status, 'approved');
  assert.ok(stored.version != null, 'approval created a registry version');
  const versions = (await (await fetch(`${BASE}/api/v1/versions`)).json()).versions;
  assert.equal(versions.length, versionsBefore + 1);
  // The history selector: 当前, the seeded data (the day before) and the approved version.
  await page.waitForFunction(() => document.querySelectorAll('#as-of option').length >= 3);
  const options = await page.$$eval('#as-of option', (os) => os.map((o) => o.value));
  console.log(`proposal #${id} approved as version ${stored.version}; history options ${JSON.stringify(options)}`);
  // Looking at the day before: tiles and data as of then, and back to now.
  const tile = page.waitForRequest((r) => r.url().includes('/tiles/') && r.url().includes(`as_of=${options[1]}`));
  await page.selectOption('#as-of', options[1]);
  await tile;
  await page.waitForSelector('#history-banner:not([hidden])');
  await waitIdle(page);
  await shot('history');
  await page.selectOption('#as-of', '');
  await page.waitForSelector('#history-banner[hidden]', { state: 'attached' });
  await waitIdle(page);
});
