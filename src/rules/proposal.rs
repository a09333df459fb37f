//! Proposals as officials send them: a GeoJSON FeatureCollection with a `proposal` member
//! (`kind`, `title`, `parents`) and one feature per proposed community (a "part").

use geo::{MultiPolygon, Point};
use serde::Serialize;
use serde_json::Value;

use crate::crs::Crs;
use crate::registry::{CommunityKind, Plausible, Registry, parse_area};

/// What a proposal does to the parents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProposalKind {
    /// One parent, two or more parts that partition it.
    Split,
    /// Two or more parents, one part that is their union.
    Merge,
    /// Parts replace parents with the same union.
    Adjust,
    /// Parts take unassigned land or land of the listed parents.
    New,
}

/// A proposed community.
#[derive(Debug, Clone)]
pub struct Part {
    pub name: String,
    pub kind: CommunityKind,
    pub workers: u32,
    pub office_area_m2: f64,
    pub office: Option<Point<f64>>,
    /// Written reasons for an exception (e.g. a size outside the normal range).
    pub justification: Option<String>,
    pub area: MultiPolygon<f64>,
}

#[derive(Debug, Clone)]
pub struct Proposal {
    pub kind: ProposalKind,
    pub title: String,
    /// Indices of the parent communities in the registry.
    pub parents: Vec<usize>,
    pub parts: Vec<Part>,
}

/// Why a proposal cannot be validated: malformed (HTTP 400) or well-formed but invalid (422).
/// Every problem found is listed, each naming where it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", problems.join("; "))]
pub struct ProposalError {
    pub malformed: bool,
    pub problems: Vec<String>,
}

#[derive(Default)]
struct Problems {
    malformed: Vec<String>,
    invalid: Vec<String>,
}

fn field<'a>(obj: &'a Value, key: &str) -> Option<&'a Value> {
    obj.get(key).filter(|v| !v.is_null())
}

/// Parses a proposal against `registry` (parents must exist and have territory); workers and
/// office areas beyond `plausible` (the guidelines' maxima) are refused naming the field.
pub fn parse(
    value: &Value,
    registry: &Registry,
    plausible: &Plausible,
) -> Result<Proposal, ProposalError> {
    let mut p = Problems::default();
    if value.get("type").and_then(Value::as_str) != Some("FeatureCollection") {
        p.malformed
            .push("expected a GeoJSON FeatureCollection".to_owned());
    }
    let meta = value.get("proposal").filter(|m| m.is_object());
    if meta.is_none() {
        p.malformed
            .push("member `proposal` (an object with kind, title, parents) is missing".to_owned());
    }
    let meta = meta.unwrap_or(&Value::Null);
    let kind = proposal_kind(meta, &mut p);
    let crs = proposal_crs(meta, &mut p);
    let title = field(meta, "title")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if let Err(e) = crate::text::check(&title, crate::text::MAX_TITLE_CHARS, false) {
        p.invalid.push(format!("proposal.title: {e}"));
    }
    let parents = proposal_parents(meta, registry, &mut p);
    let features = value.get("features").and_then(Value::as_array);
    if features.is_none() {
        p.malformed
            .push("member `features` must be an array".to_owned());
    }
    let parts: Vec<Part> = features
        .into_iter()
        .flatten()
        .enumerate()
        .filter_map(|(i, f)| match &crs {
            None => parse_part(i, f, (registry, plausible), &parents, &mut p),
            Some(crs) => match to_wgs84(f, crs) {
                Ok(f) => parse_part(i, &f, (registry, plausible), &parents, &mut p),
                Err(e) => {
                    p.invalid.push(format!("features[{i}]: {e}"));
                    None
                }
            },
        })
        .collect();
    check_counts(kind, parents.len(), features.map_or(0, Vec::len), &mut p);
    match kind {
        Some(kind) if p.malformed.is_empty() && p.invalid.is_empty() => Ok(Proposal {
            kind,
            title,
            parents,
            parts,
        }),
        _ => Err(ProposalError {
            malformed: !p.malformed.is_empty(),
            problems: p.malformed.into_iter().chain(p.invalid).collect(),
        }),
    }
}

