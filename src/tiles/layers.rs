//! The tile layers, their zoom ranges and attributes, and sets of layers for composite tiles.

use super::TileError;

/// One layer of the tile set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TileLayer {
    Towns,
    Communities,
    Grids,
    Labels,
    /// Coverage audit findings with geometry (overlaps, unassigned land, grid defects).
    Findings,
}

impl TileLayer {
    pub const ALL: [TileLayer; 5] = [
        TileLayer::Towns,
        TileLayer::Communities,
        TileLayer::Grids,
        TileLayer::Labels,
        TileLayer::Findings,
    ];

    pub fn name(self) -> &'static str {
        match self {
            TileLayer::Towns => "towns",
            TileLayer::Communities => "communities",
            TileLayer::Grids => "grids",
            TileLayer::Labels => "labels",
            TileLayer::Findings => "findings",
        }
    }

    pub fn parse(name: &str) -> Result<Self, TileError> {
        Self::ALL
            .into_iter()
            .find(|l| l.name() == name)
            .ok_or_else(|| TileError::UnknownLayer {
                name: name.to_owned(),
            })
    }

    /// First zoom the layer has features at: below it, features would be a few pixels wide
    /// (grids are ~0.3 km²) and only bloat tiles.
    pub fn minzoom(self) -> u8 {
        match self {
            TileLayer::Towns | TileLayer::Labels => 0,
            TileLayer::Communities => 6,
            TileLayer::Grids => 12,
            // Findings are small (metres to hectares): below z8 they would be specks.
            TileLayer::Findings => 8,
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            TileLayer::Towns => "towns and streets (镇街)",
            TileLayer::Communities => "communities (社区) and villages (村) with territory",
            TileLayer::Grids => "grids (网格)",
            TileLayer::Labels => {
                "one point inside each town, community and grid, for labels; `level` says which"
            }
            TileLayer::Findings => {
                "coverage audit findings: overlaps, unassigned land, grid defects"
            }
        }
    }

    /// Attribute names and their types, as TileJSON `vector_layers` lists them.
    pub fn fields(self) -> &'static [(&'static str, &'static str)] {
        match self {
            TileLayer::Towns => &[
                ("code", "String"),
                ("name", "String"),
                ("households", "Number"),
                ("population", "Number"),
            ],
            TileLayer::Communities => &[
                ("code", "String"),
                ("name", "String"),
                ("town_code", "String"),
                ("kind", "String"),
                ("households", "Number"),
                ("population", "Number"),
            ],
            TileLayer::Grids => &[
                ("code", "String"),
                ("name", "String"),
                ("town_code", "String"),
                ("community_code", "String"),
                ("households", "Number"),
                ("population", "Number"),
            ],
            TileLayer::Labels => &[("code", "String"), ("name", "String"), ("level", "String")],
            TileLayer::Findings => &[
                ("kind", "String"),
                ("severity", "String"),
                ("code", "String"),
                ("area_m2", "Number"),
                ("message", "String"),
            ],
        }
    }
}

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

    /// A compact key: the layers in order, three bits each, with a leading marker bit
    /// (five distinct layers at most: 16 bits).
    pub fn key(&self) -> u16 {
        self.0.iter().fold(1u16, |k, &l| {
            (k << 3) | TileLayer::ALL.iter().position(|&x| x == l).unwrap_or(0) as u16
        })
    }

    /// Whether the set includes `layer`.
    pub fn contains(&self, layer: TileLayer) -> bool {
        self.0.contains(&layer)
    }
}

impl From<TileLayer> for LayerSet {
    fn from(layer: TileLayer) -> Self {
        LayerSet(vec![layer])
    }
}
