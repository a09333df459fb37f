// The proposal editor: split a community by a line, assemble parts from its grids, or draw free
// polygons; a form per part; undo/redo over whole proposal states; save to and load from a
// GeoJSON file (the proposal FeatureCollection the API accepts); live validation.
import { $, esc, fmt, getJson, postJson, status, bbox } from '/web/util.js';
import { createDraw } from '/web/draw.js';
import { createValidator } from '/web/validation.js';

const COLORS = ['#1f78b4', '#33a02c', '#ff7f00', '#6a3d9a', '#b15928', '#e7298a'];
const letter = (i) => String.fromCharCode(65 + i);
const KINDS = { split: '拆分', merge: '合并', adjust: '调整', new: '新设' };
const FIELDS = ['name', 'workers', 'office_area_m2', 'office', 'justification'];
const EMPTY = { type: 'FeatureCollection', features: [] };

/** A fresh proposal state. `tool`: 'line' | 'grids' | 'polygon' | 'file' (loaded, not redrawn). */
function blank(tool = null) {
  return { tool, title: '', kind: tool === 'polygon' ? 'new' : 'split', parents: [], line: null, groups: {}, partCount: 2, parts: [] };
}

/** A part with the given server/file properties; `touched` lists fields the user typed. */
const part = (props, geometry) => ({
  name: props.name ?? '', workers: props.workers ?? 0, office_area_m2: props.office_area_m2 ?? 0,
  office: props.office ?? null, justification: props.justification ?? '', kind: props.kind ?? null,
  geometry, touched: {},
});