fn proposal_kind(meta: &Value, p: &mut Problems) -> Option<ProposalKind> {
    match field(meta, "kind").and_then(Value::as_str) {
        Some("split") => Some(ProposalKind::Split),
        Some("merge") => Some(ProposalKind::Merge),
        Some("adjust") => Some(ProposalKind::Adjust),
        Some("new") => Some(ProposalKind::New),
        other => {
            p.malformed.push(format!(
                "proposal.kind: expected split, merge, adjust or new, found {}",
                other.map_or("nothing".to_owned(), |k| format!("{k:?}"))
            ));
            None
        }
    }
}

/// Parts may be drawn in another CRS (`"crs": "gcj02"`, `"EPSG:4547"`, …): converted here.
fn proposal_crs(meta: &Value, p: &mut Problems) -> Option<Crs> {
    let v = field(meta, "crs")?;
    match v.as_str().map(str::parse::<Crs>) {
        Some(Ok(crs)) => Some(crs),
        Some(Err(e)) => {
            p.malformed.push(format!("proposal.crs: {e}"));
            None
        }
        None => {
            p.malformed.push(
                "proposal.crs: expected a string such as \"gcj02\" or \"EPSG:4547\"".to_owned(),
            );
            None
        }
    }
}

fn proposal_parents(meta: &Value, registry: &Registry, p: &mut Problems) -> Vec<usize> {
    let mut parents = Vec::new();
    match field(meta, "parents") {
        None => {}
        Some(Value::Array(codes)) => {
            for (i, code) in codes.iter().enumerate() {
                let Some(code) = code.as_str() else {
                    p.malformed
                        .push(format!("proposal.parents[{i}]: expected a community code"));
                    continue;
                };
                match registry.community_by_code(code) {
                    None => p.invalid.push(format!("proposal.parents[{i}]: unknown community {code}")),
                    Some(c) if registry.communities[c].territory.is_none() => p.invalid.push(format!(
                        "proposal.parents[{i}]: community {code} has no defined territory to re-draw"
                    )),
                    Some(c) if parents.contains(&c) => {
                        p.invalid.push(format!("proposal.parents[{i}]: {code} is listed twice"))
                    }
                    Some(c) => parents.push(c),
                }
            }
        }
        Some(_) => p
            .malformed
            .push("proposal.parents: expected an array of community codes".to_owned()),
    }
    parents
}

/// Each kind of proposal needs so many parents and parts.
fn check_counts(kind: Option<ProposalKind>, n_parents: usize, n_parts: usize, p: &mut Problems) {
    let counts_ok = match kind {
        Some(ProposalKind::Split) => n_parents == 1 && n_parts >= 2,
        Some(ProposalKind::Merge) => n_parents >= 2 && n_parts == 1,
        Some(ProposalKind::Adjust) => n_parents >= 1 && n_parts >= 1,
        Some(ProposalKind::New) => n_parts >= 1,
        None => true,
    };
    if !counts_ok {
        let needs = match kind {
            Some(ProposalKind::Split) => "a split needs exactly 1 parent and at least 2 parts",
            Some(ProposalKind::Merge) => "a merge needs at least 2 parents and exactly 1 part",
            Some(ProposalKind::Adjust) => "an adjustment needs at least 1 parent and 1 part",
            _ => "a new community needs at least 1 part",
        };
        p.invalid.push(format!(
            "{needs}; got {n_parents} parents and {n_parts} parts"
        ));
    }
}

