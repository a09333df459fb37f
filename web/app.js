// The web map: communities and grids from the server's own tiles and style, a feature panel with
// guideline status, search, a layer switcher, the audit view and the proposal editor
// (proposal.js). Plain ES modules, no build step.
import { Map, Marker, NavigationControl, ScaleControl, LngLatBounds } from '/web/vendor/maplibre-gl/maplibre-gl.mjs';
import { $, status, fmt, esc, getJson, bbox, RULE_NAMES } from '/web/util.js';
import { initProposal } from '/web/proposal.js';
import { initServer } from '/web/server.js';
import { initSuggest } from '/web/suggest.js';
import { initBasemap } from '/web/basemap.js';

const KIND = { community: '社区', village: '村', village_converted: '村改居社区' };
const SEVERITY = { fail: '不合格', warn: '提醒', exception: '例外' };
const RULE = RULE_NAMES;
const FINDING_KIND = { no_territory: '无辖区范围', guideline: '指引', overlap: '重叠', gap: '空隙' };

// The map draws towns, communities and grids from the server's vector tiles. The page keeps their
// attributes only (`skipGeometry=true`: communities and towns at start, grids on first search),
// fetches one feature's geometry when it is opened (`withGeometry`), and the audit findings once
// the map has first been drawn. `findings` is null until they are loaded.
const data = { towns: [], communities: [], grids: null, findings: null, byCode: new globalThis.Map() };

function index(features, level) {
  for (const f of features) data.byCode.set(f.properties.code, { ...f, level });
}

const LEVEL_PATH = { town: 'towns', community: 'communities', grid: 'grids' };

/**
 * The feature with `code` with its geometry (fetched from `/api/v1/{level}/{code}` the first
 * time and kept until the data is loaded again), or undefined for an unknown code.
 */
async function withGeometry(code) {
  const f = data.byCode.get(code);
  if (!f || f.fetched) return f;
  f.geometry = (await getJson(`/api/v1/${LEVEL_PATH[f.level]}/${encodeURIComponent(code)}`)).geometry;
  f.fetched = true;
  return f;
}

/** Attributes of every grid (for search and the audit list), loaded once. */
async function loadGrids() {
  if (!data.grids) {
    status('正在加载网格…');
    data.grids = (await getJson('/api/v1/grids?skipGeometry=true')).features;
    index(data.grids, 'grid');
    status('');
  }
  return data.grids;
}

// ---- map -------------------------------------------------------------------------------------

const style = await getJson('/style.json');
// Without a glyph source (serve --glyphs) the style leaves its labels layer in metadata, since
// other MapLibre clients would draw no text; MapLibre GL JS draws Chinese with the browser's fonts.
const localLabels = style.metadata?.['shequ:labels'];
if (localLabels && !style.layers.some((l) => l.id === 'labels')) style.layers.push(localLabels);
// Highlight layers: a community under the pointer and the selected one, matched by code.
const none = ['==', ['get', 'code'], ''];
const at = style.layers.findIndex((l) => l.id === 'labels');
style.layers.splice(at < 0 ? style.layers.length : at, 0,
  { id: 'hover-line', type: 'line', source: 'shequ', 'source-layer': 'communities', filter: none,
    paint: { 'line-color': '#ff7f00', 'line-width': 3 } },
  { id: 'selected-line', type: 'line', source: 'shequ', 'source-layer': 'communities', filter: none,
    paint: { 'line-color': '#e31a1c', 'line-width': 4 } });
// Communities failing a guideline, under the community outlines (colourGuidelines paints them).
style.layers.splice(style.layers.findIndex((l) => l.id === 'communities-line'), 0,
  { id: 'guideline-fill', type: 'fill', source: 'shequ', 'source-layer': 'communities',
    paint: { 'fill-color': 'rgba(0,0,0,0)', 'fill-opacity': 0.2 } });

