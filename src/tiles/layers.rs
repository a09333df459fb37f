//! The tile layers: one table ([`LAYERS`]) says everything about each — name, description, zoom
//! range, attributes and how its features are made — and sets of layers for composite tiles.

use super::TileError;
use super::tile_id::MAX_ZOOM;
use crate::registry::Level;

/// One layer of the tile set; [`TileLayer::spec`] is its row of [`LAYERS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TileLayer {
    Towns,
    Communities,
    Grids,
    Labels,
    /// Coverage audit findings with geometry (overlaps, unassigned land, grid defects).
    Findings,
}

/// How the features of a layer are made (see `TileSource::render_with_findings`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Render {
    /// The areas of one registry level, rebuilt from the shared-arc topology per zoom.
    Areas(Level),
    /// One point inside each area of every level, `level` saying which.
    Labels,
    /// The snapshot's coverage audit findings that have geometry, unsimplified.
    Findings,
}

/// Everything about one tile layer, as the catalog, TileJSON and the renderer use it.
#[derive(Debug)]
pub struct LayerSpec {
    pub layer: TileLayer,
    /// The layer's id in URLs, tiles and styles.
    pub name: &'static str,
    pub description: &'static str,
    /// First zoom the layer has features at: below it, features would be a few pixels wide
    /// and only bloat tiles.
    pub minzoom: u8,
    /// Last zoom the layer has features at.
    pub maxzoom: u8,
    /// Attribute names and their types, as TileJSON `vector_layers` lists them.
    pub fields: &'static [(&'static str, &'static str)],
    pub render: Render,
}

/// Every tile layer, in [`TileLayer`] order (checked when compiling).
pub const LAYERS: [LayerSpec; 5] = [
    LayerSpec {
        layer: TileLayer::Towns,
        name: Level::Town.collection(),
        description: "towns and streets (镇街)",
        minzoom: 0,
        maxzoom: MAX_ZOOM,
        fields: &[
            ("code", "String"),
            ("name", "String"),
            ("households", "Number"),
            ("population", "Number"),
        ],
        render: Render::Areas(Level::Town),
    },
    LayerSpec {
        layer: TileLayer::Communities,
        name: Level::Community.collection(),
        description: "communities (社区) and villages (村) with territory",
        minzoom: 6,
        maxzoom: MAX_ZOOM,
        fields: &[
            ("code", "String"),
            ("name", "String"),
            ("town_code", "String"),
            ("kind", "String"),
            ("households", "Number"),
            ("population", "Number"),
        ],
        render: Render::Areas(Level::Community),
    },
    LayerSpec {
        layer: TileLayer::Grids,
        name: Level::Grid.collection(),
        description: "grids (网格)",
        // Grids are ~0.3 km².
        minzoom: 12,
        maxzoom: MAX_ZOOM,
        fields: &[
            ("code", "String"),
            ("name", "String"),
            ("town_code", "String"),
            ("community_code", "String"),
            ("households", "Number"),
            ("population", "Number"),
        ],
        render: Render::Areas(Level::Grid),
    },
    LayerSpec {
        layer: TileLayer::Labels,
        name: "labels",
        description: "one point inside each town, community and grid, for labels; `level` says which",
        minzoom: 0,
        maxzoom: MAX_ZOOM,
        fields: &[("code", "String"), ("name", "String"), ("level", "String")],
        render: Render::Labels,
    },
    LayerSpec {
        layer: TileLayer::Findings,
        name: "findings",
        description: "coverage audit findings: overlaps, unassigned land, grid defects",
        // Findings are small (metres to hectares): below z8 they would be specks.
        minzoom: 8,
        maxzoom: MAX_ZOOM,
        fields: &[
            ("kind", "String"),
            ("severity", "String"),
            ("code", "String"),
            ("area_m2", "Number"),
            ("message", "String"),
        ],
        render: Render::Findings,
    },
];

/// Row `i` of [`LAYERS`] describes the `i`-th [`TileLayer`], and a key has room for them all.
const _: () = {
    let mut i = 0;
    while i < LAYERS.len() {
        assert!(
            LAYERS[i].layer as usize == i,
            "LAYERS must follow TileLayer"
        );
        i += 1;
    }
    assert!(
        LAYERS.len() <= MAX_LAYERS,
        "LayerSet::key has room for 15 layers"
    );
};

impl TileLayer {
    /// Every layer, in table order.
    pub fn all() -> impl Iterator<Item = TileLayer> {
        LAYERS.iter().map(|s| s.layer)
    }