export function initProposal({ map, data, loadGrids, flyTo, selected, onOpened = () => {} }) {
  let state = blank();
  // The stored proposal being edited ({id, status, town_code, …} from the server), or null.
  let opened = null;
  const history = [];
  let at = -1;
  let picking = null; // index of the part whose office the next map click sets
  let current = 1; // part that grid clicks paint into
  let splitRequest = null;
  let gridFeatures = [];

  // ---- map layers ------------------------------------------------------------------------------

  const validator = createValidator({
    map,
    fitBounds: (b) => map.fitBounds([[b[0], b[1]], [b[2], b[3]]], { padding: 80, maxZoom: 17 }),
    partGeometry: (i) => state.parts[i]?.geometry,
  });
  const color = ['to-color', ['at', ['%', ['get', 'part'], COLORS.length], ['literal', COLORS]]];
  map.addSource('paint-grids', { type: 'geojson', data: EMPTY });
  map.addSource('proposal', { type: 'geojson', data: EMPTY });
  map.addSource('offices', { type: 'geojson', data: EMPTY });
  map.addLayer({ id: 'paint-grids-fill', type: 'fill', source: 'paint-grids',
    paint: { 'fill-color': color, 'fill-opacity': 0.45 } });
  map.addLayer({ id: 'paint-grids-line', type: 'line', source: 'paint-grids', paint: { 'line-color': '#333', 'line-width': 0.8 } });
  map.addLayer({ id: 'proposal-fill', type: 'fill', source: 'proposal', paint: { 'fill-color': color, 'fill-opacity': 0.3 } });
  map.addLayer({ id: 'proposal-line', type: 'line', source: 'proposal', paint: { 'line-color': color, 'line-width': 3 } });
  map.addLayer({ id: 'offices', type: 'circle', source: 'offices',
    paint: { 'circle-radius': 7, 'circle-color': color, 'circle-stroke-color': '#fff', 'circle-stroke-width': 2 } });
  // Offending areas above the parts.
  map.moveLayer('offending-fill');
  map.moveLayer('offending-line');

  // Vertices of free polygons snap to the boundaries of communities and grids near the pointer.
  const boxes = new WeakMap();
  const boxOf = (f) => {
    if (!boxes.has(f)) boxes.set(f, bbox(f.geometry));
    return boxes.get(f);
  };
  const snapRings = (lon, lat, reach) => {
    const out = [];
    for (const f of [...data.communities, ...(data.grids ?? [])]) {
      const b = boxOf(f);
      if (!b || lon < b[0] - reach || lon > b[2] + reach || lat < b[1] - reach || lat > b[3] + reach) continue;
      const polys = f.geometry.type === 'Polygon' ? [f.geometry.coordinates] : f.geometry.coordinates;
      for (const p of polys) out.push(...p);
    }
    return out;
  };
  const draw = createDraw(map, {
    snapRings,
    onLine: (line) => { state.line = line; commit(); splitByLine(); },
    onPolygons: (features) => {
      const old = state.parts;
      state.parts = features.map((f, i) => ({ ...(old[i] ?? part({ name: `新社区${letter(i)}` })), geometry: f.geometry }));
      commit();
      renderParts();
      update();
    },
  });

  // ---- the proposal as the API takes it --------------------------------------------------------

  function proposalJson() {
    return {
      type: 'FeatureCollection',
      proposal: { kind: state.kind, title: state.title || '未命名方案', parents: state.parents },
      features: state.parts.map((p) => ({
        type: 'Feature',
        geometry: p.geometry,
        properties: {
          name: p.name, workers: Number(p.workers), office_area_m2: Number(p.office_area_m2),
          ...(p.office ? { office: p.office } : {}), ...(p.kind ? { kind: p.kind } : {}),
          ...(p.justification.trim() ? { justification: p.justification.trim() } : {}),
        },
      })),
    };
  }

  /** Redraws the parts, offices and painted grids. */
  function paint() {
    const drawn = state.parts.map((p, i) => ({ type: 'Feature', geometry: p.geometry, properties: { part: i } }))
      .filter((f) => f.geometry && state.tool !== 'polygon');
    map.getSource('proposal').setData({ type: 'FeatureCollection', features: drawn });
    map.getSource('offices').setData({ type: 'FeatureCollection', features: state.parts
      .map((p, i) => p.office && { type: 'Feature', geometry: { type: 'Point', coordinates: p.office }, properties: { part: i } })
      .filter(Boolean) });
    map.getSource('paint-grids').setData(state.tool === 'grids' ? {
      type: 'FeatureCollection',
      features: gridFeatures.map((g) => ({ ...g, properties: { code: g.properties.code, part: state.groups[g.properties.code] ?? 0 } })),
    } : EMPTY);
  }

  /** Redraws and validates again (debounced). */
  function update() {
    paint();
    const ready = state.parts.length && state.parts.every((p) => p.geometry);
    if (ready) validator.schedule(proposalJson());
    else validator.clear(hintFor());
  }

  function hintFor() {
    if (state.tool === 'line') return '在地图上从社区外开始逐点画线，穿过社区后在社区外再次点击最后一点结束。';
    if (state.tool === 'grids') return `点击网格把它划入当前部分（${letter(current)}）；每个部分至少要有一个网格。`;
    if (state.tool === 'polygon') return '在地图上逐点绘制多边形，点击起点闭合；顶点可拖动，靠近已有边界时自动吸附。';
    return '';
  }

  // ---- history ---------------------------------------------------------------------------------

  function commit() {
    history.splice(at + 1);
    history.push(JSON.stringify(state));
    at = history.length - 1;
    renderButtons();
  }

  /** Replaces the current history entry (a server answer completing the last edit). */
  function amend() {
    history[at] = JSON.stringify(state);
  }

  async function restore(to) {
    at = to;
    const tool = state.tool;
    const community = state.parents[0];
    state = JSON.parse(history[at]);
    if (state.tool === 'grids' && (tool !== 'grids' || community !== state.parents[0])) await loadGridFeatures();
    draw.show(state.tool === 'line' ? state.line : null,
      state.tool === 'polygon' ? state.parts.map((p) => p.geometry).filter(Boolean) : []);
    draw.setMode(state.tool === 'line' ? 'linestring' : state.tool === 'polygon' ? 'polygon' : 'static');
    renderAll();
  }

  // ---- server helpers ----------------------------------------------------------------------------

  /** Applies a split proposal from the server, keeping what the user typed into the forms. */
  function applySplit(fc) {
    state.title ||= fc.proposal.title;
    state.parts = fc.features.map((f, i) => {
      const fresh = part(f.properties, f.geometry);
      const old = state.parts[i];
      if (old) for (const k of FIELDS) if (old.touched[k]) { fresh[k] = old[k]; fresh.touched[k] = true; }
      return fresh;
    });
  }

  async function requestSplit(body) {
    splitRequest?.abort();
    validator.hold();
    const controller = new AbortController();
    splitRequest = controller;
    try {
      applySplit(await postJson('/api/v1/proposals/split', body, controller.signal));
      amend();
      renderParts();
      update();
    } catch (err) {
      if (err.name === 'AbortError') return;
      state.parts = [];
      amend();
      renderParts();
      validator.clear();
      $('validation').innerHTML = `<p id="verdict" class="error" data-verdict="error">无法生成方案：${esc(err.message)}</p>`;
      $('validation').dataset.state = 'error';
    }
  }

  function splitByLine() {
    requestSplit({ community: state.parents[0], line: state.line });
  }

  function splitByGroups() {
    const groups = Array.from({ length: state.partCount }, () => []);
    for (const g of gridFeatures) groups[state.groups[g.properties.code] ?? 0].push(g.properties.code);
    if (groups.some((g) => !g.length)) {
      state.parts = [];
      amend();
      renderParts();
      update();
      return;
    }
    requestSplit({ community: state.parents[0], groups });
  }

  async function loadGridFeatures() {
    const fc = await getJson(`/api/v1/grids?community=${encodeURIComponent(state.parents[0])}`);
    gridFeatures = fc.features;
  }

  // ---- tools ---------------------------------------------------------------------------------------

  async function startTool(tool) {
    const parent = selected();
    if ((tool === 'line' || tool === 'grids') && !parent) {
      $('proposal-hint').textContent = '请先在地图上点击要拆分的社区，再选择此工具。';
      return;
    }
    state = blank(tool);
    if (parent) state.parents = [parent];
    // A new drawing is a new proposal (saving it creates one on the server).
    if (opened) { opened = null; onOpened(null); }
    current = 1;
    draw.clear();
    if (tool === 'grids') {
      try {
        await loadGridFeatures();
      } catch (err) {
        $('proposal-hint').textContent = `网格加载失败：${err.message}`;
        return;
      }
    }
    if (tool === 'polygon') await loadGrids().catch((err) => status(`网格加载失败：${err.message}`));
    draw.setMode(tool === 'line' ? 'linestring' : tool === 'polygon' ? 'polygon' : 'static');
    commit();
    renderAll();
  }

  map.on('click', 'paint-grids-fill', (e) => {
    if (state.tool !== 'grids' || picking != null) return;
    const code = e.features[0]?.properties.code;
    if (!code) return;
    // Clicking a grid already in the current part gives it back to part A.
    state.groups[code] = (state.groups[code] ?? 0) === current ? 0 : current;
    commit();
    renderMeta();
    paint();
    splitByGroups();
  });

  map.on('click', (e) => {
    if (picking == null) return;
    const p = state.parts[picking];
    picking = null;
    map.getCanvas().style.cursor = '';
    if (!p) return;
    p.office = [Number(e.lngLat.lng.toFixed(7)), Number(e.lngLat.lat.toFixed(7))];
    p.touched.office = true;
    commit();
    renderParts();
    update();
  });

  // ---- panel ----------------------------------------------------------------------------------------

  function renderButtons() {
    $('undo').disabled = at <= 0;
    $('redo').disabled = at >= history.length - 1;
    for (const b of document.querySelectorAll('#proposal [data-tool]')) b.classList.toggle('active', b.dataset.tool === state.tool);
  }

  function renderMeta() {
    const parentNames = state.parents.map((c) => data.byCode.get(c)?.properties.name ?? c).join('、');
    $('p-title').value = state.title;
    $('p-kind').value = state.kind;
    $('p-kind').disabled = state.tool === 'line' || state.tool === 'grids';
    $('p-parents').value = state.parents.join(',');
    $('p-parents').disabled = state.tool === 'line' || state.tool === 'grids';
    $('proposal-hint').textContent = state.tool ? `${parentNames ? `原社区：${parentNames}。` : ''}${hintFor()}` : '选择一种方式开始绘制方案，或打开已保存的方案文件。';
    const picker = $('part-picker');
    picker.hidden = state.tool !== 'grids';
    if (state.tool === 'grids') {
      const counts = Array(state.partCount).fill(0);
      for (const g of gridFeatures) counts[state.groups[g.properties.code] ?? 0] += 1;
      picker.innerHTML = '当前部分：' + counts.map((n, i) => `<button type="button" data-part="${i}" class="${i === current ? 'active' : ''}"`
        + ` style="border-color:${COLORS[i % COLORS.length]}">${letter(i)}（${n}）</button>`).join('')
        + (state.partCount < COLORS.length ? '<button type="button" data-add>＋ 添加部分</button>' : '');
    }
  }

  function renderParts() {
    const box = $('parts');
    box.innerHTML = '';
    state.parts.forEach((p, i) => {
      const f = document.createElement('fieldset');
      f.className = 'part';
      f.dataset.part = i;
      f.style.borderColor = COLORS[i % COLORS.length];
      f.innerHTML = `<legend>部分 ${letter(i)}</legend>`
        + `<label>名称 <input data-field="name" value="${esc(p.name)}"></label>`
        + `<label>工作人员（人） <input data-field="workers" type="number" min="0" step="1" value="${esc(p.workers)}"></label>`
        + `<label>办公服务用房（m²） <input data-field="office_area_m2" type="number" min="0" step="1" value="${esc(p.office_area_m2)}"></label>`
        + `<div class="office">办公地点：<span>${p.office ? `${fmt(p.office[0], 5)}，${fmt(p.office[1], 5)}` : '未设置'}</span>`
        + ' <button type="button" data-pick>在地图上点选</button></div>'
        + `<label>设置理由（规模超出标准时必填） <textarea data-field="justification" rows="2">${esc(p.justification)}</textarea></label>`;
      box.append(f);
    });
  }

  function renderAll() {
    renderButtons();
    renderMeta();
    renderParts();
    update();
  }

  $('parts').addEventListener('input', (e) => {
    const field = e.target.dataset.field;
    const i = Number(e.target.closest('fieldset')?.dataset.part);
    if (!field || !state.parts[i]) return;
    state.parts[i][field] = e.target.value;
    state.parts[i].touched[field] = true;
    update();
  });
  $('parts').addEventListener('change', (e) => { if (e.target.dataset.field) commit(); });
  $('parts').addEventListener('click', (e) => {
    if (!e.target.matches('[data-pick]')) return;
    picking = Number(e.target.closest('fieldset').dataset.part);
    map.getCanvas().style.cursor = 'crosshair';
    status(`请在地图上点击部分 ${letter(picking)} 的办公地点`);
  });
  $('part-picker').addEventListener('click', (e) => {
    if (e.target.matches('[data-add]')) {
      state.partCount += 1;
      current = state.partCount - 1;
      commit();
    } else if (e.target.dataset.part) {
      current = Number(e.target.dataset.part);
    } else return;
    renderMeta();
    update();
    splitByGroups();
  });
  $('p-title').addEventListener('input', (e) => { state.title = e.target.value; update(); });
  $('p-title').addEventListener('change', commit);
  $('p-kind').addEventListener('change', (e) => { state.kind = e.target.value; commit(); update(); });
  $('p-parents').addEventListener('change', (e) => {
    state.parents = e.target.value.split(/[,，\s]+/).filter(Boolean);
    commit();
    renderMeta();
    update();
  });
  for (const b of document.querySelectorAll('#proposal [data-tool]')) b.addEventListener('click', () => startTool(b.dataset.tool));
  $('undo').addEventListener('click', () => { if (at > 0) restore(at - 1); });
  $('redo').addEventListener('click', () => { if (at < history.length - 1) restore(at + 1); });

  // ---- save and load ---------------------------------------------------------------------------------

  $('save').addEventListener('click', () => {
    if (!state.parts.length) {
      status('方案还没有任何部分，无法保存');
      return;
    }
    const blob = new Blob([JSON.stringify(proposalJson(), null, 2)], { type: 'application/geo+json' });
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = `${state.title || '调整方案'}.geojson`;
    a.click();
    URL.revokeObjectURL(a.href);
  });

  $('load').addEventListener('change', async (e) => {
    const file = e.target.files[0];
    e.target.value = '';
    if (!file) return;
    let fc;
    try {
      fc = JSON.parse(await file.text());
      if (fc?.type !== 'FeatureCollection' || !Array.isArray(fc.features) || !fc.proposal) throw new Error('不是方案文件（需要带 proposal 成员的 GeoJSON FeatureCollection）');
    } catch (err) {
      status(`无法打开 ${file.name}：${err.message}`);
      return;
    }
    opened = null;
    await load(fc);
    onOpened(null);
  });

  /** Puts a proposal FeatureCollection into the editor (polygon parts stay editable). */
  async function load(fc) {
    // Single polygons stay editable with the polygon tool; anything else is shown as loaded.
    const editable = fc.features.every((f) => f.geometry?.type === 'Polygon');
    state = blank(editable ? 'polygon' : 'file');
    const meta = fc.proposal ?? {};
    state.kind = meta.kind ?? 'split';
    state.title = meta.title ?? '';
    state.parents = meta.parents ?? [];
    state.parts = fc.features.map((f) => part(f.properties ?? {}, f.geometry));
    if (editable) await loadGrids().catch((err) => status(`网格加载失败：${err.message}`));
    draw.show(null, editable ? state.parts.map((p) => p.geometry) : []);
    draw.setMode(editable ? 'polygon' : 'static');
    commit();
    renderAll();
    const all = { type: 'GeometryCollection', geometries: state.parts.map((p) => p.geometry).filter(Boolean) };
    flyTo(all);
  }

  // ---- open and close ---------------------------------------------------------------------------------

  $('proposal-toggle').addEventListener('click', () => {
    const panel = $('proposal');
    panel.hidden = !panel.hidden;
    if (panel.hidden) close();
    else if (at < 0) { commit(); renderAll(); } else restore(at);
  });
  $('proposal').querySelector('.close').addEventListener('click', close);

  /** Leaves the editor: nothing drawn or painted; the proposal stays for when it is reopened. */
  function close() {
    draw.setMode('static');
    picking = null;
    $('proposal').hidden = true;
  }

  return {
    /** The proposal as the API takes it, or null while it has no parts. */
    current: () => (state.parts.length && state.parts.every((p) => p.geometry) ? proposalJson() : null),
    /** The stored proposal the editor shows (null: a drawing not yet saved). */
    opened: () => opened,
    /** Shows a stored proposal (`detail` from GET /api/v1/proposals/{id}) in the editor. */
    async open(detail) {
      $('proposal').hidden = false;
      opened = detail;
      await load(detail.proposal);
      onOpened(detail);
    },
    /** Records the server's newer state of the opened proposal (after a save or a step). */
    setOpened(detail) { opened = detail; },
    /** Whether a map click belongs to the editor rather than to the feature panel. */
    capturesClicks: () => !$('proposal').hidden && (picking != null || ['line', 'grids', 'polygon'].includes(state.tool)),
  };
}