// The first view fits the whole city (unless the address names a view).
const cityBounds = style.sources.shequ?.bounds;
const map = new Map({
  container: 'map', style, hash: true, attributionControl: false,
  // MapLibre's own control titles, in Chinese.
  locale: {
    'NavigationControl.ZoomIn': '放大', 'NavigationControl.ZoomOut': '缩小', 'NavigationControl.ResetBearing': '指北',
    'ScaleControl.Meters': '米', 'ScaleControl.Kilometers': '千米', 'GeolocateControl.FindMyLocation': '定位',
    'FullscreenControl.Enter': '全屏', 'FullscreenControl.Exit': '退出全屏', 'Map.Title': '地图',
    'AttributionControl.ToggleAttribution': '数据来源', 'LogoControl.Title': 'MapLibre 标志',
  },
  ...(cityBounds && !location.hash ? { bounds: cityBounds, fitBoundsOptions: { padding: 20 } } : {}),
  // No symbol fade: a fade keeps redrawing the map for 300 ms after every change, and on a
  // software-rendered map each frame holds the page for 200–400 ms.
  fadeDuration: 0,
});
// Resolves once the first view is drawn (its tiles loaded): what is not needed to draw it waits.
const firstDraw = new Promise((resolve) => map.once('idle', resolve));
// The map is reachable from the console (and from the browser tests, which query rendered features).
window.shequMap = map;
map.addControl(new NavigationControl(), 'bottom-right');
map.addControl(new ScaleControl(), 'bottom-left');
map.on('error', (e) => status(`地图错误：${e.error?.message ?? e}`));

let hovered = '';
map.on('mousemove', 'communities-fill', (e) => {
  const code = e.features[0]?.properties.code ?? '';
  if (code !== hovered) {
    hovered = code;
    map.setFilter('hover-line', ['==', ['get', 'code'], code]);
  }
  map.getCanvas().style.cursor = 'pointer';
});
map.on('mouseleave', 'communities-fill', () => {
  hovered = '';
  map.setFilter('hover-line', none);
  map.getCanvas().style.cursor = '';
});
map.on('click', 'communities-fill', (e) => {
  const code = e.features[0]?.properties.code;
  // While the proposal editor draws, paints grids or places an office, clicks are its own.
  if (code && !proposal?.capturesClicks()) showCommunity(code);
});

/** Map padding that keeps a fitted feature clear of the open panels (left: editor; right: the rest). */
function freeArea() {
  const width = map.getContainer().clientWidth;
  const open = (id) => { const e = $(id); return e && !e.hidden && e.offsetWidth < width * 0.6 ? e.offsetWidth + 20 : 0; };
  const right = Math.max(open('panel'), open('audit'), open('stored'));
  const left = open('proposal');
  // Narrow screens: panels cover the map anyway (they collapse), so keep a plain margin.
  if (left + right + 200 > width) return 40;
  // The layer switcher sits at the top left (right of the editor when it is open).
  const top = Math.min(($('layers')?.offsetHeight ?? 0) + 30, map.getContainer().clientHeight / 3);
  return { top, bottom: 60, left: left + 40, right: right + 40 };
}

/** Moves the map to a feature: its extent, or its office, or a point. */
function flyTo(geometry, point) {
  const b = bbox(geometry);
  if (b) map.fitBounds(new LngLatBounds([b[0], b[1]], [b[2], b[3]]), { padding: freeArea(), maxZoom: 17 });
  else if (point) map.flyTo({ center: point, zoom: 16 });
  else status('该对象没有位置信息');
}

// ---- feature panel ---------------------------------------------------------------------------

function findingItem(f) {
  const rule = f.rule;
  let detail = '';
  if (rule?.id === 'grid_households') {
    // Measured is the number of grids outside the households-per-grid range.
    detail = `${fmt(rule.measured)} 个网格户数不在 ${fmt(rule.min)}–${fmt(rule.max)} 户之间`;
  } else if (rule) {
    const range = [rule.min != null ? `下限 ${fmt(rule.min, 1)}` : '', rule.max != null ? `上限 ${fmt(rule.max, 1)}` : '']
      .filter(Boolean).join('，');
    detail = `${esc(RULE[rule.id] ?? rule.id)}：实测 ${fmt(rule.measured, 1)}${range ? `（${range}）` : ''}`;
  } else {
    detail = esc(FINDING_KIND[f.kind] ?? f.kind);
  }
  return `<span class="sev sev-${esc(f.severity)}">${esc(SEVERITY[f.severity] ?? f.severity)}</span>${detail}`
    + `<br><small>${esc(advice(f))}</small>`;
}