    /// The layer's row of [`LAYERS`].
    pub fn spec(self) -> &'static LayerSpec {
        &LAYERS[self as usize]
    }

    pub fn name(self) -> &'static str {
        self.spec().name
    }

    pub fn parse(name: &str) -> Result<Self, TileError> {
        Self::all()
            .find(|l| l.name() == name)
            .ok_or_else(|| TileError::UnknownLayer {
                name: name.to_owned(),
            })
    }

    /// Whether the layer has features at zoom `z`.
    pub fn shown_at(self, z: u8) -> bool {
        (self.spec().minzoom..=self.spec().maxzoom).contains(&z)
    }
}

/// The names of every layer, comma-separated (for messages).
pub fn layer_names() -> String {
    TileLayer::all()
        .map(TileLayer::name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Layers a [`LayerSet::key`] can tell apart: four bits each, 0 meaning none.
const MAX_LAYERS: usize = 15;

/// A non-empty set of layers in request order, without repeats.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LayerSet(Vec<TileLayer>);

impl LayerSet {
    /// Parses `towns` or `towns,communities`.
    pub fn parse(spec: &str) -> Result<Self, TileError> {
        let mut layers = Vec::new();
        for name in spec.split(',') {
            let layer = TileLayer::parse(name)?;
            if !layers.contains(&layer) {
                layers.push(layer);
            }
        }
        Ok(LayerSet(layers))
    }

    pub fn layers(&self) -> &[TileLayer] {
        &self.0
    }

    /// A compact key, distinct for every set (and order) of layers: see [`pack`].
    pub fn key(&self) -> u64 {
        pack(self.0.iter().map(|&l| l as usize))
    }

    /// Whether the set includes `layer`.
    pub fn contains(&self, layer: TileLayer) -> bool {
        self.0.contains(&layer)
    }

    /// Whether a layer of the set is drawn from the snapshot's audit.
    pub fn needs_audit(&self) -> bool {
        self.0.iter().any(|l| l.spec().render == Render::Findings)
    }
}

impl From<TileLayer> for LayerSet {
    fn from(layer: TileLayer) -> Self {
        LayerSet(vec![layer])
    }
}

/// Packs distinct layer positions (each below [`MAX_LAYERS`]) into a key, four bits each as
/// position + 1: no position packs to 0, so sequences of different lengths cannot meet, and
/// fifteen positions fill at most 60 of the 64 bits.
fn pack(positions: impl IntoIterator<Item = usize>) -> u64 {
    positions
        .into_iter()
        .fold(0u64, |k, p| (k << 4) | (p as u64 + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every sequence of distinct positions below `n`, of every length from 1 to `n`.
    fn sequences(n: usize) -> Vec<Vec<usize>> {
        let mut out: Vec<Vec<usize>> = (0..n).map(|p| vec![p]).collect();
        let mut start = 0;
        while start < out.len() {
            let end = out.len();
            for i in start..end {
                for p in 0..n {
                    if !out[i].contains(&p) {
                        let mut longer = out[i].clone();
                        longer.push(p);
                        out.push(longer);
                    }
                }
            }
            start = end;
        }
        out
    }

    /// Two different layer sets must never share a cache key, also once a sixth layer is added.
    #[test]
    fn keys_of_different_layer_sets_differ_with_six_layers() {
        let mut seen = std::collections::HashMap::new();
        for s in sequences(6) {
            if let Some(other) = seen.insert(pack(s.iter().copied()), s.clone()) {
                panic!("layer sets {other:?} and {s:?} share the key");
            }
        }
    }

    #[test]
    fn keys_differ_at_the_capacity() {
        let all: Vec<usize> = (0..MAX_LAYERS).collect();
        let reversed: Vec<usize> = all.iter().rev().copied().collect();
        let keys = [
            pack(all.clone()),
            pack(all[1..].to_vec()),
            pack(reversed.clone()),
            pack(reversed[1..].to_vec()),
        ];
        for (i, a) in keys.iter().enumerate() {
            assert!(keys[i + 1..].iter().all(|b| a != b), "{keys:x?}");
        }
    }

    #[test]
    fn every_layer_parses_by_its_name_and_areas_follow_the_levels() {
        for layer in TileLayer::all() {
            assert_eq!(TileLayer::parse(layer.name()), Ok(layer));
            assert!(layer.spec().minzoom <= layer.spec().maxzoom);
            if let Render::Areas(level) = layer.spec().render {
                assert_eq!(layer.name(), level.collection());
            }
        }
        assert!(TileLayer::parse("grid").is_err());
        let all = LayerSet::parse(&layer_names().replace(", ", ",")).expect("every layer");
        assert_eq!(all.layers().len(), LAYERS.len());
        assert!(all.needs_audit());
        assert!(!LayerSet::parse("towns,labels").is_ok_and(|s| s.needs_audit()));
    }
}
