// The proposal editor: split a community by one or several lines (and 按网格取整: the lines'
// pieces turned into whole grids by approval's majority rule), assemble parts from its grids, or
// draw free polygons; a form per part that keeps its values through every edit; undo/redo over
// whole proposal states; save to and load from a GeoJSON file (the proposal FeatureCollection the
// API accepts); live validation. An opened proposal (file or server) is shown read-only, drawn
// exactly as stored, with the communities it changes outlined (变更前/变更后), until 编辑.
import { $, esc, fmt, getJson, postJson, postJsonOffMain, splitAndValidate, startFetcher, status, bbox } from '/web/util.js';
import { MAX_PARTS, FIELDS, part, mergeParts, proposalJson as toProposal } from '/web/parts.js';
import { createDraw } from '/web/draw.js';
import { createValidator } from '/web/validation.js';

// Twelve distinguishable part colours (ColorBrewer Paired, dark first); parts beyond wrap round.
const COLORS = ['#1f78b4', '#33a02c', '#e31a1c', '#ff7f00', '#6a3d9a', '#b15928',
  '#a6cee3', '#b2df8a', '#fb9a99', '#fdbf6f', '#cab2d6', '#e7298a'];
export { MAX_PARTS };
const letter = (i) => String.fromCharCode(65 + i);
const KINDS = { split: '拆分', merge: '合并', adjust: '调整', new: '新设', resurvey: '重新测绘' };
const EMPTY = { type: 'FeatureCollection', features: [] };
const AUTOSAVE = 'shequ-proposal-autosave';

/**
 * A fresh proposal state. `tool`: 'line' | 'grids' | 'polygon' | 'view' (opened: read-only until
 * 编辑). `lines`: the split lines drawn; `groups`: grid code → part index (grids tool).
 */
function blank(tool = null) {
  return { tool, title: '', kind: tool === 'polygon' ? 'new' : 'split', parents: [], lines: [], groups: {}, partCount: 2, parts: [] };
}


/**
 * `data`: the attributes of towns and communities (app.js); `withGeometry(code)`: that feature
 * with its geometry (fetched on demand: the page keeps no whole geometry layers).
 */
