//! The drawing helper: a community split into parts, either along a drawn line or from groups of
//! its grids, returned as a proposal ready to validate (workers and office space shared out by
//! households, an office point inside each part).

use geo::orient::{Direction, Orient};
use geo::{
    BooleanOps, BoundingRect, Coord, InteriorPoint, LineString, MultiPolygon, Polygon, unary_union,
};
use i_overlay::core::extract::BooleanExtractionBuffer;
use i_overlay::core::fill_rule::FillRule;
use i_overlay::core::overlay_rule::OverlayRule;
use i_overlay::core::solver::Solver;
use i_overlay::float::overlay::{FloatOverlay, OverlayOptions};
use serde_json::{Value, json};

use crate::geometry::geojson::area_to_geojson;
use crate::geometry::measure::{area_m2, width_m};
use crate::message::Message;
use crate::registry::Registry;

/// Why a split cannot be made; every variant is the client's mistake (HTTP 422).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SplitError {
    #[error("unknown community {0}")]
    UnknownCommunity(String),
    #[error("community {0} has no defined territory to split")]
    NoTerritory(String),
    #[error("the line needs at least 2 positions, each [longitude, latitude]")]
    BadLine,
    #[error(
        "the line must cross the community: start and end outside it, {}{why}",
        line.map(|l| format!("line {l}: ")).unwrap_or_default()
    )]
    LineDoesNotCross {
        /// Which of several lines (1-based), when there are several.
        line: Option<usize>,
        why: Crossing,
    },
    #[error("groups: {0}")]
    BadGroups(Message),
}

/// What a line that does not split a community fails to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Crossing {
    #[error("the community is empty")]
    Empty,
    #[error("but an end of the line is inside it")]
    EndInside,
    #[error("and leave land on both sides")]
    BothSides,
    #[error("and leave more than a snapping margin on each side")]
    SnapMargin,
    #[error("and leave whole grids on more than one side")]
    WholeGrids,
}

impl Crossing {
    fn code(self) -> &'static str {
        match self {
            Crossing::Empty => "empty",
            Crossing::EndInside => "end_inside",
            Crossing::BothSides => "both_sides",
            Crossing::SnapMargin => "snap_margin",
            Crossing::WholeGrids => "whole_grids",
        }
    }
}

impl SplitError {
    /// The failure as a coded message (see [`crate::message`]).
    pub fn message(&self) -> Message {
        let text = self.to_string();
        match self {
            SplitError::UnknownCommunity(c) => {
                Message::new("split.unknown_community", text).with("community", c.as_str())
            }
            SplitError::NoTerritory(c) => {
                Message::new("split.no_territory", text).with("community", c.as_str())
            }
            SplitError::BadLine => Message::new("split.bad_line", text),
            SplitError::LineDoesNotCross { line, why } => {
                let m = Message::new("split.line_does_not_cross", text).with("why", why.code());
                match line {
                    Some(l) => m.with("line", *l),
                    None => m,
                }
            }
            SplitError::BadGroups(m) => Message { text, ..m.clone() },
        }
    }
}

/// A line that does not split the community, for the reason `why`.
pub(super) fn not_crossing(why: Crossing) -> SplitError {
    SplitError::LineDoesNotCross { line: None, why }
}

/// Grids whose part on one side of the line is thinner than this are kept whole on the other
/// side: the line was drawn a little off a grid edge.
pub const SNAP_WIDTH_M: f64 = 5.0;

