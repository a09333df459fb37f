//! Descriptions of the tile set: the catalog, TileJSON 3.0.0 per layer and a MapLibre style.
//!
//! URLs are absolute (built from `base`, the server's public origin) because MapLibre does not
//! resolve relative tile URLs.

use geo::BoundingRect;
use serde_json::{Value, json};

use super::layers::TileLayer;
use super::tile_id::MAX_ZOOM;
use crate::registry::Registry;

/// Configurable parts of the style.
#[derive(Debug, Clone, Default)]
pub struct StyleOptions {
    /// Raster basemap URL template (`{z}/{x}/{y}`), e.g. 天地图; none by default, so the style
    /// depends on nothing outside this server for its geometry.
    pub basemap: Option<String>,
    /// Glyph (font) URL template for labels. A MapLibre client draws no text without one (MapLibre
    /// Native fails on it), and the server ships no glyphs (fonts need a licence and a
    /// generator), so without this the style has no text layer; see [`style`].
    pub glyphs: Option<String>,
}

/// `[west, south, east, north]` of everything in the registry (the whole world when empty).
pub fn city_bounds(registry: &Registry) -> [f64; 4] {
    let world = [-180.0, -85.0511, 180.0, 85.0511];
    let mut rects = registry.towns.iter().filter_map(|t| t.area.bounding_rect());
    let Some(first) = rects.next() else {
        return world;
    };
    rects.fold(
        [first.min().x, first.min().y, first.max().x, first.max().y],
        |[w, s, e, n], r| {
            [
                w.min(r.min().x),
                s.min(r.min().y),
                e.max(r.max().x),
                n.max(r.max().y),
            ]
        },
    )
}

fn tile_url(base: &str, layers: &str) -> String {
    format!("{base}/tiles/{layers}/{{z}}/{{x}}/{{y}}.mvt")
}

/// A layer's id, description and zoom range, as TileJSON and the catalog list it.
fn summary(layer: TileLayer) -> Value {
    let spec = layer.spec();
    json!({
        "id": spec.name,
        "description": spec.description,
        "minzoom": spec.minzoom,
        "maxzoom": spec.maxzoom,
    })
}

fn vector_layer(layer: TileLayer) -> Value {
    let fields: serde_json::Map<String, Value> = layer
        .spec()
        .fields
        .iter()
        .map(|&(k, t)| (k.to_owned(), Value::from(t)))
        .collect();
    let mut v = summary(layer);
    v["fields"] = Value::from(fields);
    v
}

/// Who the tiles come from, as TileJSON's `attribution` says it (shown by map clients).
pub const ATTRIBUTION: &str = "shequ community boundary registry";

/// The zoom a client opens a tile set at when it has no view of its own: 10 (the city in a
/// window), raised to the set's `minzoom` (TileJSON 3.0.0 §3.6: `center`'s zoom lies between
/// `minzoom` and `maxzoom`; the grids start at 12).
const CENTER_ZOOM: u8 = 10;

/// TileJSON 3.0.0 of one layer (or of a composite `a,b`). `version` is the semantic version
/// TileJSON asks for: the stored registry version as its minor number (`1.<v>.0`; `1.0.0` when
/// served from files), so a client caching tiles sees a new version after an approval.
pub fn tilejson(
    registry: &Registry,
    base: &str,
    layers: &[TileLayer],
    registry_version: Option<i64>,
) -> Value {
    let names: Vec<&str> = layers.iter().map(|l| l.name()).collect();
    let [w, s, e, n] = city_bounds(registry);
    let minzoom = layers.iter().map(|l| l.spec().minzoom).min().unwrap_or(0);
    let center_zoom = CENTER_ZOOM.clamp(minzoom, MAX_ZOOM);
    json!({
        "tilejson": "3.0.0",
        "name": format!("shequ {}", names.join(",")),
        "description": layers.iter().map(|l| l.spec().description).collect::<Vec<_>>().join("; "),
        "version": format!("1.{}.0", registry_version.unwrap_or(0)),
        "attribution": ATTRIBUTION,
        "scheme": "xyz",
        "tiles": [tile_url(base, &names.join(","))],
        "vector_layers": layers.iter().map(|&l| vector_layer(l)).collect::<Vec<_>>(),
        "bounds": [w, s, e, n],
        "center": [(w + e) / 2.0, (s + n) / 2.0, center_zoom],
        "minzoom": minzoom,
        "maxzoom": MAX_ZOOM,
    })
}

/// The list of layers with their TileJSON and tile URLs.
pub fn catalog(base: &str) -> Value {
    let layers: Vec<Value> = TileLayer::all()
        .map(|l| {
            let mut v = summary(l);
            v["tilejson"] = Value::from(format!("{base}/tiles/{}.json", l.name()));
            v["tiles"] = Value::from(tile_url(base, l.name()));
            v
        })
        .collect();
    // A composite is any comma-separated list of layer ids; the example lists the style's
    // main layers, so its URLs work as they stand.
    let all: Vec<&str> = MAP_LAYERS.iter().map(|l| l.name()).collect();
    let all = all.join(",");
    json!({
        "layers": layers,
        "composite": {
            "description": "several layers in one tile: list their ids separated by commas, in the order wanted",
            "tilejson": format!("{base}/tiles/{all}.json"),
            "tiles": tile_url(base, &all),
        },
        "style": format!("{base}/style.json"),
    })
}