/// A feature with its geometry and office converted to WGS84.
fn to_wgs84(feature: &Value, crs: &Crs) -> Result<Value, String> {
    fn walk(v: &mut Value, crs: &Crs) -> Result<(), String> {
        let Some(items) = v.as_array_mut() else {
            return Ok(());
        };
        if let [x, y, ..] = items.as_slice()
            && let (Some(x), Some(y)) = (x.as_f64(), y.as_f64())
        {
            let [lon, lat] = crs.to_wgs84([x, y]).map_err(|e| e.to_string())?;
            *v = serde_json::json!([lon, lat]);
            return Ok(());
        }
        items.iter_mut().try_for_each(|item| walk(item, crs))
    }
    let mut f = feature.clone();
    if let Some(coordinates) = f.get_mut("geometry").and_then(|g| g.get_mut("coordinates")) {
        walk(coordinates, crs)?;
    }
    if let Some(office) = f.get_mut("properties").and_then(|p| p.get_mut("office")) {
        walk(office, crs)?;
    }
    Ok(f)
}

fn parse_part(
    i: usize,
    f: &Value,
    (registry, plausible): (&Registry, &Plausible),
    parents: &[usize],
    p: &mut Problems,
) -> Option<Part> {
    let at = |what: &str| format!("features[{i}].{what}");
    let Some(props) = f.get("properties").filter(|v| v.is_object()) else {
        p.malformed.push(at("properties: missing"));
        return None;
    };
    let name = part_name(props, &at, p);
    let workers = part_workers(props, &at, plausible.workers, p);
    let office_area = part_office_area(props, &at, plausible.office_area_m2, p);
    let office = part_office(props, &at, p);
    let kind = match field(props, "kind").and_then(Value::as_str) {
        Some(k) => CommunityKind::parse(k).or_else(|| {
            p.malformed
                .push(at(&format!("properties.kind: unknown kind {k:?}")));
            None
        }),
        None => Some(
            parents
                .first()
                .map_or(CommunityKind::Community, |&c| registry.communities[c].kind),
        ),
    };
    let justification = field(props, "justification")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|j| !j.is_empty())
        .map(str::to_owned);
    if let Some(Err(e)) = justification
        .as_deref()
        .map(|j| crate::text::check(j, crate::text::MAX_TEXT_CHARS, true))
    {
        p.invalid
            .push(at(&format!("properties.justification: {e}")));
    }
    let area = part_geometry(f, &at, p);
    Some(Part {
        name: name?.to_owned(),
        kind: kind?,
        workers: workers?,
        office_area_m2: office_area?,
        office: office?,
        justification,
        area: area?,
    })
}

/// Where in the document a problem is: `features[i].<what>`.
type At<'a> = &'a dyn Fn(&str) -> String;

fn part_name<'v>(props: &'v Value, at: At, p: &mut Problems) -> Option<&'v str> {
    let name = field(props, "name")
        .and_then(Value::as_str)
        .filter(|n| !n.trim().is_empty());
    match name {
        None => p
            .malformed
            .push(at("properties.name: missing (a non-empty string)")),
        Some(n) => {
            if let Err(e) = crate::text::check(n, crate::text::MAX_NAME_CHARS, false) {
                p.invalid.push(at(&format!("properties.name: {e}")));
            }
        }
    }
    name
}

fn part_workers(props: &Value, at: At, max: u64, p: &mut Problems) -> Option<u32> {
    let Some(w) = field(props, "workers") else {
        p.malformed
            .push(at("properties.workers: missing (a non-negative integer)"));
        return None;
    };
    match w.as_u64() {
        Some(n) if n <= max => u32::try_from(n).ok(),
        Some(n) => {
            p.invalid.push(at(&format!(
                "properties.workers: {n} is implausibly large; at most {max} (plausible.workers \
                 in guidelines.toml)"
            )));
            None
        }
        None if w.is_number() => {
            p.invalid.push(at(&format!(
                "properties.workers: {w} is not a non-negative whole number"
            )));
            None
        }
        None => {
            p.malformed
                .push(at("properties.workers: expected a non-negative integer"));
            None
        }
    }
}