/**
 * What to do about a finding, in Chinese, from its rule and numbers (the server's `suggestion`
 * is English): the same advice the audit gives, computed from the same figures.
 */
function advice(f) {
  const rule = f.rule;
  const subject = data.byCode.get(f.codes?.[0])?.properties;
  if (!rule) {
    return { no_territory: '为其划定辖区范围', overlap: '把重叠部分从其中一方划出', gap: '把空隙划入相邻的社区或网格' }[f.kind] ?? '';
  }
  const v = rule.measured;
  switch (rule.id) {
    case 'households':
      return rule.max != null && v > rule.max
        ? `超出上限 ${fmt(v - rule.max)} 户：可考虑拆分（约 ${fmt(Math.ceil(v / rule.max))} 个社区）`
        : '低于下限：可考虑与相邻社区合并，或写明设置理由';
    case 'workers_per_10k_residents': {
      if (!subject || rule.min == null) return '工作人员不足';
      const needed = Math.ceil(rule.min * subject.population / 10000) - subject.workers;
      return `工作人员不足：还需 ${fmt(Math.max(needed, 0))} 人`;
    }
    case 'office_m2_per_100_households':
    case 'office_m2_total': {
      if (!subject) return '办公服务用房不足';
      const total = rule.id === 'office_m2_total' ? rule.min ?? 0 : (rule.min ?? 0) * subject.households / 100;
      return `办公服务用房不足：还需 ${fmt(Math.max(total - (subject.office_area_m2 ?? 0), 0))} m²`;
    }
    case 'grid_households': return '重新划分网格';
    case 'polsby_popper': return '辖区狭长或边界曲折：请核对边界';
    case 'grids_per_community':
      return rule.max != null && v > rule.max
        ? `比上限 ${fmt(rule.max)} 个多 ${fmt(v - rule.max)} 个网格：一个居委会难以管理，可考虑拆分`
        : '网格过少：请把社区划分为网格';
    default: return '';
  }
}

let selected = '';

function showCommunity(code) {
  const f = data.byCode.get(code);
  if (!f) return;
  selected = code;
  const p = f.properties;
  map.setFilter('selected-line', ['==', ['get', 'code'], code]);
  const town = data.byCode.get(p.town_code)?.properties.name ?? p.town_code;
  const findings = data.findings ?? [];
  const own = findings.filter((x) => x.codes[0] === code);
  const inGrids = findings.filter((x) => x.codes[0] !== code && x.codes[0]?.startsWith(code));
  const rows = [
    ['名称', esc(p.name)], ['编码', esc(p.code)], ['镇街', esc(town)], ['类型', esc(KIND[p.kind] ?? p.kind)],
    ['户数', fmt(p.households)], ['人口', fmt(p.population)], ['服务对象户数', fmt(p.service_households)],
    ['工作人员', fmt(p.workers)], ['办公面积', p.office_area_m2 == null ? '—' : `${fmt(p.office_area_m2, 1)} m²`],
    ['网格数', fmt(p.grids)],
  ];
  $('panel-body').innerHTML = `<h2>${esc(p.name)}</h2>`
    + `<table class="attrs">${rows.map(([k, v]) => `<tr><th>${k}</th><td data-field="${k}">${v}</td></tr>`).join('')}</table>`
    + '<h3>指引核查</h3>'
    + (!data.findings ? '<p class="hint">正在加载核查结果…</p>' : own.length
      ? `<ul class="findings">${own.map((x) => `<li>${findingItem(x)}</li>`).join('')}</ul>`
      : '<p class="ok">符合全部指引</p>')
    + (inGrids.length ? `<h3>所辖网格问题（${inGrids.length}）</h3><ul class="findings">${inGrids
      .map((x) => `<li>${esc(data.byCode.get(x.codes[0])?.properties.name ?? x.codes[0])}：${findingItem(x)}</li>`).join('')}</ul>` : '');
  $('panel').hidden = false;
}

