//! The standard address register (标准地址): one address per building, `code,address,lon,lat`.
//!
//! Roads form a city-wide lattice in the local kilometre frame: east–west roads (`…路`) every
//! `ROAD_KM` of latitude and north–south streets (`…街`) every `ROAD_KM` of longitude, each with a
//! name unique in the city. Buildings stand `SETBACK_KM` off a road's centre line in slots of
//! `SLOT_KM`; house numbers count from the city's west (or south) edge, odd on the north (or east)
//! side and even on the other, so number and position agree: slot `s` holds numbers `2s+1` and
//! `2s+2`. A building is kept only if its rounded position is strictly inside its grid (exact
//! integer test), so every entry lies in exactly one grid. Each grid gets about one building per
//! `HOUSEHOLDS_PER_BUILDING` households.

use crate::city::{City, GridOut};
use crate::projection::{FIXED_SCALE, Fixed, Frame, fmt_fixed};
use crate::rings::strictly_inside;
use crate::rng::{Rng, hash2};

const ROAD_KM: f64 = 0.2;
const SLOT_KM: f64 = 0.02;
const SETBACK_KM: f64 = 0.012;
const HOUSEHOLDS_PER_BUILDING: u64 = 20;
const MAX_BUILDINGS_PER_GRID: u64 = 60;
/// Placement attempts per wanted building before a grid settles for fewer.
const TRIES_PER_BUILDING: usize = 30;
const TAG_ADDRESSES: u64 = 21;

/// Road-name stems: no numeral characters (they would be read as house numbers) and only
/// simplified forms.
const FIRST: [char; 26] = [
    '兴', '康', '民', '博', '富', '华', '长', '翠', '莲', '凤', '岐', '湖', '松', '柏', '银', '金',
    '锦', '明', '德', '安', '泰', '福', '怡', '悦', '清', '新',
];
const SECOND: [char; 26] = [
    '乐', '和', '平', '宁', '盛', '景', '源', '溪', '苑', '林', '江', '港', '隆', '丰', '祥', '瑞',
    '昌', '荣', '泉', '秀', '云', '霞', '阳', '光', '海', '山',
];

/// One register entry.
pub struct AddressOut {
    pub code: String,
    pub address: String,
    pub point: Fixed,
}

/// The road lattice of one city copy.
struct Roads {
    frame: Frame,
    /// City bounding box in the frame, km: west, south, east, north.
    bbox: [f64; 4],
    names: Vec<String>,
}

impl Roads {
    fn new(city: &City, frame: Frame, seed: u64) -> Self {
        let mut bbox = [f64::MAX, f64::MAX, f64::MIN, f64::MIN];
        for p in city.towns.iter().flat_map(|t| &t.ring) {
            let [x, y] = km(frame, *p);
            bbox = [
                bbox[0].min(x),
                bbox[1].min(y),
                bbox[2].max(x),
                bbox[3].max(y),
            ];
        }
        // Every stem pair, in a seeded order (Fisher–Yates).
        let mut stems: Vec<String> = FIRST
            .iter()
            .flat_map(|a| SECOND.iter().map(move |b| format!("{a}{b}")))
            .collect();
        let mut rng = Rng::stream(seed, TAG_ADDRESSES);
        for i in (1..stems.len()).rev() {
            stems.swap(i, rng.below(i + 1));
        }
        Roads {
            frame,
            bbox,
            names: stems,
        }
    }

    /// Road `k` of a direction (0 = east–west, 1 = north–south), counted from the south/west.
    fn name(&self, dir: usize, k: usize) -> String {
        // East–west roads take the stems from the front, streets from the back; the suffix keeps
        // a road and a street with the same stem apart.
        let n = self.names.len();
        let stem = if dir == 0 {
            &self.names[k % n]
        } else {
            &self.names[n - 1 - k % n]
        };
        format!("{stem}{}", if dir == 0 { "路" } else { "街" })
    }
}

fn km(frame: Frame, p: Fixed) -> [f64; 2] {
    frame.to_km(p[0] as f64 / FIXED_SCALE, p[1] as f64 / FIXED_SCALE)
}