/// The view the style opens on fits the city in a window of this many CSS pixels (MapLibre
/// counts 512 px per tile, so a fixed zoom 10 cut off the south of the shipped city).
const START_VIEW_PX: [f64; 2] = [1024.0, 600.0];

/// The largest zoom (in half steps) at which `[w, s, e, n]` fits in [`START_VIEW_PX`].
fn fitting_zoom([w, s, e, n]: [f64; 4]) -> f64 {
    let mercator_y = |lat: f64| {
        (std::f64::consts::FRAC_PI_4 + lat.to_radians() / 2.0)
            .tan()
            .ln()
    };
    // Width and height as fractions of the world at zoom 0.
    let dx = ((e - w) / 360.0).max(1e-9);
    let dy = ((mercator_y(n) - mercator_y(s)) / (2.0 * std::f64::consts::PI)).max(1e-9);
    let z = (START_VIEW_PX[0] / (512.0 * dx))
        .log2()
        .min((START_VIEW_PX[1] / (512.0 * dy)).log2());
    ((z * 2.0).floor() / 2.0).clamp(0.0, 18.0)
}

/// The layers of the style's main source (the findings have a source of their own).
const MAP_LAYERS: [TileLayer; 4] = [
    TileLayer::Towns,
    TileLayer::Communities,
    TileLayer::Grids,
    TileLayer::Labels,
];

/// A MapLibre style showing every layer; with [`StyleOptions::glyphs`] also the labels.
///
/// Without a glyph source the `labels` layer is not among the style's layers, so that every
/// MapLibre client (GL JS, Native, …) can use the style as it is; the layer is then in
/// `metadata["shequ:labels"]`, for a client that draws text with local fonts (MapLibre GL JS
/// does for Chinese; the web map inserts it).
pub fn style(registry: &Registry, base: &str, options: &StyleOptions) -> Value {
    let [w, s, e, n] = city_bounds(registry);
    let all = MAP_LAYERS.map(TileLayer::name).join(",");
    let mut sources = json!({
        "shequ": {
            "type": "vector",
            "tiles": [tile_url(base, &all)],
            "minzoom": 0,
            "maxzoom": 14,
            "bounds": [w, s, e, n],
        },
        // A source of its own, so that map tiles never wait for the audit.
        "findings": {
            "type": "vector",
            "tiles": [tile_url(base, "findings")],
            "minzoom": TileLayer::Findings.spec().minzoom,
            "maxzoom": 14,
            "bounds": [w, s, e, n],
        }
    });
    let mut layers = vec![json!({
        "id": "background", "type": "background", "paint": {"background-color": "#f4f1ea"}
    })];
    if let Some(url) = &options.basemap {
        sources["basemap"] = json!({"type": "raster", "tiles": [url], "tileSize": 256});
        layers.push(json!({"id": "basemap", "type": "raster", "source": "basemap"}));
    }
    let fill = |layer: TileLayer, color: &str, opacity: f64| {
        let (id, minzoom) = (layer.name(), layer.spec().minzoom);
        json!({"id": format!("{id}-fill"), "type": "fill", "source": "shequ", "source-layer": id,
               "minzoom": minzoom, "paint": {"fill-color": color, "fill-opacity": opacity}})
    };
    let line = |layer: TileLayer, color: &str, width: f64| {
        let (id, minzoom) = (layer.name(), layer.spec().minzoom);
        json!({"id": format!("{id}-line"), "type": "line", "source": "shequ", "source-layer": id,
               "minzoom": minzoom, "paint": {"line-color": color, "line-width": width}})
    };
    layers.extend([
        fill(TileLayer::Towns, "#e8dcc0", 0.4),
        fill(TileLayer::Communities, "#9cc3d5", 0.25),
        line(TileLayer::Grids, "#8a9a5b", 0.5),
        line(TileLayer::Communities, "#2b6f8e", 1.2),
        line(TileLayer::Towns, "#7a4b1e", 2.5),
        json!({"id": "findings-fill", "type": "fill", "source": "findings", "source-layer": "findings",
               "paint": {"fill-color": ["match", ["get", "severity"], "warn", "#f0a500", "#d7191c"],
                         "fill-opacity": 0.6}}),
        json!({"id": "findings-line", "type": "line", "source": "findings", "source-layer": "findings",
               "paint": {"line-color": "#a50f15", "line-width": 1.5}}),
    ]);
    let labels = json!({
        "id": "labels", "type": "symbol", "source": "shequ", "source-layer": "labels",
        "layout": {
            "text-field": ["get", "name"],
            "text-size": ["match", ["get", "level"], "town", 15, "community", 12, 10],
            "text-font": ["Noto Sans Regular"],
        },
        "paint": {"text-color": "#222", "text-halo-color": "#fff", "text-halo-width": 1.2}
    });
    let mut metadata = json!({});
    match &options.glyphs {
        Some(_) => layers.push(labels),
        None => metadata["shequ:labels"] = labels,
    }
    let mut style = json!({
        "version": 8,
        "name": "shequ",
        "metadata": metadata,
        "center": [(w + e) / 2.0, (s + n) / 2.0],
        "zoom": fitting_zoom([w, s, e, n]),
        "sources": sources,
        "layers": layers,
    });
    if let Some(glyphs) = &options.glyphs {
        style["glyphs"] = Value::from(glyphs.as_str());
    }
    style
}
