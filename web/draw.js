// Drawing on the map with terra-draw (vendored UMD builds, loaded by index.html as the globals
// `terraDraw` and `terraDrawMaplibreGlAdapter`): a split line, and free polygons whose vertices
// can be dragged and snap to existing community and grid boundaries.

const { TerraDraw, TerraDrawLineStringMode, TerraDrawPolygonMode } = globalThis.terraDraw;
const { TerraDrawMapLibreGLAdapter } = globalThis.terraDrawMaplibreGlAdapter;

const SNAP_PX = 12;
// terra-draw refuses (silently, in addFeatures' answer) coordinates with more decimals than its
// coordinatePrecision (9 by default): server geometry (15 decimals) is rounded to it first.
export const PRECISION = 9;
const roundCoordinates = (c) => (typeof c[0] === 'number'
  ? c.map((n) => Number(n.toFixed(PRECISION)))
  : c.map(roundCoordinates));
/** `geometry` with coordinates rounded to what terra-draw keeps. */
export const roundGeometry = (g) => ({ type: g.type, coordinates: roundCoordinates(g.coordinates) });

/** The point of segment a–b nearest to p (all in screen pixels). */
function nearestOnSegment(p, a, b) {
  const dx = b.x - a.x;
  const dy = b.y - a.y;
  const len2 = dx * dx + dy * dy;
  const t = len2 ? Math.max(0, Math.min(1, ((p.x - a.x) * dx + (p.y - a.y) * dy) / len2)) : 0;
  return { x: a.x + t * dx, y: a.y + t * dy, t };
}

/**
 * Snaps a pointer to the nearest vertex of `rings()` within SNAP_PX, else to the nearest point on
 * an edge. `rings()` returns the candidate rings ([[lon, lat], …]) near the map's view.
 */
function snapper(map, rings) {
  return (event) => {
    const p = map.project([event.lng, event.lat]);
    const reach = map.unproject([p.x + SNAP_PX, p.y]).lng - event.lng;
    let vertex = null;
    let edge = null;
    let vertexD = SNAP_PX;
    let edgeD = SNAP_PX;
    for (const ring of rings(event.lng, event.lat, reach)) {
      let prev = null;
      let prevPx = null;
      for (const c of ring) {
        const cPx = map.project(c);
        const d = Math.hypot(cPx.x - p.x, cPx.y - p.y);
        if (d < vertexD) { vertexD = d; vertex = c; }
        if (prev) {
          const q = nearestOnSegment(p, prevPx, cPx);
          const e = Math.hypot(q.x - p.x, q.y - p.y);
          if (e < edgeD) {
            edgeD = e;
            edge = [prev[0] + q.t * (c[0] - prev[0]), prev[1] + q.t * (c[1] - prev[1])];
          }
        }
        prev = c;
        prevPx = cPx;
      }
    }
    return vertex ?? edge ?? undefined;
  };
}

/**
 * terra-draw on `map`. `snapRings(lon, lat, reach)` gives the boundary rings to snap polygon
 * vertices to; `onLines(lines)` is called with every drawn line when one is finished,
 * `onPolygons(features)` whenever a polygon is finished or edited.
 */
export function createDraw(map, { snapRings, onLines, onPolygons }) {
  const draw = new TerraDraw({
    adapter: new TerraDrawMapLibreGLAdapter({ map }),
    modes: [
      new TerraDrawLineStringMode({
        styles: { lineStringColor: '#e31a1c', lineStringWidth: 3, closingPointColor: '#e31a1c' },
      }),
      new TerraDrawPolygonMode({
        editable: true,
        snapping: { toCustom: snapper(map, snapRings), toCoordinate: true },
        styles: { fillColor: '#1f78b4', fillOpacity: 0.2, outlineColor: '#1f78b4', outlineWidth: 2 },
      }),
    ],
  });
  draw.start();
  const polygons = () => draw.getSnapshot().filter((f) => f.properties.mode === 'polygon' && f.geometry.type === 'Polygon');
  const lines = () => draw.getSnapshot().filter((f) => f.properties.mode === 'linestring' && f.geometry.type === 'LineString')
    .map((f) => f.geometry.coordinates);
  draw.on('finish', (id, context) => {
    if (context.mode === 'linestring') {
      onLines(lines());
    } else if (context.mode === 'polygon') {
      onPolygons(polygons());
    }
  });
  return {
    /** 'linestring', 'polygon' or 'static' (no drawing). */
    setMode(mode) { draw.setMode(mode); },
    /**
     * Replaces what is drawn: lines ([[lon, lat], …] each) and polygon geometries, rounded to
     * terra-draw's precision. Returns the reasons of the features terra-draw refused (none expected).
     */
    show(lineList, polygonGeometries) {
      draw.clear();
      const features = [];
      for (const line of lineList) {
        features.push({ type: 'Feature', geometry: roundGeometry({ type: 'LineString', coordinates: line }), properties: { mode: 'linestring' } });
      }
      for (const g of polygonGeometries) features.push({ type: 'Feature', geometry: roundGeometry(g), properties: { mode: 'polygon' } });
      if (!features.length) return [];
      return draw.addFeatures(features).filter((r) => !r.valid).map((r) => r.reason ?? '无效');
    },
    /** How many features of each mode terra-draw holds. */
    counts() {
      const all = draw.getSnapshot();
      return { linestring: all.filter((f) => f.properties.mode === 'linestring').length,
        polygon: all.filter((f) => f.properties.mode === 'polygon').length };
    },
    clear() { draw.clear(); },
  };
}
