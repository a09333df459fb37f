// The basemap switch (底图): none, 天地图 vector + labels, or 天地图 imagery + labels. Tiles come
// from the server's proxy (`/basemap/{layer}/{z}/{x}/{y}`), which holds the Tianditu key; the page
// never sees it. `/basemap` says whether a key is configured and gives the attribution (天地图 and
// its 审图号), shown under the map while a basemap is on. Without a key the options are disabled
// and a note says why.
import { $, getJson } from '/web/util.js';

// Choice → the proxy's layers, bottom first.
const CHOICES = { vec: ['vec', 'cva'], img: ['img', 'cia'] };
const SOURCE = (layer) => `basemap-${layer}`;

/** Sets up the switch for `map`; resolves once it knows whether a basemap is available. */
export async function initBasemap(map) {
  const select = $('basemap');
  const note = $('basemap-note');
  const attribution = $('basemap-attribution');
  let info;
  try {
    info = await getJson('/basemap');
  } catch (err) {
    info = { available: false, why: err.message };
  }
  select.dataset.available = String(!!info.available);
  if (!info.available) {
    for (const o of select.options) if (o.value) { o.disabled = true; o.textContent += '（不可用）'; }
    note.textContent = info.why
      ? `底图不可用：${info.why}`
      : '底图不可用：服务器未配置天地图密钥，请联系系统管理员。';
    note.hidden = false;
    return;
  }

  const show = (choice) => {
    for (const layers of Object.values(CHOICES)) {
      for (const l of layers) {
        if (map.getLayer(SOURCE(l))) map.removeLayer(SOURCE(l));
        if (map.getSource(SOURCE(l))) map.removeSource(SOURCE(l));
      }
    }
    attribution.hidden = !choice;
    select.dataset.shown = choice;
    if (!choice) return;
    attribution.textContent = info.attribution;
    // Over the style's background colour, under everything else it draws.
    const first = map.getStyle().layers.find((l) => l.type !== 'background')?.id;
    for (const l of CHOICES[choice]) {
      map.addSource(SOURCE(l), {
        type: 'raster', tileSize: 256, minzoom: info.minzoom ?? 1, maxzoom: info.maxzoom ?? 18,
        tiles: [`${location.origin}/basemap/${l}/{z}/{x}/{y}`],
      });
      map.addLayer({ id: SOURCE(l), type: 'raster', source: SOURCE(l) }, first);
    }
  };
  select.addEventListener('change', () => {
    localStorage.setItem('shequ.basemap', select.value);
    show(select.value);
  });
  const saved = localStorage.getItem('shequ.basemap') ?? '';
  if (CHOICES[saved]) {
    select.value = saved;
    if (map.isStyleLoaded()) show(saved);
    else map.once('load', () => show(saved));
  }
}