/// The register of one city copy, grid by grid in code order.
pub fn addresses(city: &City, frame: Frame, seed: u64) -> Vec<AddressOut> {
    let roads = Roads::new(city, frame, seed);
    let town_names: Vec<(&str, &str)> = city
        .towns
        .iter()
        .map(|t| (t.code.as_str(), t.name.as_str()))
        .collect();
    let mut out = Vec::new();
    for (g, grid) in city.grids.iter().enumerate() {
        let town = town_names
            .iter()
            .find(|(code, _)| grid.community_code.starts_with(code))
            .map_or("", |(_, name)| name);
        let mut rng = Rng::stream(hash2(seed, TAG_ADDRESSES), g as u64);
        out.extend(grid_buildings(&roads, grid, town, &mut rng));
    }
    out
}

/// A building position: direction, road number, slot, side (0 = odd numbers).
type Site = (usize, usize, usize, usize);

fn grid_buildings(roads: &Roads, grid: &GridOut, town: &str, rng: &mut Rng) -> Vec<AddressOut> {
    let wanted = (grid.counts.households / HOUSEHOLDS_PER_BUILDING).clamp(1, MAX_BUILDINGS_PER_GRID)
        as usize;
    let mut lo = [f64::MAX; 2];
    let mut hi = [f64::MIN; 2];
    for p in &grid.ring {
        let q = km(roads.frame, *p);
        lo = [lo[0].min(q[0]), lo[1].min(q[1])];
        hi = [hi[0].max(q[0]), hi[1].max(q[1])];
    }
    let [west, south, ..] = roads.bbox;
    // Roads of each direction that cross the grid's box (road k of direction d runs at
    // south + k·ROAD_KM, or west + k·ROAD_KM).
    let range = |lo: f64, hi: f64, origin: f64| {
        let first = ((lo - origin) / ROAD_KM).ceil().max(0.0) as usize;
        let last = ((hi - origin) / ROAD_KM).floor().max(0.0) as usize;
        (first, last)
    };
    let spans = [range(lo[1], hi[1], south), range(lo[0], hi[0], west)];
    let slots = |lo: f64, hi: f64, origin: f64| {
        let first = ((lo - origin) / SLOT_KM).floor().max(0.0) as usize;
        let last = ((hi - origin) / SLOT_KM).floor().max(0.0) as usize;
        (first, last)
    };
    let slot_spans = [slots(lo[0], hi[0], west), slots(lo[1], hi[1], south)];
    let mut chosen: Vec<(Site, Fixed)> = Vec::new();
    for _ in 0..wanted * TRIES_PER_BUILDING {
        if chosen.len() == wanted {
            break;
        }
        let dir = rng.below(2);
        let ((k0, k1), (s0, s1)) = (spans[dir], slot_spans[dir]);
        if k1 < k0 || s1 < s0 {
            continue;
        }
        let site = (
            dir,
            k0 + rng.below(k1 - k0 + 1),
            s0 + rng.below(s1 - s0 + 1),
            rng.below(2),
        );
        if chosen.iter().any(|(s, _)| *s == site) {
            continue;
        }
        let (_, k, s, side) = site;
        let along = (s as f64 + 0.5) * SLOT_KM;
        let across = k as f64 * ROAD_KM + if side == 0 { SETBACK_KM } else { -SETBACK_KM };
        let p = if dir == 0 {
            [west + along, south + across]
        } else {
            [west + across, south + along]
        };
        let fixed = roads.frame.to_fixed(p);
        if strictly_inside(&grid.ring, fixed) {
            chosen.push((site, fixed));
        }
    }
    // Number order along each road, so serials read like a walk down the streets.
    chosen.sort_unstable_by_key(|&((dir, k, s, side), _)| (dir, k, s, side));
    chosen
        .into_iter()
        .enumerate()
        .map(|(i, ((dir, k, s, side), point))| AddressOut {
            code: format!("{}{:04}", grid.code, i + 1),
            address: format!("{town}{}{}号", roads.name(dir, k), 2 * s + 1 + side),
            point,
        })
        .collect()
}

/// Writes one CSV row (`code,address,lon,lat`, coordinates with 7 decimals).
pub fn csv_row(a: &AddressOut, out: &mut String) {
    out.push_str(&a.code);
    out.push(',');
    out.push_str(&a.address);
    out.push(',');
    fmt_fixed(a.point[0], out);
    out.push(',');
    fmt_fixed(a.point[1], out);
    out.push('\n');
}
