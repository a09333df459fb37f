// The page's side of the server's records: signing in (session cookie + CSRF token), saving the
// drawn proposal to the server and opening stored ones, the procedure of an opened proposal
// (its events and the steps the signed-in role may take), and the history view (as_of).
import { $, esc, fmt, getJson, sendJson, postJson, session, status } from '/web/util.js';

export const STATUS = {
  draft: '草稿', consultation: '征求意见', vote: '表决', submitted: '报请审批', approved: '已批准', rejected: '已驳回',
};
const ROLE = { viewer: '查看', street: '街道', reviewer: '审批', admin: '管理员' };
const EVENT = { created: '创建', edited: '修改', comment: '记录意见', vote: '记录表决结果', moved: '状态变更' };
const VERDICT = { pass: '通过', warn: '提醒', fail: '不合格' };
// Whether a session may exist: only then does the page ask /me (a 401 would be noise otherwise).
const SIGNED_IN = 'shequ-signed-in';
// The steps a street official takes in each status, and the reviewer's.
const STREET_MOVES = {
  draft: [['consultation', '提交征求意见']],
  consultation: [['vote', '进入表决'], ['draft', '退回修改']],
  vote: [['submitted', '报请审批'], ['draft', '退回修改']],
};
const REVIEWER_MOVES = { submitted: [['approved', '批准'], ['rejected', '驳回']] };

const time = (t) => esc(String(t ?? '').replace('T', ' ').replace(/(\.\d+)?(Z|[+-]\d\d:\d\d)$/, ''));

/**
 * `proposal()`: the editor (proposal.js) once the map has loaded; `map`: for the tile sources;
 * `reload()`: loads the registry data again (after a change of `as_of` or an approval).
 */
