// Live validation of the proposal being drawn: debounced POST /api/v1/proposals/validate, the
// report in the validation panel (rules with verdict, measured value and threshold, before/after
// table, overall verdict) and the offending geometry (overlaps, gaps, cut grids) on the map.
import { $, esc, fmt, postJsonOffMain, bbox, RULE_NAMES } from '/web/util.js';

export const VERDICT = { pass: '通过', warn: '提醒', fail: '不合格' };
const RULE = RULE_NAMES;
const SEVERITY = { fail: '必须满足', warn: '建议', exception: '例外须说明理由' };
const OFFENCE = {
  overlap_between_parts: '部分之间重叠', gap: '遗留空地', outside_parents: '超出原社区',
  cut_grid: '被切割的网格', overlap_with_community: '与其他社区重叠',
};
// Offences that show where a rule failed: proposal-level rules by kind, part rules by kind and part.
const RULE_OFFENCE = {
  parts_do_not_overlap: 'overlap_between_parts', parts_cover_parents: 'gap', parts_within_parents: 'outside_parents',
  grids_not_cut: 'cut_grid', no_overlap_with_other_communities: 'overlap_with_community',
};
const DELAY_MS = 400;

const threshold = (c) => {
  if (c.min != null && c.max != null) return `${fmt(c.min, 2)}–${fmt(c.max, 2)}`;
  if (c.min != null) return `≥ ${fmt(c.min, 2)}`;
  if (c.max != null) return `≤ ${fmt(c.max, 2)}`;
  return c.rule === 'contiguous' || c.rule === 'inside_one_town' ? '= 1' : '= 0';
};

/**
 * The validator. `fitBounds(bbox)` moves the map; `partGeometry(i)` is part i's drawn geometry
 * (a rule with no offending geometry of its own zooms to its part); `partColor(i)` its colour.
 */