/// Splits `community` along `line` (a polyline crossing it once), snapping to grid edges within
/// [`SNAP_WIDTH_M`].
pub fn split_by_line(
    registry: &Registry,
    community: &str,
    line: &[[f64; 2]],
) -> Result<Value, SplitError> {
    let (c, territory) = territory(registry, community)?;
    if line.len() < 2 || line.iter().any(|p| !p[0].is_finite() || !p[1].is_finite()) {
        return Err(SplitError::BadLine);
    }
    let left = left_side(territory, line)?;
    let a = territory.intersection(&left);
    let b = territory.difference(&left);
    if area_m2(&a) < 1.0 || area_m2(&b) < 1.0 {
        return Err(not_crossing(Crossing::BothSides));
    }
    // Snap: grids barely cut go wholly to their bigger side; the others are cut by the line.
    let (mut whole_a, mut whole_b) = (Vec::new(), Vec::new());
    for &g in &registry.communities[c].grids {
        let grid: &MultiPolygon<f64> = &registry.grids[g].area;
        let (in_a, in_b) = (grid.intersection(&left), grid.difference(&left));
        let thin = |m: &MultiPolygon<f64>| m.0.iter().all(|p| width_m(p) <= SNAP_WIDTH_M);
        if in_a.0.is_empty() || in_b.0.is_empty() {
            // Wholly on one side already.
        } else if thin(&in_b) {
            whole_a.push(grid);
        } else if thin(&in_a) {
            whole_b.push(grid);
        }
    }
    let parts: Vec<MultiPolygon<f64>> = cut(territory, &left, &whole_a, &whole_b)
        .into_iter()
        .filter(|m| !m.0.is_empty())
        .collect();
    if parts.len() < 2 {
        return Err(not_crossing(Crossing::SnapMargin));
    }
    Ok(proposal(registry, c, parts))
}

/// Splits `community` into parts made of whole grids, one part per group of grid codes. Every
/// grid of the community must be in exactly one group.
pub fn split_by_groups(
    registry: &Registry,
    community: &str,
    groups: &[Vec<String>],
) -> Result<Value, SplitError> {
    let (c, _) = territory(registry, community)?;
    if groups.len() < 2 || groups.iter().any(Vec::is_empty) {
        return Err(SplitError::BadGroups(Message::new(
            "split.groups_too_few",
            "give at least 2 non-empty groups of grid codes",
        )));
    }
    let own = &registry.communities[c].grids;
    let mut used = vec![false; own.len()];
    let mut parts = Vec::new();
    for (i, group) in groups.iter().enumerate() {
        let mut pieces = Vec::new();
        for code in group {
            let position = registry
                .grid_by_code(code)
                .and_then(|g| own.iter().position(|&o| o == g));
            let Some(k) = position else {
                return Err(SplitError::BadGroups(
                    Message::new(
                        "split.grid_not_in_community",
                        format!("groups[{i}]: {code} is not a grid of {community}"),
                    )
                    .with("index", i)
                    .with("grid", code.as_str())
                    .with("community", community),
                ));
            };
            if std::mem::replace(&mut used[k], true) {
                return Err(SplitError::BadGroups(
                    Message::new(
                        "split.grid_in_two_groups",
                        format!("{code} is in more than one group"),
                    )
                    .with("grid", code.as_str()),
                ));
            }
            pieces.push(&registry.grids[own[k]].area);
        }
        parts.push(unary_union(pieces.iter().flat_map(|m| m.0.iter())));
    }
    let missing: Vec<&str> = own
        .iter()
        .zip(&used)
        .filter(|(_, u)| !**u)
        .map(|(&g, _)| registry.grids[g].code.as_str())
        .collect();
    if !missing.is_empty() {
        return Err(SplitError::BadGroups(
            Message::new(
                "split.grids_in_no_group",
                format!("grids in no group: {}", missing.join(", ")),
            )
            .with("grids", missing),
        ));
    }
    Ok(proposal(registry, c, parts))
}