let proposal = null;
// The editor adds its own sources and layers (and terra-draw its own), the basemap switch and the
// session follow: once the first view is drawn, so that the map does not wait for them.
firstDraw.then(() => {
  const server = initServer({ map, proposal: () => proposal, reload: loadData });
  proposal = initProposal({ map, data, withGeometry, flyTo, selected: () => selected, onOpened: server.renderWorkflow });
  window.shequProposal = proposal; // for the console and the browser tests, like shequMap
  initBasemap(map);
  initSuggest({ proposal, selected: () => selected, showGroups: (g) => proposal.previewGroups(g),
    name: (code) => data.byCode.get(code)?.properties.name ?? code });
  server.start().catch((err) => status(`登录状态恢复失败：${err.message}`))
    // Work autosaved in this browser comes back after a reload (once the session is known).
    .then(() => proposal.recover())
    .catch((err) => status(`未能恢复自动保存的方案：${err.message}`));
});

for (const b of document.querySelectorAll('aside .close')) {
  b.addEventListener('click', () => {
    b.parentElement.hidden = true;
    if (b.parentElement.id === 'panel') {
      selected = '';
      map.setFilter('selected-line', none);
    }
  });
}

// ---- layer switcher ----------------------------------------------------------------------------

for (const box of document.querySelectorAll('#layers input')) {
  box.addEventListener('change', () => {
    for (const id of box.dataset.layers.split(',')) {
      if (map.getLayer(id)) map.setLayoutProperty(id, 'visibility', box.checked ? 'visible' : 'none');
    }
  });
}

// ---- search ------------------------------------------------------------------------------------

const LEVEL = { town: '镇街', community: '社区', grid: '网格' };

async function pick(result) {
  $('results').hidden = true;
  if (result.feature) {
    const f = result.feature;
    if (f.level === 'community') showCommunity(f.properties.code);
    try {
      flyTo((await withGeometry(f.properties.code)).geometry, f.properties.office);
    } catch (err) {
      status(`位置加载失败：${err.message}`);
    }
  } else {
    flyTo(null, result.point);
    marker.setLngLat(result.point).addTo(map);
  }
}

const marker = new Marker({ color: '#e31a1c' });

$('search').addEventListener('submit', async (e) => {
  e.preventDefault();
  const q = $('q').value.trim();
  if (!q) return;
  const list = $('results');
  list.innerHTML = '<li>搜索中…</li>';
  list.hidden = false;
  const results = [];
  try {
    await loadGrids();
    for (const f of [...data.towns, ...data.communities, ...data.grids]) {
      const p = f.properties;
      if (p.code === q || p.code.startsWith(q) || p.name.includes(q)) {
        results.push({ feature: data.byCode.get(p.code), label: p.name, note: `${LEVEL[data.byCode.get(p.code).level]} ${p.code}` });
        if (results.length >= 20) break;
      }
    }
    const addr = await getJson(`/api/v1/address?q=${encodeURIComponent(q)}&limit=5`);
    for (const m of addr.matches ?? []) {
      results.push({ point: m.point, label: m.address, note: `地址 ${m.community?.name ?? ''}` });
    }
  } catch (err) {
    list.innerHTML = `<li>搜索失败：${esc(err.message)}</li>`;
    return;
  }
  if (!results.length) {
    list.innerHTML = '<li>没有找到匹配的结果</li>';
    return;
  }
  if (results.length === 1) {
    pick(results[0]);
    return;
  }
  list.innerHTML = '';
  for (const r of results) {
    const li = document.createElement('li');
    li.tabIndex = 0;
    li.innerHTML = `${esc(r.label)}<small>${esc(r.note)}</small>`;
    li.addEventListener('click', () => pick(r));
    li.addEventListener('keydown', (k) => { if (k.key === 'Enter') pick(r); });
    list.append(li);
  }
});
document.addEventListener('click', (e) => { if (!$('search').contains(e.target)) $('results').hidden = true; });

// ---- audit view --------------------------------------------------------------------------------