export function createValidator({ map, fitBounds, partGeometry, partColor = () => '#888' }) {
  map.addSource('offending', { type: 'geojson', data: { type: 'FeatureCollection', features: [] } });
  map.addLayer({ id: 'offending-fill', type: 'fill', source: 'offending',
    paint: { 'fill-color': ['match', ['get', 'kind'], 'gap', '#7b3294', 'cut_grid', '#f0a500', '#d7191c'], 'fill-opacity': 0.45 } });
  map.addLayer({ id: 'offending-line', type: 'line', source: 'offending',
    paint: { 'line-color': ['match', ['get', 'kind'], 'gap', '#7b3294', 'cut_grid', '#b07800', '#d7191c'], 'line-width': 2, 'line-dasharray': [2, 1] } });

  let timer = 0;
  let inFlight = null;
  let report = null;
  const panel = $('validation');

  const setOffending = (features) => map.getSource('offending').setData({ type: 'FeatureCollection', features });

  function clear(message = '') {
    $('target-bar').hidden = true;
    clearTimeout(timer);
    inFlight?.abort();
    panel.dataset.state = 'empty';
    report = null;
    setOffending([]);
    panel.innerHTML = message ? `<p class="hint">${esc(message)}</p>` : '';
  }

  /** Zooms to what a failing rule is about. */
  function zoomTo(rule, partIndex) {
    const kind = RULE_OFFENCE[rule];
    const partName = partIndex == null ? null : report.parts[partIndex].name;
    const offences = report.offending.features.filter((f) => f.properties.kind === kind
      && (partName == null || f.properties.involves[0] === partName));
    const geometries = offences.length ? offences.map((f) => f.geometry)
      : partIndex != null ? [partGeometry(partIndex)] : [];
    const boxes = geometries.map(bbox).filter(Boolean);
    if (!boxes.length) return;
    fitBounds([Math.min(...boxes.map((b) => b[0])), Math.min(...boxes.map((b) => b[1])),
      Math.max(...boxes.map((b) => b[2])), Math.max(...boxes.map((b) => b[3]))]);
  }

  function checkRow(c, partIndex) {
    const li = document.createElement('li');
    li.dataset.rule = c.rule;
    li.dataset.verdict = c.verdict;
    const measured = c.measured == null ? '—' : fmt(c.measured, c.rule === 'polsby_popper' ? 3 : 1);
    li.innerHTML = `<span class="verdict v-${esc(c.verdict)}">${esc(VERDICT[c.verdict] ?? c.verdict)}</span>`
      + `${esc(RULE[c.rule] ?? c.rule)}<br><small>实测 <b class="measured">${measured}</b>，标准 ${esc(threshold(c))}`
      + `（${esc(SEVERITY[c.severity] ?? c.severity)}）</small>`;
    if (c.verdict !== 'pass') {
      li.className = 'clickable';
      li.title = '点击或按回车定位';
      li.tabIndex = 0;
      li.setAttribute('role', 'button');
      li.addEventListener('click', () => zoomTo(c.rule, partIndex));
      li.addEventListener('keydown', (k) => { if (k.key === 'Enter' || k.key === ' ') { k.preventDefault(); zoomTo(c.rule, partIndex); } });
    }
    return li;
  }

  function beforeAfter(ba, parts) {
    const cols = [['调整前', ba.before], ['调整后合计', ba.after], ...ba.parts.map((t, i) => [parts[i].name, t])];
    const rows = [['户数', 'households', 0], ['人口', 'population', 0], ['服务对象户数', 'service_households', 0],
      ['工作人员', 'workers', 0], ['每名工作人员服务户数', 'households_per_worker', 0], ['办公面积（m²）', 'office_area_m2', 0]];
    return `<table class="before-after"><tr><th></th>${cols.map(([n]) => `<th>${esc(n)}</th>`).join('')}</tr>`
      + rows.map(([label, key, d]) => `<tr><th>${label}</th>${cols.map(([, t]) => `<td>${fmt(t[key], d)}</td>`).join('')}</tr>`).join('')
      + '</table>';
  }

  /**
   * The sticky target bar (like Districtr's): per part, households against the guideline band,
   * and the workers and office space it needs against what its form gives; the suggested number
   * of parts for the households of the whole.
   */
  function targets(r) {
    const bar = $('target-bar');
    const check = (p, rule) => p.checks.find((c) => c.rule === rule);
    const band = r.parts.map((p) => check(p, 'households')).find(Boolean);
    const total = r.before_after.after.households;
    const suggested = band?.max ? Math.ceil(total / band.max) : null;
    const cells = r.parts.map((p, i) => {
      const t = r.before_after.parts[i];
      const h = check(p, 'households');
      const w = check(p, 'workers_per_10k_residents');
      const o = [check(p, 'office_m2_per_100_households'), check(p, 'office_m2_total')];
      const workersNeeded = w?.min != null ? Math.ceil(w.min * t.population / 10000) : null;
      const officeNeeded = Math.max(o[0]?.min != null ? o[0].min * t.households / 100 : 0, o[1]?.min ?? 0);
      const inBand = h && (h.min == null || t.households >= h.min) && (h.max == null || t.households <= h.max);
      // Where the households fall in the band (0–100 %, the band being the middle third).
      const lo = h?.min ?? 0;
      const hi = h?.max ?? lo * 3;
      const pos = hi > lo ? Math.max(0, Math.min(100, ((t.households - lo) / (hi - lo)) * 33.3 + 33.3)) : 50;
      return `<div class="target" data-part="${i}" data-in-band="${inBand}">`
        + `<span class="swatch" style="background:${partColor(i)}"></span><b>${String.fromCharCode(65 + i)}</b> `
        + `<span class="hh ${inBand ? 'ok' : 'bad'}">${fmt(t.households)} 户</span>`
        + `<span class="gauge" title="标准 ${fmt(lo)}–${fmt(hi)} 户"><i style="left:${pos.toFixed(1)}%"></i></span>`
        + `<span class="${workersNeeded != null && t.workers < workersNeeded ? 'bad' : 'ok'}">人员 ${fmt(t.workers)}/${fmt(workersNeeded)}</span> `
        + `<span class="${t.office_area_m2 < officeNeeded ? 'bad' : 'ok'}">用房 ${fmt(t.office_area_m2)}/${fmt(officeNeeded)} m²</span></div>`;
    });
    bar.innerHTML = `<p>标准 ${fmt(band?.min)}–${fmt(band?.max)} 户；合计 ${fmt(total)} 户，建议拆为 <b id="suggested-parts">${fmt(suggested)}</b> 个社区`
      + `（现 ${r.parts.length} 个）。“人员/用房”为现有/所需。</p>` + cells.join('');
    bar.hidden = false;
  }

  function render(r) {
    report = r;
    targets(r);
    setOffending(r.offending.features);
    panel.innerHTML = `<p id="verdict" class="overall v-${esc(r.verdict)}" data-verdict="${esc(r.verdict)}">`
      + `总体结论：${esc(VERDICT[r.verdict] ?? r.verdict)}</p>`;
    const section = (title, checks, partIndex, verdict) => {
      const h = document.createElement('h3');
      h.innerHTML = `${esc(title)}${verdict ? ` <span class="verdict v-${esc(verdict)}">${esc(VERDICT[verdict])}</span>` : ''}`;
      const ul = document.createElement('ul');
      ul.className = 'checks';
      if (partIndex != null) ul.dataset.part = partIndex;
      else ul.dataset.part = 'proposal';
      ul.append(...checks.map((c) => checkRow(c, partIndex)));
      panel.append(h, ul);
    };
    section('整体', r.checks, null, null);
    r.parts.forEach((p, i) => {
      section(`部分 ${String.fromCharCode(65 + i)}：${p.name}`, p.checks, i, p.verdict);
      if (p.cut_grids.length) {
        const small = document.createElement('p');
        small.className = 'cut';
        small.textContent = `被切割网格：${p.cut_grids.map((g) => `${g.name}（本部分占 ${fmt(g.share_inside * 100, 0)}%）`).join('、')}`;
        panel.append(small);
      }
    });
    const legend = [...new Set(r.offending.features.map((f) => f.properties.kind))].map((k) => OFFENCE[k] ?? k);
    panel.insertAdjacentHTML('beforeend', '<h3>调整前后对比</h3>' + beforeAfter(r.before_after, r.parts)
      + (legend.length ? `<p class="hint">地图上标出的问题区域：${esc(legend.join('、'))}</p>` : ''));
  }

  /** Marks the report as out of date while the proposal is being recomputed. */
  function hold() {
    clearTimeout(timer);
    inFlight?.abort();
    panel.dataset.state = 'pending';
  }

  /** Shows a report of the server (`/proposals/validate`). */
  function show(r) {
    render(r);
    panel.dataset.state = 'done';
  }

  /** Shows that the validation failed (`err`: the server's refusal or a network error). */
  function fail(err) {
    report = null;
    setOffending([]);
    panel.innerHTML = `<p id="verdict" class="error" data-verdict="error">校验失败：${esc(err.message)}</p>`;
    panel.dataset.state = 'error';
  }

  /** Sends `proposal` to the server and shows the report (a newer request aborts this one). */
  async function validate(proposal) {
    const controller = new AbortController();
    inFlight = controller;
    try {
      show(await postJsonOffMain('/api/v1/proposals/validate', proposal, controller.signal));
    } catch (err) {
      if (err.name !== 'AbortError') fail(err);
    }
  }

  /**
   * Validates `proposal` — after a pause while the user is `typing`, else at once (a finished
   * drawing step: the request leaves in the same task, not behind a timer that a busy page runs
   * only after the map's next frame); a newer edit cancels an older request. Resolves when the
   * report is shown (or the request failed or was overtaken).
   */
  function schedule(proposal, typing = false) {
    hold();
    if (!typing) return validate(proposal);
    return new Promise((resolve) => {
      timer = setTimeout(() => validate(proposal).then(resolve), DELAY_MS);
    });
  }

  return { schedule, hold, clear, show, fail };
}