export function initProposal({ map, data, withGeometry, flyTo, selected, onOpened = () => {}, onChange = () => {} }) {
  let state = blank();
  // The stored proposal being edited ({id, status, town_code, …} from the server), or null.
  let opened = null;
  const history = [];
  let at = -1;
  let picking = null; // index of the part whose office the next map click sets
  let current = 1; // part that grid clicks paint into
  let splitRequest = null;
  let gridFeatures = [];
  let showBefore = true; // 变更前 outlines (read-only view)
  let showAfter = true; // 变更后 parts
  let dirty = false; // changes not saved to a file or the server

  // ---- map layers ------------------------------------------------------------------------------

  // The request worker loads while the user picks a tool, not after the first line.
  startFetcher();
  const validator = createValidator({
    map,
    fitBounds: (b) => map.fitBounds([[b[0], b[1]], [b[2], b[3]]], { padding: 80, maxZoom: 17 }),
    partGeometry: (i) => state.parts[i]?.geometry,
    partColor: (i) => COLORS[i % COLORS.length],
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
  // 变更前: the communities the proposal changes, outlined (a dark dashed line) under the parts.
  map.addSource('before', { type: 'geojson', data: EMPTY });
  map.addLayer({ id: 'before-line', type: 'line', source: 'before',
    paint: { 'line-color': '#222', 'line-width': 2.5, 'line-dasharray': [3, 2] } }, 'proposal-fill');
  map.addLayer({ id: 'offices', type: 'circle', source: 'offices',
    paint: { 'circle-radius': 7, 'circle-color': color, 'circle-stroke-color': '#fff', 'circle-stroke-width': 2 } });
  // Offending areas above the parts.
  map.moveLayer('offending-fill');
  map.moveLayer('offending-line');

  // Vertices of free polygons snap to the boundaries of communities and grids near the pointer:
  // those meeting the view, fetched with their geometry while the polygon tool is on (communities
  // from zoom 12, grids from zoom 14; at a coarser zoom 12 pixels are too far to snap usefully).
  const snap = { features: [], view: '' };
  async function loadSnapTargets() {
    const z = map.getZoom();
    const b = map.getBounds();
    const view = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((n) => n.toFixed(5)).join(',');
    if (state.tool !== 'polygon' || view === snap.view) return;
    snap.view = view;
    if (z < 12) { snap.features = []; return; }
    const [c, g] = await Promise.all([getJson(`/api/v1/communities?bbox=${view}`),
      z >= 14 ? getJson(`/api/v1/grids?bbox=${view}`) : EMPTY]);
    if (snap.view === view) snap.features = [...c.features, ...g.features].filter((f) => f.geometry);
  }
  const loadSnap = () => loadSnapTargets().catch((err) => status(`吸附用的边界加载失败：${err.message}`));
  map.on('moveend', () => { if (state.tool === 'polygon') loadSnap(); });
  const boxes = new WeakMap();
  const boxOf = (f) => {
    if (!boxes.has(f)) boxes.set(f, bbox(f.geometry));
    return boxes.get(f);
  };
  const snapRings = (lon, lat, reach) => {
    const out = [];
    for (const f of snap.features) {
      const b = boxOf(f);
      if (!b || lon < b[0] - reach || lon > b[2] + reach || lat < b[1] - reach || lat > b[3] + reach) continue;
      const polys = f.geometry.type === 'Polygon' ? [f.geometry.coordinates] : f.geometry.coordinates;
      for (const p of polys) out.push(...p);
    }
    return out;
  };
  const draw = createDraw(map, {
    snapRings,
    onLines: (lines) => { state.lines = lines; commit(); splitByLines(); },
    onPolygons: (features) => {
      const old = state.parts;
      state.parts = features.slice(0, MAX_PARTS)
        .map((f, i) => ({ ...(old[i] ?? part({ name: `新社区${letter(i)}` })), geometry: f.geometry }));
      if (features.length > MAX_PARTS) status(`最多 ${MAX_PARTS} 个部分，多出的图形未计入`);
      commit();
      renderParts();
      update();
    },
  });

  // ---- the proposal as the API takes it --------------------------------------------------------

  function proposalJson() {
    return toProposal(state);
  }

  /** Redraws the parts, offices and painted grids. */
  function paint() {
    const before = state.tool === 'view' && showBefore;
    // 变更前 needs the parents' geometry: fetched once, then drawn.
    const missing = before ? state.parents.filter((c) => data.byCode.has(c) && !data.byCode.get(c).fetched) : [];
    if (missing.length) {
      Promise.all(missing.map(withGeometry)).then(paint, (err) => status(`原社区边界加载失败：${err.message}`));
    }
    map.getSource('before').setData(before ? { type: 'FeatureCollection', features: state.parents
      .map((c) => data.byCode.get(c)).filter((f) => f?.geometry)
      .map((f) => ({ type: 'Feature', geometry: f.geometry, properties: { code: f.properties.code } })) } : EMPTY);
    for (const id of ['proposal-fill', 'proposal-line', 'offices']) {
      if (map.getLayer(id)) map.setLayoutProperty(id, 'visibility', showAfter ? 'visible' : 'none');
    }
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

  /**
   * Redraws and validates again: at once after a drawing step, after a pause while `typing`.
   * After a drawing step the map is redrawn once the report is shown: a software-rendered map
   * frame holds the page for 200–400 ms, and one started before the report's answer came back
   * would hold the verdict for as long (the report and the drawing appear together instead).
   */
  function update(typing = false) {
    onChange();
    const ready = state.parts.length && state.parts.every((p) => p.geometry);
    if (ready && !typing) {
      validator.schedule(proposalJson()).then(paint);
      return;
    }
    paint();
    if (ready) validator.schedule(proposalJson(), typing);
    else validator.clear(hintFor());
  }

  function hintFor() {
    if (state.tool === 'line') {
      return state.lines.length
        ? `已画 ${state.lines.length} 条线。可继续画线再分；“按网格取整”把各块按网格归属（多数面积）改为整网格组合。`
        : '在地图上从社区外开始逐点画线，穿过社区后在社区外再次点击最后一点结束；可画多条线。';
    }
    if (state.tool === 'view') return '方案以只读方式打开，地图上按保存的边界绘制；虚线为变更前的社区。点击“编辑”修改。';
    if (state.tool === 'grids') return `点击网格把它划入当前部分（${letter(current)}）；每个部分至少要有一个网格。`;
    if (state.tool === 'polygon') return '在地图上逐点绘制多边形，点击起点闭合；顶点可拖动，靠近已有边界时自动吸附。';
    return '';
  }

  // ---- history ---------------------------------------------------------------------------------

  function commit() {
    history.splice(at + 1);
    history.push(JSON.stringify(state));
    at = history.length - 1;
    dirty = true;
    renderButtons();
    autosave();
  }

  /** Replaces the current history entry (a server answer completing the last edit). */
  function amend() {
    history[at] = JSON.stringify(state);
    autosave();
  }

  async function restore(to) {
    // An answer still on its way belongs to the state being left.
    splitRequest?.abort();
    at = to;
    const tool = state.tool;
    const community = state.parents[0];
    state = JSON.parse(history[at]);
    // Grid assignments never point past the parts (older saved states, hand-edited files).
    for (const [code, i] of Object.entries(state.groups)) if (!(i >= 0 && i < state.partCount)) state.groups[code] = 0;
    current = Math.min(Math.max(current, 0), state.partCount - 1);
    if (state.tool === 'grids' && (tool !== 'grids' || community !== state.parents[0] || !gridFeatures.length)) {
      await loadGridFeatures().catch((err) => status(`网格加载失败：${err.message}`));
    }
    showDrawing();
    renderAll();
    autosave();
  }

  /** What terra-draw holds for the current tool: the lines, or the free polygons. */
  function showDrawing() {
    const refused = draw.show(state.tool === 'line' ? state.lines : [],
      state.tool === 'polygon' ? state.parts.map((p) => p.geometry).filter(Boolean) : []);
    if (refused.length) status(`有 ${refused.length} 个图形无法编辑：${refused.join('；')}`);
    draw.setMode(state.tool === 'line' ? 'linestring' : state.tool === 'polygon' ? 'polygon' : 'static');
  }

  // ---- server helpers ----------------------------------------------------------------------------

  /** Applies a split proposal from the server, keeping what the user typed into the forms. */
  function applySplit(fc) {
    state.title ||= fc.proposal.title;
    state.parts = mergeParts(fc.features, state.parts);
  }

  /**
   * The parts of the split `body` and their verdict: both requests made by the request worker
   * (the validation of the proposal built from the split answer as applySplit builds it), so the
   * verdict reaches the page in one step however busy the map keeps it; then the map is drawn.
   */
  async function requestSplit(body) {
    splitRequest?.abort();
    validator.hold();
    const controller = new AbortController();
    splitRequest = controller;
    const forms = { kind: state.kind, title: state.title, parents: state.parents,
      parts: state.parts.map((p) => ({ ...p, geometry: null })) };
    try {
      const { split, report } = await splitAndValidate(body, forms, controller.signal);
      applySplit(split);
      validator.show(report);
      onChange();
      amend();
      renderParts();
      paint();
    } catch (err) {
      if (err.name === 'AbortError') return;
      if (err.answer?.split) {
        // The parts came; their validation was refused (shown as a failed validation).
        applySplit(err.answer.split);
        validator.fail(err);
        onChange();
        amend();
        renderParts();
        paint();
        return;
      }
      // The forms stay (with no geometry) for the next attempt.
      state.parts = state.parts.map((p) => ({ ...p, geometry: null }));
      amend();
      renderParts();
      validator.clear();
      $('validation').innerHTML = `<p id="verdict" class="error" data-verdict="error">无法生成方案：${esc(err.message)}</p>`;
      $('validation').dataset.state = 'error';
    }
  }

  /** One line: the parts it cuts. Several: whole grids grouped by the pieces the lines cut. */
  async function splitByLines() {
    if (state.lines.length === 1) {
      requestSplit({ community: state.parents[0], line: state.lines[0] });
      return;
    }
    const groups = await gridGroups();
    if (groups) requestSplit({ community: state.parents[0], groups });
  }

  /** The lines' pieces as whole grids (POST /proposals/grid-groups), or null (shown as an error). */
  async function gridGroups() {
    validator.hold();
    try {
      const answer = await postJsonOffMain('/api/v1/proposals/grid-groups', { community: state.parents[0], lines: state.lines });
      if (answer.groups.length > MAX_PARTS) throw new Error(`这些线把社区分成 ${answer.groups.length} 块，最多 ${MAX_PARTS} 块`);
      return answer.groups;
    } catch (err) {
      validator.clear();
      $('validation').innerHTML = `<p id="verdict" class="error" data-verdict="error">无法按网格分组：${esc(err.message)}</p>`;
      $('validation').dataset.state = 'error';
      return null;
    }
  }

  /** 按网格取整: the drawn lines become a grid grouping, edited further with the grids tool. */
  async function snapToGrids() {
    if (!state.lines.length) return;
    const groups = await gridGroups();
    if (!groups) return;
    const keep = state.parts;
    state = { ...blank('grids'), title: state.title, kind: 'split', parents: state.parents, partCount: groups.length };
    state.parts = keep.slice(0, groups.length).map((p) => ({ ...p, geometry: null }));
    groups.forEach((codes, i) => { for (const c of codes) state.groups[c] = i; });
    current = Math.min(1, groups.length - 1);
    await loadGridFeatures();
    draw.clear();
    draw.setMode('static');
    commit();
    renderAll();
    splitByGroups();
  }

  async function adoptGroups({ title, parents, groups, forms }) {
    if (opened) { opened = null; onOpened(null); }
    state = { ...blank('grids'), title, parents, partCount: Math.min(groups.length, MAX_PARTS) };
    state.parts = forms.slice(0, MAX_PARTS).map((f) => ({ ...part(f), touched: Object.fromEntries(FIELDS.map((k) => [k, true])) }));
    groups.slice(0, MAX_PARTS).forEach((codes, i) => { for (const c of codes) state.groups[c] = i; });
    current = Math.min(1, state.partCount - 1);
    $('proposal').hidden = false;
    await loadGridFeatures();
    draw.clear();
    draw.setMode('static');
    commit();
    renderAll();
    splitByGroups();
  }

  async function previewGroups(groups) {
    if (!groups) { paint(); return; }
    const community = selected();
    const fc = await getJson(`/api/v1/grids?community=${encodeURIComponent(community)}`);
    const index = new globalThis.Map();
    groups.forEach((codes, i) => { for (const c of codes) index.set(c, i); });
    map.getSource('paint-grids').setData({ type: 'FeatureCollection', features: fc.features
      .map((g) => ({ ...g, properties: { code: g.properties.code, part: index.get(g.properties.code) ?? 0 } })) });
  }

  function splitByGroups() {
    const groups = Array.from({ length: state.partCount }, () => []);
    for (const g of gridFeatures) {
      const i = state.groups[g.properties.code] ?? 0;
      groups[i >= 0 && i < state.partCount ? i : 0].push(g.properties.code);
    }
    if (groups.some((g) => !g.length)) {
      // A part without grids: every part keeps its form, none has a geometry yet.
      state.parts = Array.from({ length: state.partCount },
        (_, i) => ({ ...(state.parts[i] ?? part({ name: `新社区${letter(i)}` })), geometry: null }));
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
    draw.setMode(tool === 'line' ? 'linestring' : tool === 'polygon' ? 'polygon' : 'static');
    commit();
    renderAll();
    if (tool === 'polygon') loadSnap();
  }

  /** 编辑 an opened proposal: a split of one community by its grids, else free polygons. */
  async function edit() {
    if (state.tool !== 'view') return;
    const forms = state.parts.map((p) => ({ ...p, touched: Object.fromEntries(FIELDS.map((k) => [k, true])) }));
    if (state.kind === 'split' && state.parents.length === 1) {
      try {
        const { grids } = await postJson('/api/v1/proposals/assignment', proposalJson());
        const counts = Array(state.parts.length).fill(0);
        for (const g of grids) if (g.part != null) counts[g.part] += 1;
        if (grids.every((g) => g.part != null) && counts.every((n) => n > 0) && state.parts.length <= MAX_PARTS) {
          state = { ...blank('grids'), title: state.title, parents: state.parents, partCount: forms.length, parts: forms };
          for (const g of grids) state.groups[g.grid] = g.part;
          current = Math.min(1, forms.length - 1);
          await loadGridFeatures();
          draw.clear();
          draw.setMode('static');
          commit();
          renderAll();
          return;
        }
      } catch (err) {
        status(`无法按网格编辑：${err.message}`);
      }
    }
    if (state.parts.every((p) => p.geometry?.type === 'Polygon' && p.geometry.coordinates.length === 1)) {
      const kept = state;
      state = { ...kept, tool: 'polygon', parts: forms };
      showDrawing();
      commit();
      renderAll();
      loadSnap();
      return;
    }
    status('此方案的部分含多块或带洞的区域，只能按网格编辑（拆分单个社区的方案）');
  }

  map.on('click', 'paint-grids-fill', (e) => {
    if (state.tool !== 'grids' || picking != null) return;
    const code = e.features[0]?.properties.code;
    if (!code) return;
    current = Math.min(current, state.partCount - 1);
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
    $('edit').hidden = state.tool !== 'view';
    $('compare').hidden = state.tool !== 'view';
    $('snap-grids').hidden = state.tool !== 'line';
    $('snap-grids').disabled = !state.lines.length;
    for (const b of document.querySelectorAll('#compare button')) {
      b.classList.toggle('active', (b.dataset.show === 'before' && showBefore && !showAfter)
        || (b.dataset.show === 'after' && showAfter && !showBefore) || (b.dataset.show === 'both' && showBefore && showAfter));
    }
    for (const e of document.querySelectorAll('#p-title, #p-kind, #p-parents')) e.readOnly = state.tool === 'view';
    for (const b of document.querySelectorAll('#proposal [data-tool]')) b.classList.toggle('active', b.dataset.tool === state.tool);
  }

  function renderMeta() {
    const parentNames = state.parents.map((c) => data.byCode.get(c)?.properties.name ?? c).join('、');
    $('p-title').value = state.title;
    $('p-kind').value = state.kind;
    $('p-kind').disabled = ['line', 'grids', 'view'].includes(state.tool);
    $('p-parents').value = state.parents.join(',');
    $('p-parents').disabled = ['line', 'grids', 'view'].includes(state.tool);
    $('proposal-hint').textContent = state.tool ? `${parentNames ? `原社区：${parentNames}。` : ''}${hintFor()}` : '选择一种方式开始绘制方案，或打开已保存的方案文件。';
    const picker = $('part-picker');
    picker.hidden = state.tool !== 'grids';
    if (state.tool === 'grids') {
      const counts = Array(state.partCount).fill(0);
      for (const g of gridFeatures) counts[state.groups[g.properties.code] ?? 0] += 1;
      picker.innerHTML = '当前部分：' + counts.map((n, i) => `<button type="button" data-part="${i}" class="${i === current ? 'active' : ''}"`
        + ` style="border-color:${COLORS[i % COLORS.length]}">${letter(i)}（${n}）</button>`).join('')
        + (state.partCount < MAX_PARTS ? '<button type="button" data-add>＋ 添加部分</button>' : '')
        + (state.partCount > 2 ? '<button type="button" data-remove>－ 删除最后一个部分</button>' : '');
    }
  }

  function renderParts() {
    const box = $('parts');
    box.innerHTML = '';
    const ro = state.tool === 'view' ? ' readonly' : '';
    state.parts.forEach((p, i) => {
      const f = document.createElement('fieldset');
      f.className = 'part';
      f.dataset.part = i;
      f.style.borderColor = COLORS[i % COLORS.length];
      f.innerHTML = `<legend>部分 ${letter(i)}${p.geometry ? '' : '（尚无范围）'}</legend>`
        + `<label>名称 <input data-field="name"${ro} value="${esc(p.name)}"></label>`
        + `<label>工作人员（人） <input data-field="workers"${ro} type="number" min="0" step="1" value="${esc(p.workers)}"></label>`
        + `<label>办公服务用房（m²） <input data-field="office_area_m2"${ro} type="number" min="0" step="1" value="${esc(p.office_area_m2)}"></label>`
        + `<div class="office">办公地点：<span>${p.office ? `${fmt(p.office[0], 5)}，${fmt(p.office[1], 5)}` : '未设置'}</span>`
        + (ro ? '</div>' : ' <button type="button" data-pick>在地图上点选</button></div>')
        + `<label>设置理由（规模超出标准时必填） <textarea data-field="justification"${ro} rows="2">${esc(p.justification)}</textarea></label>`;
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
    if (!field || !state.parts[i] || state.tool === 'view') return;
    state.parts[i][field] = e.target.value;
    state.parts[i].touched[field] = true;
    update(true);
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
      if (state.partCount >= MAX_PARTS) return;
      state.partCount += 1;
      current = state.partCount - 1;
      commit();
    } else if (e.target.matches('[data-remove]')) {
      // The last part's grids go back to part A; its form is dropped.
      const last = state.partCount - 1;
      for (const [code, i] of Object.entries(state.groups)) if (i === last) state.groups[code] = 0;
      state.partCount = last;
      state.parts = state.parts.slice(0, last);
      current = Math.min(current, last - 1);
      commit();
    } else if (e.target.dataset.part) {
      current = Number(e.target.dataset.part);
    } else return;
    renderMeta();
    update();
    splitByGroups();
  });
  $('p-title').addEventListener('input', (e) => { state.title = e.target.value; update(true); });
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
  $('edit').addEventListener('click', () => { edit(); });
  $('snap-grids').addEventListener('click', () => { snapToGrids(); });
  $('compare').addEventListener('click', (e) => {
    const show = e.target.dataset.show;
    if (!show) return;
    showBefore = show !== 'after';
    showAfter = show !== 'before';
    renderButtons();
    paint();
  });
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
    markSaved();
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

  /** Puts a proposal FeatureCollection into the editor, read-only (drawn exactly) until 编辑. */
  async function load(fc) {
    splitRequest?.abort();
    state = blank('view');
    const meta = fc.proposal ?? {};
    state.kind = meta.kind ?? 'split';
    state.title = meta.title ?? '';
    state.parents = meta.parents ?? [];
    state.parts = fc.features.map((f) => part(f.properties ?? {}, f.geometry));
    showBefore = true;
    showAfter = true;
    draw.clear();
    draw.setMode('static');
    commit();
    markSaved();
    renderAll();
    const all = { type: 'GeometryCollection', geometries: state.parts.map((p) => p.geometry).filter(Boolean) };
    flyTo(all);
  }

  // ---- exports: CSV of the grid assignment, print view ------------------------------------------------

  $('csv').addEventListener('click', async () => {
    if (!state.parts.length || !state.parts.every((p) => p.geometry)) {
      status('方案还没有完整的部分，无法导出网格归属');
      return;
    }
    try {
      const { grids } = await postJson('/api/v1/proposals/assignment', proposalJson());
      const cell = (v) => (/[",\n]/.test(String(v ?? '')) ? `"${String(v).replace(/"/g, '""')}"` : String(v ?? ''));
      const rows = [['网格编码', '网格名称', '原社区编码', '户数', '人口', '归属部分', '归属社区名称', '面积占比'],
        ...grids.map((g) => [g.grid, g.name, g.parent, g.households, g.residents,
          g.part == null ? '' : letter(g.part), g.part == null ? '（无部分过半）' : state.parts[g.part]?.name, g.share])];
      // A byte-order mark so that spreadsheet programs read the Chinese as UTF-8.
      const blob = new Blob(['\ufeff' + rows.map((r) => r.map(cell).join(',')).join('\r\n') + '\r\n'], { type: 'text/csv;charset=utf-8' });
      const a = document.createElement('a');
      a.href = URL.createObjectURL(blob);
      a.download = `${state.title || '调整方案'}-网格归属.csv`;
      a.click();
      URL.revokeObjectURL(a.href);
    } catch (err) {
      status(`导出失败：${err.message}`);
    }
  });

  $('print').addEventListener('click', () => {
    // The map's picture is read right after a frame is drawn (the WebGL buffer is not kept).
    map.once('render', () => {
      const picture = map.getCanvas().toDataURL('image/png');
      const legend = state.parts.map((p, i) => `<li><span class="swatch" style="background:${COLORS[i % COLORS.length]}"></span>`
        + `部分 ${letter(i)}：${esc(p.name)}</li>`).join('')
        + (state.tool === 'view' ? '<li><span class="swatch dashed"></span>变更前的社区边界</li>' : '');
      const table = document.querySelector('#validation table.before-after')?.outerHTML ?? '<p>（尚无校验结果）</p>';
      const verdict = $('verdict')?.textContent ?? '';
      const events = document.querySelector('#workflow ol.events')?.outerHTML ?? '<p>（未保存到服务器，无办理记录）</p>';
      $('print-view').innerHTML = `<h1>${esc(state.title || '调整方案')}</h1>`
        + `<p>原社区：${esc(state.parents.map((c) => data.byCode.get(c)?.properties.name ?? c).join('、'))}；${esc(verdict)}`
        + `${opened ? `；服务器方案 #${opened.id}` : ''}</p>`
        + `<img class="print-map" alt="方案地图" src="${picture}">`
        + `<h2>图例</h2><ul class="legend">${legend}</ul>`
        + `<h2>调整前后对比</h2>${table}<h2>办理记录</h2>${events}`;
      window.print();
    });
    map.triggerRepaint();
  });

  // ---- open and close ---------------------------------------------------------------------------------

  $('proposal-toggle').addEventListener('click', () => {
    const panel = $('proposal');
    panel.hidden = !panel.hidden;
    if (panel.hidden) close();
    else if (at < 0) { commit(); renderAll(); } else restore(at);
    // The community being edited moves clear of the editor.
    const code = state.parents[0] ?? selected();
    if (!panel.hidden && code) {
      withGeometry(code).then((c) => { if (c?.geometry && !panel.hidden) flyTo(c.geometry); },
        (err) => status(`社区边界加载失败：${err.message}`));
    }
  });
  $('proposal').querySelector('.close').addEventListener('click', close);

  /** Leaves the editor: nothing drawn or painted; the proposal stays for when it is reopened. */
  function close() {
    draw.setMode('static');
    picking = null;
    $('proposal').hidden = true;
  }

  // ---- autosave ----------------------------------------------------------------------------------

  /** The work in this browser (localStorage), restored after a reload; cleared when saved. */
  function autosave() {
    if (!state.tool || (!state.parts.length && !state.lines.length && !Object.keys(state.groups).length)) return;
    try {
      localStorage.setItem(AUTOSAVE, JSON.stringify({ state, opened: opened?.id ?? null, dirty, at: Date.now() }));
    } catch {
      // Storage full or disabled: the work is still on the page.
    }
  }

  /** Records that the current work is saved (file or server): leaving no longer warns. */
  function markSaved() {
    dirty = false;
    autosave();
  }

  addEventListener('beforeunload', (e) => {
    if (!dirty) return;
    e.preventDefault();
    e.returnValue = '';
  });

  /** Restores the autosaved work, if any (returns whether it did). */
  async function recover() {
    let saved;
    try {
      saved = JSON.parse(localStorage.getItem(AUTOSAVE) ?? 'null');
    } catch {
      saved = null;
    }
    if (!saved?.state?.tool) return false;
    state = { ...blank(), ...saved.state };
    dirty = !!saved.dirty;
    history.length = 0;
    history.push(JSON.stringify(state));
    at = 0;
    if (saved.opened != null) {
      try {
        opened = await getJson(`/api/v1/proposals/${saved.opened}`);
      } catch {
        opened = null;
      }
    }
    $('proposal').hidden = false;
    await restore(0);
    onOpened(opened);
    status(dirty ? '已恢复上次未保存的方案' : '已恢复上次打开的方案');
    return true;
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
    setOpened(detail) { opened = detail; markSaved(); },
    /** Starts a grid proposal from `groups` of grid codes, with `forms` (part properties). */
    adoptGroups,
    /** Shows grid `groups` (codes per part) on the map without changing the proposal (null: none). */
    previewGroups,
    /** Restores work autosaved in this browser (after a reload). */
    recover,
    /** Whether there are changes not saved to a file or to the server. */
    dirty: () => dirty,
    /** The proposal state, for the target bar, the print view and the tests. */
    state: () => state,
    /** The colour of part `i` on the map. */
    color: (i) => COLORS[i % COLORS.length],
    /** How many lines and polygons terra-draw holds. */
    drawn: () => draw.counts(),
    /** Whether a map click belongs to the editor rather than to the feature panel. */
    capturesClicks: () => !$('proposal').hidden && (picking != null || ['line', 'grids', 'polygon'].includes(state.tool)),
  };
}