export function initServer({ map, proposal, reload }) {
  let me = null;

  // ---- account ---------------------------------------------------------------------------------

  function setMe(who) {
    me = who;
    session.csrf = who?.csrf_token ?? null;
    if (who) localStorage.setItem(SIGNED_IN, '1');
    else localStorage.removeItem(SIGNED_IN);
    $('login').hidden = !!who;
    $('account').hidden = !who;
    $('who').textContent = who ? `${who.user}（${ROLE[who.role] ?? who.role}${who.towns?.length ? ` ${who.towns.join('、')}` : ''}）` : '';
    $('who').dataset.role = who?.role ?? '';
    for (const e of document.querySelectorAll('.signed-in')) e.hidden = !who;
    if (!who) $('stored').hidden = true;
    const opened = proposal()?.opened();
    if (opened) renderWorkflow(opened);
  }

  $('login').addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      setMe(await postJson('/api/v1/login', { user: $('login-user').value.trim(), password: $('login-password').value }));
      $('login-password').value = '';
      status('');
    } catch (err) {
      status(`登录失败：${err.message}`);
    }
  });

  $('logout').addEventListener('click', async () => {
    try {
      await postJson('/api/v1/logout');
    } catch (err) {
      status(`退出失败：${err.message}`);
    }
    setMe(null);
  });

  // ---- save and open ---------------------------------------------------------------------------

  /** Fetches the stored proposal `id` again and shows it in the workflow panel. */
  async function refresh(id) {
    const detail = await getJson(`/api/v1/proposals/${id}`);
    proposal().setOpened(detail);
    renderWorkflow(detail);
    return detail;
  }

  $('server-save').addEventListener('click', async () => {
    const fc = proposal().current();
    if (!fc) {
      status('方案还没有完整的部分，无法保存');
      return;
    }
    const opened = proposal().opened();
    try {
      // An opened draft is saved in place; anything else becomes a new stored proposal.
      const saved = opened?.status === 'draft'
        ? await sendJson('PUT', `/api/v1/proposals/${opened.id}`, fc)
        : await postJson('/api/v1/proposals', fc);
      await refresh(saved.id);
      status(`已保存到服务器：方案 #${saved.id}`);
    } catch (err) {
      showError(err, '保存失败');
    }
  });

  async function loadList() {
    const filter = $('stored-status').value;
    const list = $('stored-list');
    list.innerHTML = '<li>加载中…</li>';
    try {
      const { proposals } = await getJson(`/api/v1/proposals${filter ? `?status=${filter}` : ''}`);
      list.innerHTML = proposals.length ? '' : '<li>没有方案</li>';
      for (const p of proposals) {
        const li = document.createElement('li');
        li.className = 'clickable';
        li.dataset.id = p.id;
        li.innerHTML = `#${p.id} ${esc(p.title)}<br><small>${esc(p.town_code)} · <span class="st st-${esc(p.status)}">${esc(STATUS[p.status] ?? p.status)}</span>`
          + ` · ${esc(p.author)} · ${time(p.updated_at)}</small>`;
        li.addEventListener('click', async () => {
          try {
            const detail = await getJson(`/api/v1/proposals/${p.id}`);
            await proposal().open(detail);
            $('stored').hidden = true;
          } catch (err) {
            status(`打开失败：${err.message}`);
          }
        });
        list.append(li);
      }
    } catch (err) {
      list.innerHTML = `<li class="error">加载失败：${esc(err.message)}</li>`;
    }
  }

  $('server-open').addEventListener('click', () => {
    $('stored').hidden = false;
    $('audit').hidden = true;
    loadList();
  });
  $('stored-status').addEventListener('change', loadList);

  // ---- workflow ----------------------------------------------------------------------------------

  function showError(err, what = '操作失败') {
    const box = $('wf-error');
    const text = `${what}：${err.message}`;
    if (box && !$('workflow').hidden) box.textContent = text;
    else status(text);
  }

  function eventItem(e) {
    let what = esc(EVENT[e.kind] ?? e.kind);
    if (e.kind === 'moved' || (e.from && e.to)) what += `：${esc(STATUS[e.from] ?? e.from ?? '')} → ${esc(STATUS[e.to] ?? e.to ?? '')}`;
    if (e.tally) what += `：赞成 ${fmt(e.tally.for)}，反对 ${fmt(e.tally.against)}，弃权 ${fmt(e.tally.abstain)}${e.tally.eligible != null ? `，应到 ${fmt(e.tally.eligible)}` : ''}`;
    const text = e.text ? `<br>${esc(e.text)}${e.source ? `<small>（${esc(e.source)}）</small>` : ''}` : '';
    return `<li data-kind="${esc(e.kind)}"><small>${time(e.at)} · ${esc(e.actor)}</small><br>${what}${text}</li>`;
  }

  function renderWorkflow(d) {
    const box = $('workflow');
    if (!d) {
      box.hidden = true;
      box.innerHTML = '';
      return;
    }
    const street = me?.role === 'street' && (me.towns ?? []).includes(d.town_code);
    const reviewer = me?.role === 'reviewer';
    const moves = [...(street ? STREET_MOVES[d.status] ?? [] : []), ...(reviewer ? REVIEWER_MOVES[d.status] ?? [] : [])];
    let forms = '';
    if (street && d.status === 'consultation') {
      forms += '<div class="wf-form"><label>意见内容 <textarea id="wf-comment" rows="2"></textarea></label>'
        + '<label>意见来源（可选） <input id="wf-source" placeholder="如：居民代表会议"></label>'
        + '<button type="button" data-act="comment">记录意见</button></div>';
    }
    if (street && d.status === 'vote') {
      forms += '<div class="wf-form vote">'
        + ['for:赞成', 'against:反对', 'abstain:弃权', 'eligible:应到（可选）'].map((x) => {
          const [k, label] = x.split(':');
          return `<label>${label} <input id="wf-${k}" type="number" min="0" step="1"></label>`;
        }).join('')
        + '<button type="button" data-act="vote">记录表决结果</button></div>';
    }
    if (reviewer && d.status === 'submitted') {
      forms += '<div class="wf-form"><label>生效日期（默认今天） <input id="wf-effective" type="date"></label>'
        + '<label>驳回理由（驳回时必填） <textarea id="wf-reason" rows="2"></textarea></label></div>';
    }
    const vote = d.vote
      ? `<p>最近表决：赞成 ${fmt(d.vote.tally.for)}，反对 ${fmt(d.vote.tally.against)}，弃权 ${fmt(d.vote.tally.abstain)}`
        + `（<span data-passes="${d.vote.passes}">${d.vote.passes ? '通过' : '未通过'}</span>）</p>`
      : '';
    box.innerHTML = `<h3>服务器方案 #${d.id}</h3>`
      + `<p>状态：<span id="wf-status" class="st st-${esc(d.status)}" data-status="${esc(d.status)}">${esc(STATUS[d.status] ?? d.status)}</span>`
      + ` · 镇街 ${esc(d.town_code)} · 起草 ${esc(d.author)}${d.verdict ? ` · 校验 ${esc(VERDICT[d.verdict] ?? d.verdict)}` : ''}`
      + `${d.version != null ? ` · 登记版本 ${d.version}` : ''}</p>`
      + vote
      + forms
      + (moves.length ? `<div class="tools">${moves.map(([to, label]) => `<button type="button" data-to="${to}">${label}</button>`).join('')}</div>` : '')
      + (me ? '' : '<p class="hint">登录后可按角色办理此方案。</p>')
      + '<p id="wf-error" class="error"></p>'
      + `<details open><summary>办理记录（${d.events.length}）</summary><ol class="events">${d.events.map(eventItem).join('')}</ol></details>`;
    box.hidden = false;
  }

  $('workflow').addEventListener('click', async (e) => {
    const button = e.target.closest('button');
    const d = proposal()?.opened();
    if (!button || !d) return;
    const value = (id) => $(id)?.value.trim() ?? '';
    const count = (id) => (value(id) === '' ? null : Number(value(id)));
    $('wf-error').textContent = '';
    let request;
    if (button.dataset.act === 'comment') {
      if (!value('wf-comment')) { $('wf-error').textContent = '请填写意见内容'; return; }
      request = [`/api/v1/proposals/${d.id}/comments`, { text: value('wf-comment'), ...(value('wf-source') ? { source: value('wf-source') } : {}) }];
    } else if (button.dataset.act === 'vote') {
      const tally = { for: count('wf-for'), against: count('wf-against'), abstain: count('wf-abstain') };
      if (Object.values(tally).some((n) => n == null || !Number.isInteger(n) || n < 0)) {
        $('wf-error').textContent = '请填写赞成、反对、弃权票数（非负整数）';
        return;
      }
      if (count('wf-eligible') != null) tally.eligible = count('wf-eligible');
      request = [`/api/v1/proposals/${d.id}/vote`, tally];
    } else if (button.dataset.to) {
      const to = button.dataset.to;
      const body = { to };
      if (to === 'rejected') {
        if (!value('wf-reason')) { $('wf-error').textContent = '驳回必须填写理由'; return; }
        body.reason = value('wf-reason');
      }
      if (to === 'approved' && value('wf-effective')) body.effective = value('wf-effective');
      request = [`/api/v1/proposals/${d.id}/transition`, body];
    } else return;
    button.disabled = true;
    try {
      await postJson(...request);
      const detail = await refresh(d.id);
      status(`方案 #${d.id}：${STATUS[detail.status] ?? detail.status}`);
      // An approval changed the city: new boundaries on the map, a new version in the history.
      if (detail.status === 'approved') {
        await loadVersions();
        await setView(session.asOf, true);
      }
    } catch (err) {
      showError(err);
    } finally {
      button.disabled = false;
    }
  });

  // ---- history (as_of) ---------------------------------------------------------------------------

  // The tile URL templates of /style.json, before any `as_of` or cache-busting parameter.
  const templates = {};
  for (const id of ['shequ', 'findings']) {
    const src = map.getSource(id);
    if (src?.tiles) templates[id] = [...src.tiles];
  }
  let generation = 0;

  /** Shows the city as on `asOf` (null: now); `fresh` forces new tiles (after an approval). */
  async function setView(asOf, fresh = false) {
    session.asOf = asOf || null;
    if (fresh) generation += 1;
    const params = [session.asOf ? `as_of=${session.asOf}` : '', generation ? `v=${generation}` : ''].filter(Boolean).join('&');
    for (const [id, urls] of Object.entries(templates)) {
      map.getSource(id)?.setTiles(urls.map((u) => (params ? `${u}${u.includes('?') ? '&' : '?'}${params}` : u)));
    }
    $('as-of').value = session.asOf ?? '';
    const banner = $('history-banner');
    banner.hidden = !session.asOf;
    banner.textContent = session.asOf ? `正在查看 ${session.asOf} 的历史版本（地图、查询和核查均按当日数据）。选择“当前”返回。` : '';
    await reload();
  }

  async function loadVersions() {
    const select = $('as-of');
    let answer;
    try {
      answer = await getJson('/api/v1/versions');
    } catch {
      $('history').hidden = true; // a server without a database keeps no history
      return;
    }
    const dated = answer.versions.filter((v) => v.effective).sort((a, b) => a.effective.localeCompare(b.effective));
    const options = dated.map((v) => [v.effective, `${v.effective} ${v.description ?? ''}${v.proposal_id ? `（方案 #${v.proposal_id}）` : ''}`]);
    const seed = answer.versions.find((v) => !v.effective);
    if (seed && dated.length) {
      // The seeded registry is what answers the day before the first change took effect.
      const first = new Date(`${dated[0].effective}T00:00:00Z`);
      first.setUTCDate(first.getUTCDate() - 1);
      options.unshift([first.toISOString().slice(0, 10), `${first.toISOString().slice(0, 10)} 初始数据`]);
    }
    select.innerHTML = '<option value="">当前</option>'
      + options.map(([value, label]) => `<option value="${esc(value)}">${esc(label)}</option>`).join('');
    select.value = session.asOf ?? '';
    $('history').hidden = false;
  }

  $('as-of').addEventListener('change', (e) => {
    setView(e.target.value).catch((err) => status(`历史版本加载失败：${err.message}`));
  });

  return {
    /** Restores a session after a reload (when one may exist), and lists the versions. */
    async start() {
      const maybe = localStorage.getItem(SIGNED_IN);
      setMe(null);
      if (maybe) {
        try {
          const who = await getJson('/api/v1/me');
          setMe(who.csrf_token ? who : null);
        } catch {
          setMe(null);
        }
      }
      await loadVersions();
    },
    renderWorkflow,
  };
}