fn part_office_area(props: &Value, at: At, max: f64, p: &mut Problems) -> Option<f64> {
    let Some(a) = field(props, "office_area_m2") else {
        p.malformed.push(at(
            "properties.office_area_m2: missing (a non-negative number)",
        ));
        return None;
    };
    match a.as_f64() {
        Some(x) if (0.0..=max).contains(&x) => Some(x),
        Some(x) => {
            p.invalid.push(at(&format!(
                "properties.office_area_m2: {x} m² is {}; give 0 to {max} m²",
                if x < 0.0 {
                    "negative"
                } else {
                    "implausibly large"
                }
            )));
            None
        }
        None => {
            p.malformed.push(at(
                "properties.office_area_m2: expected a non-negative number",
            ));
            None
        }
    }
}

/// `Some(None)`: no office given; `None`: a problem was recorded.
fn part_office(props: &Value, at: At, p: &mut Problems) -> Option<Option<Point<f64>>> {
    let Some(v) = field(props, "office") else {
        return Some(None);
    };
    let expected = "properties.office: expected [longitude, latitude]";
    let Some([lon, lat]) = v.as_array().map(Vec::as_slice) else {
        p.malformed.push(at(expected));
        return None;
    };
    match (lon.as_f64(), lat.as_f64()) {
        (Some(lon), Some(lat))
            if (-180.0..=180.0).contains(&lon) && (-90.0..=90.0).contains(&lat) =>
        {
            Some(Some(Point::new(lon, lat)))
        }
        (Some(_), Some(_)) => {
            p.invalid
                .push(at("properties.office: position out of range"));
            None
        }
        _ => {
            p.malformed.push(at(expected));
            None
        }
    }
}

fn part_geometry(f: &Value, at: At, p: &mut Problems) -> Option<MultiPolygon<f64>> {
    let Some(g) = field(f, "geometry") else {
        p.malformed.push(at("geometry: missing"));
        return None;
    };
    match parse_area(g) {
        Ok(a) => Some(a),
        Err(messages) => {
            // Structure errors are malformed input; geometry that parses but is invalid
            // (crossing, open, out of range) is well-formed but invalid.
            let structural = messages
                .iter()
                .any(|m| m.contains("expected") || m.contains("missing"));
            let target = if structural {
                &mut p.malformed
            } else {
                &mut p.invalid
            };
            target.extend(messages.iter().map(|m| at(&format!("geometry: {m}"))));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(what: &str) -> String {
        format!("features[0].{what}")
    }

    #[test]
    fn part_fields_sort_problems_into_malformed_and_invalid() {
        let mut p = Problems::default();
        assert_eq!(
            part_workers(&json!({"workers": 12}), &at, 10_000, &mut p),
            Some(12)
        );
        assert_eq!(
            part_workers(&json!({"workers": 1.5}), &at, 10_000, &mut p),
            None
        );
        assert_eq!(
            part_workers(&json!({"workers": "12"}), &at, 10_000, &mut p),
            None
        );
        assert_eq!(part_office(&json!({}), &at, &mut p), Some(None));
        assert_eq!(
            part_office(&json!({"office": [200.0, 0.0]}), &at, &mut p),
            None
        );
        assert_eq!(
            part_office_area(&json!({"office_area_m2": -1}), &at, 1e6, &mut p),
            None
        );
        assert_eq!(
            p.invalid,
            [
                "features[0].properties.workers: 1.5 is not a non-negative whole number",
                "features[0].properties.office: position out of range",
                "features[0].properties.office_area_m2: -1 m² is negative; give 0 to 1000000 m²",
            ]
        );
        assert_eq!(
            p.malformed,
            ["features[0].properties.workers: expected a non-negative integer"]
        );
    }

    #[test]
    fn each_kind_needs_its_parents_and_parts() {
        let mut p = Problems::default();
        check_counts(Some(ProposalKind::Split), 1, 2, &mut p);
        check_counts(Some(ProposalKind::Merge), 2, 1, &mut p);
        assert!(p.invalid.is_empty());
        check_counts(Some(ProposalKind::Split), 1, 1, &mut p);
        assert_eq!(
            p.invalid,
            ["a split needs exactly 1 parent and at least 2 parts; got 1 parents and 1 parts"]
        );
    }
}