async function showAudit() {
  $('audit').hidden = false;
  // Grid findings are about grids: load them so that a click can zoom to one.
  await loadGrids();
  const features = (await getJson('/api/v1/audit.geojson')).features;
  const byTown = new globalThis.Map();
  features.forEach((f, i) => { f.index = i; });
  for (const f of features) {
    const t = f.properties.town_code ?? '';
    if (!byTown.has(t)) byTown.set(t, []);
    byTown.get(t).push(f);
  }
  const counts = features.reduce((c, f) => ({ ...c, [f.properties.severity]: (c[f.properties.severity] ?? 0) + 1 }), {});
  $('audit-summary').textContent = `共 ${features.length} 条：`
    + Object.entries(counts).map(([s, n]) => `${SEVERITY[s] ?? s} ${n}`).join('，');
  const list = $('audit-list');
  list.innerHTML = '';
  for (const [town, items] of byTown) {
    const d = document.createElement('details');
    d.className = 'town';
    const fails = items.filter((f) => f.properties.severity === 'fail').length;
    d.innerHTML = `<summary>${esc(data.byCode.get(town)?.properties.name ?? (town || '未归属镇街'))}（${items.length} 条，不合格 ${fails}）</summary>`;
    const ul = document.createElement('ul');
    ul.className = 'findings';
    for (const f of items) {
      const li = document.createElement('li');
      li.className = 'clickable';
      li.dataset.index = f.index;
      const subject = data.byCode.get(f.properties.codes[0]);
      li.innerHTML = `${esc(subject?.properties.name ?? f.properties.codes.join('、'))}：${findingItem(f.properties)}`;
      const go = async () => {
        if (subject?.level === 'community') showCommunity(subject.properties.code);
        // A finding's own geometry (overlap, gap) when it has one, else the feature it is about.
        if (f.geometry) flyTo(f.geometry);
        else if (subject) {
          try {
            flyTo((await withGeometry(subject.properties.code)).geometry, subject.properties.office);
          } catch (err) {
            status(`位置加载失败：${err.message}`);
          }
        }
      };
      li.tabIndex = 0;
      li.setAttribute('role', 'button');
      li.addEventListener('click', go);
      li.addEventListener('keydown', (k) => { if (k.key === 'Enter' || k.key === ' ') { k.preventDefault(); go(); } });
      ul.append(li);
    }
    d.append(ul);
    list.append(d);
  }
}

$('audit-toggle').addEventListener('click', () => {
  if ($('audit').hidden) showAudit().catch((err) => { $('audit-summary').textContent = `加载失败：${err.message}`; });
  else $('audit').hidden = true;
});

// ---- start -------------------------------------------------------------------------------------

/**
 * Communities failing a guideline, coloured on the map at every zoom (the findings tiles hold only
 * findings with a geometry of their own): red for a failure, amber for an exception or warning.
 */
function colourGuidelines() {
  const worst = new globalThis.Map();
  const rank = { fail: 2, exception: 1, warn: 1 };
  for (const f of data.findings ?? []) {
    const code = f.codes?.[0];
    if (!f.rule || !data.byCode.has(code) || data.byCode.get(code).level !== 'community') continue;
    worst.set(code, Math.max(worst.get(code) ?? 0, rank[f.severity] ?? 0));
  }
  const codes = (r) => [...worst].filter(([, v]) => v === r).map(([c]) => c);
  const paint = ['case', ['in', ['get', 'code'], ['literal', codes(2)]], '#d7191c',
    ['in', ['get', 'code'], ['literal', codes(1)]], '#9a6700', 'rgba(0,0,0,0)'];
  if (map.getLayer('guideline-fill')) map.setPaintProperty('guideline-fill', 'fill-color', paint);
}

/**
 * Loads the attributes of towns and communities and then the audit findings (as of the history
 * view's day; at start, once the map is drawn: 300 KB the first view does not need); grids on
 * demand.
 */
async function loadData() {
  const [towns, communities] = await Promise.all([
    getJson('/api/v1/towns?skipGeometry=true'), getJson('/api/v1/communities?skipGeometry=true'),
  ]);
  data.byCode.clear();
  data.grids = null;
  data.findings = null;
  data.towns = towns.features;
  data.communities = communities.features;
  index(data.towns, 'town');
  index(data.communities, 'community');
  // What the panel shows may have changed: show the selected community again, or close it.
  const reshow = () => {
    if (selected && data.byCode.has(selected)) showCommunity(selected);
    else if (selected) {
      selected = '';
      map.setFilter('selected-line', none);
      $('panel').hidden = true;
    }
  };
  reshow();
  await firstDraw;
  data.findings = (await getJson('/api/v1/audit')).findings;
  colourGuidelines();
  reshow();
  if (!$('audit').hidden) await showAudit();
}

try {
  await loadData();
} catch (err) {
  status(`数据加载失败：${err.message}`);
}