/// The territory cut into the part left of the line (plus the grids snapped to it, less those
/// snapped to the other side) and the rest, both extracted from one overlay graph.
///
/// Cutting each grid and then uniting the pieces (several overlays, each rounding coordinates to
/// its own integer grid) moved the vertices the pieces share with whole grids by ~1e-10°, so the
/// union kept hair-thin slivers between edges that should coincide: holes of 1e-4 m² touching
/// the outline or each other, which are not valid polygons. Here every edge (territory, line
/// side, snapped grids) is rounded once, in one graph, and both parts are read from it: their
/// shared boundary is the same edges, whole grids keep their outlines, and the output is
/// extracted OGC-style (self-touching rings split, no zero-area rings or repeated vertices).
/// (OGC still allows a hole touching its outline at one point, which `check_polygon_rings`
/// refuses: a part would take that shape only where the line or a snapped grid meets the rest
/// of the other part at a single point exactly, which `tests/split_line.rs` never hits.)
fn cut(
    territory: &MultiPolygon<f64>,
    left: &MultiPolygon<f64>,
    whole_a: &[&MultiPolygon<f64>],
    whole_b: &[&MultiPolygon<f64>],
) -> [MultiPolygon<f64>; 2] {
    // Winding numbers with the positive fill rule: the clip is the line's left side (+1) and the
    // grids snapped to it (+1), less the grids snapped to the other side (−1).
    fn contours(area: &MultiPolygon<f64>, positive: bool, out: &mut Vec<Vec<[f64; 2]>>) {
        let mut area = area.orient(Direction::Default);
        if !positive {
            area = area.orient(Direction::Reversed);
        }
        for p in &area {
            for ring in std::iter::once(p.exterior()).chain(p.interiors()) {
                // i_overlay's contours are implicitly closed.
                let n = ring.0.len().saturating_sub(1);
                out.push(ring.0[..n].iter().map(|c| [c.x, c.y]).collect());
            }
        }
    }
    let mut subject = Vec::new();
    contours(territory, true, &mut subject);
    let mut clip = Vec::new();
    contours(left, true, &mut clip);
    for grid in whole_a {
        contours(grid, true, &mut clip);
    }
    for grid in whole_b {
        contours(grid, false, &mut clip);
    }
    let mut overlay = FloatOverlay::with_subj_and_clip_custom(
        &subject,
        &clip,
        OverlayOptions::ogc(),
        Solver::default(),
    );
    let Some(graph) = overlay.build_graph_view(FillRule::Positive) else {
        return [MultiPolygon(Vec::new()), MultiPolygon(Vec::new())];
    };
    let mut buffer = BooleanExtractionBuffer::default();
    let mut extract = |rule| -> MultiPolygon<f64> {
        let shapes = graph.extract_shapes(rule, &mut buffer);
        MultiPolygon(
            shapes
                .into_iter()
                .map(|shape| {
                    let mut rings = shape.into_iter().map(|contour| {
                        let mut ring: LineString<f64> =
                            contour.into_iter().map(|[x, y]| Coord { x, y }).collect();
                        ring.close();
                        ring
                    });
                    let exterior = rings.next().unwrap_or_else(|| LineString::new(Vec::new()));
                    Polygon::new(exterior, rings.collect())
                })
                .collect(),
        )
    };
    [
        extract(OverlayRule::Intersect),
        extract(OverlayRule::Difference),
    ]
}

pub(super) fn territory<'r>(
    registry: &'r Registry,
    code: &str,
) -> Result<(usize, &'r MultiPolygon<f64>), SplitError> {
    let c = registry
        .community_by_code(code)
        .ok_or_else(|| SplitError::UnknownCommunity(code.to_owned()))?;
    let territory = registry.communities[c]
        .territory
        .as_deref()
        .ok_or_else(|| SplitError::NoTerritory(code.to_owned()))?;
    Ok((c, territory))
}

