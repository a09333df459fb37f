// 建议方案 (issue 18): the split assistant's candidates (POST /api/v1/proposals/suggest) side by
// side — each with a toggle that shows its parts on the map, a table of households, residents
// and the workers and office space each part needs, and its score — and 采用此方案, which turns
// the chosen one into an editable grid proposal in the editor.
import { $, esc, fmt, postJson } from '/web/util.js';

const VERDICT = { pass: '通过', warn: '提醒', fail: '不合格' };

/**
 * `proposal`: the editor (adoptGroups, color); `selected()`: the selected community's code;
 * `showGroups(groups | null)`: paints a candidate's grid groups on the map (null: none).
 */
export function initSuggest({ proposal, selected, showGroups, name }) {
  const box = $('suggestions');
  let answer = null;
  let shown = null;

  function render() {
    if (!answer) return;
    const c = answer.candidates;
    const head = `<p>${esc(name(answer.community))}：${fmt(answer.households)} 户，`
      + `标准 ${fmt(answer.band.min)}–${fmt(answer.band.max)} 户；建议拆为 <b>${fmt(answer.parts)}</b> 个社区。</p>`;
    box.querySelector('.list').innerHTML = head + (c.length ? c.map((k, i) => `<div class="candidate" data-rank="${k.rank}">`
      + `<h4>方案 ${k.rank}：得分 ${fmt(k.score.total, 3)}，<span class="verdict v-${esc(k.verdict)}">${esc(VERDICT[k.verdict] ?? k.verdict)}</span></h4>`
      + `<div class="tools"><button type="button" data-show="${i}" aria-pressed="${shown === i}">${shown === i ? '隐藏' : '在地图上显示'}</button>`
      + `<button type="button" data-adopt="${i}">采用此方案</button></div>`
      + '<table class="before-after"><tr><th>部分</th><th>网格</th><th>户数</th><th>人口</th><th>需工作人员</th><th>需办公面积（m²）</th></tr>'
      + k.parts.map((p, j) => `<tr><th><span class="swatch" style="background:${proposal.color(j)}"></span>${esc(String.fromCharCode(65 + j))}</th>`
        + `<td>${p.grids.length}</td><td class="${p.in_band ? '' : 'out'}">${fmt(p.households)}</td><td>${fmt(p.population)}</td>`
        + `<td>${fmt(p.needs.workers)}</td><td>${fmt(p.needs.office_area_m2)}</td></tr>`).join('')
      + '</table></div>').join('') : '<p>没有找到可行的方案。</p>');
  }

  async function load() {
    const community = selected();
    if (!community) {
      box.querySelector('.list').innerHTML = '<p class="hint">请先在地图上点击要拆分的社区。</p>';
      return;
    }
    const parts = $('suggest-parts').value;
    box.querySelector('.list').innerHTML = '<p class="hint">正在计算建议方案…</p>';
    try {
      answer = await postJson('/api/v1/proposals/suggest', { community, kind: 'split', parts: parts ? Number(parts) : 'auto', count: 3 });
      shown = null;
      showGroups(null);
      render();
    } catch (err) {
      answer = null;
      box.querySelector('.list').innerHTML = `<p class="error">无法生成建议方案：${esc(err.message)}</p>`;
    }
  }

  $('suggest-open').addEventListener('click', () => {
    box.hidden = !box.hidden;
    if (box.hidden) showGroups(null);
    else load();
  });
  $('suggest-run').addEventListener('click', load);
  box.addEventListener('click', (e) => {
    const b = e.target.closest('button');
    if (!b || !answer) return;
    if (b.dataset.show != null) {
      const i = Number(b.dataset.show);
      shown = shown === i ? null : i;
      showGroups(shown == null ? null : answer.candidates[i].parts.map((p) => p.grids));
      render();
    } else if (b.dataset.adopt != null) {
      const k = answer.candidates[Number(b.dataset.adopt)];
      showGroups(null);
      box.hidden = true;
      proposal.adoptGroups({
        title: k.proposal.proposal.title,
        parents: k.proposal.proposal.parents,
        groups: k.parts.map((p) => p.grids),
        forms: k.proposal.features.map((f) => f.properties),
      });
    }
  });
}