/// The land to the left of `line`: the line closed by a walk round a box well outside the
/// territory, from where the line leaves to where it enters.
pub(super) fn left_side(
    territory: &MultiPolygon<f64>,
    line: &[[f64; 2]],
) -> Result<MultiPolygon<f64>, SplitError> {
    let b = territory
        .bounding_rect()
        .ok_or(not_crossing(Crossing::Empty))?;
    let inside = |p: [f64; 2]| geo::Contains::contains(territory, &geo::Point::new(p[0], p[1]));
    let (first, last) = (line[0], line[line.len() - 1]);
    if inside(first) || inside(last) {
        return Err(not_crossing(Crossing::EndInside));
    }
    // A box that holds the territory and the whole line, with margin.
    let xs = line.iter().map(|p| p[0]).chain([b.min().x, b.max().x]);
    let ys = line.iter().map(|p| p[1]).chain([b.min().y, b.max().y]);
    let (x0, x1) = xs.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
        (lo.min(x), hi.max(x))
    });
    let (y0, y1) = ys.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), y| {
        (lo.min(y), hi.max(y))
    });
    let margin = ((x1 - x0) + (y1 - y0)) * 0.5 + 1e-3;
    let (x0, x1, y0, y1) = (x0 - margin, x1 + margin, y0 - margin, y1 + margin);
    // Extend both ends straight out to the box edge.
    let extend = |from: [f64; 2], towards: [f64; 2]| -> [f64; 2] {
        let (dx, dy) = (from[0] - towards[0], from[1] - towards[1]);
        let len = dx.hypot(dy).max(f64::MIN_POSITIVE);
        let t = [(x0, dx), (x1, dx), (y0, dy), (y1, dy)]
            .iter()
            .enumerate()
            .filter_map(|(i, &(edge, d))| {
                let origin = if i < 2 { from[0] } else { from[1] };
                (d != 0.0)
                    .then(|| (edge - origin) / (d / len))
                    .filter(|t| *t > 0.0)
            })
            .fold(f64::INFINITY, f64::min);
        [from[0] + dx / len * t, from[1] + dy / len * t]
    };
    let start = extend(first, line[1]);
    let end = extend(last, line[line.len() - 2]);
    // Walk the box boundary counter-clockwise from `end` back to `start`.
    let perimeter_pos = |p: [f64; 2]| -> f64 {
        let (w, h) = (x1 - x0, y1 - y0);
        if (p[1] - y0).abs() < 1e-12 {
            p[0] - x0
        } else if (p[0] - x1).abs() < 1e-12 {
            w + (p[1] - y0)
        } else if (p[1] - y1).abs() < 1e-12 {
            w + h + (x1 - p[0])
        } else {
            2.0 * w + h + (y1 - p[1])
        }
    };
    let corners = [([x1, y0], 0), ([x1, y1], 1), ([x0, y1], 2), ([x0, y0], 3)];
    let (w, h) = (x1 - x0, y1 - y0);
    let corner_pos = [w, w + h, 2.0 * w + h, 2.0 * (w + h)];
    let (from, to) = (perimeter_pos(end), perimeter_pos(start));
    let mut ring: Vec<Coord<f64>> = std::iter::once(start)
        .chain(line.iter().copied())
        .chain(std::iter::once(end))
        .map(|p| Coord { x: p[0], y: p[1] })
        .collect();
    let total = 2.0 * (w + h);
    let span = (to - from).rem_euclid(total);
    let mut walked: Vec<(f64, [f64; 2])> = corners
        .iter()
        .map(|&(c, i)| ((corner_pos[i] - from).rem_euclid(total), c))
        .filter(|(d, _)| *d > 0.0 && *d < span)
        .collect();
    walked.sort_by(|a, b| a.0.total_cmp(&b.0));
    ring.extend(walked.into_iter().map(|(_, c)| Coord { x: c[0], y: c[1] }));
    let left = Polygon::new(LineString::from(ring), Vec::new());
    // Normalise (the ring may wind either way, and a wiggly line may touch itself).
    Ok(unary_union(std::iter::once(&left)))
}

/// Parts as a split proposal: workers and office space shared by households, office at a point
/// inside each part.
fn proposal(registry: &Registry, c: usize, parts: Vec<MultiPolygon<f64>>) -> Value {
    let parent = &registry.communities[c];
    let households: Vec<f64> = parts
        .iter()
        .map(|p| {
            parent
                .grids
                .iter()
                .map(|&g| {
                    let grid = &registry.grids[g];
                    let share = area_m2(&grid.area.intersection(p))
                        / area_m2(&grid.area).max(f64::MIN_POSITIVE);
                    grid.counts.households as f64 * share
                })
                .sum()
        })
        .collect();
    let total: f64 = households.iter().sum::<f64>().max(1.0);
    let features: Vec<Value> = parts
        .iter()
        .zip(&households)
        .enumerate()
        .map(|(i, (area, h))| {
            let share = h / total;
            let office = area.interior_point().map(|p| json!([p.x(), p.y()]));
            json!({"type": "Feature",
                   "properties": {"name": format!("{}（{}）", parent.name.trim_end_matches("社区"), i + 1),
                                  "kind": parent.kind.as_str(),
                                  "workers": (parent.workers as f64 * share).round() as u64,
                                  "office_area_m2": (parent.office_area_m2 * share).round(),
                                  "office": office},
                   "geometry": area_to_geojson(area, None)})
        })
        .collect();
    json!({"type": "FeatureCollection",
           "proposal": {"kind": "split", "title": format!("{}拆分", parent.name), "parents": [parent.code]},
           "features": features})
}
