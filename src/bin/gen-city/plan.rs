//! The list of communities to make, before any geometry exists.
//!
//! For each town, in numbering order: its standard communities, then its village-converted ones
//! (numbers 001…), then its villages (201…), then its communities without territory (numbers
//! continuing after the converted ones). Each gets a name and a target size in grids; the
//! targets decide how many seeds (cells) each town receives.

use crate::census::Kind;
use crate::names::NamePool;
use crate::rng::{Rng, hash2};
use crate::towns::{CHENGNAN_AT, CHENGNAN_GRIDS, TOWNS, YINGYANG_AT, YINGYANG_GRIDS};

/// Communities whose figures are prescribed by the 2022 report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Plain,
    /// 迎阳社区: exactly `YINGYANG_GRIDS` grids, fixed totals.
    Yingyang,
    /// 城南社区: the community to be split, fixed totals on each side of a line.
    Chengnan,
}

/// One community to be made.
pub struct Plan {
    /// Index into `TOWNS`.
    pub town: usize,
    pub kind: Kind,
    /// Last three digits of the code.
    pub number: u32,
    pub name: String,
    /// False for the communities with no defined territory.
    pub territory: bool,
    /// Target number of grids (cells).
    pub target: f64,
    pub role: Role,
}

impl Plan {
    /// A grid count that must be met exactly, if any.
    pub fn exact_grids(&self) -> Option<usize> {
        (self.role == Role::Yingyang).then_some(YINGYANG_GRIDS)
    }
}

const TAG_TARGETS: u64 = 101;
const TAG_NAMES: u64 = 102;

/// All communities of the city, town by town in numbering order.
pub fn plan_communities(seed: u64) -> Vec<Plan> {
    let mut rng = Rng::stream(seed, TAG_TARGETS);
    let mut plans = Vec::new();
    for (t, town) in TOWNS.iter().enumerate() {
        let mut names = NamePool::new(town.names);
        let mut name_rng = Rng::stream(hash2(seed, TAG_NAMES), u64::from(town.code));
        let kinds = std::iter::repeat_n(Kind::Community, usize::from(town.communities))
            .chain(std::iter::repeat_n(
                Kind::VillageConverted,
                usize::from(town.converted),
            ))
            .chain(std::iter::repeat_n(
                Kind::Village,
                usize::from(town.villages),
            ));
        let mut urban = 0u32;
        let mut villages = 0u32;
        for (slot, kind) in kinds.enumerate() {
            let role = match (town.code, slot) {
                at if at == YINGYANG_AT => Role::Yingyang,
                at if at == CHENGNAN_AT => Role::Chengnan,
                _ => Role::Plain,
            };
            let target = match (role, kind) {
                (Role::Yingyang, _) => YINGYANG_GRIDS as f64,
                (Role::Chengnan, _) => CHENGNAN_GRIDS,
                (Role::Plain, Kind::Community) => rng.range(15.0, 27.0),
                (Role::Plain, Kind::VillageConverted) => rng.range(13.0, 25.0),
                (Role::Plain, Kind::Village) => rng.range(10.0, 22.0),
            };
            let number = if kind == Kind::Village {
                villages += 1;
                200 + villages
            } else {
                urban += 1;
                urban
            };
            let name = match town.names.get(slot) {
                Some(n) => (*n).to_string(),
                None if kind == Kind::Village => names.fresh(&mut name_rng, "村"),
                None => names.fresh(&mut name_rng, "社区"),
            };
            plans.push(Plan {
                town: t,
                kind,
                number,
                name,
                territory: true,
                target,
                role,
            });
        }
        for _ in 0..town.no_territory {
            urban += 1;
            plans.push(Plan {
                town: t,
                kind: Kind::Community,
                number: urban,
                name: names.fresh(&mut name_rng, "社区"),
                territory: false,
                target: 0.0,
                role: Role::Plain,
            });
        }
    }
    plans
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbering_and_required_communities() {
        let plans = plan_communities(1);
        let find = |name: &str| plans.iter().find(|p| p.name == name).expect(name);
        let chengnan = find("城南社区");
        assert_eq!((TOWNS[chengnan.town].code, chengnan.number), (5, 3));
        assert_eq!(chengnan.role, Role::Chengnan);
        assert_eq!(find("迎阳社区").exact_grids(), Some(8));
        for name in [
            "竹苑社区",
            "花苑社区",
            "桃苑社区",
            "桥岗社区",
            "东裕社区",
            "夏洋社区",
        ] {
            assert_eq!(TOWNS[find(name).town].code, 2);
        }
        for p in &plans {
            assert_eq!(p.number > 200, p.kind == Kind::Village);
            assert!(p.name.ends_with(if p.kind == Kind::Village {
                "村"
            } else {
                "社区"
            }));
        }
    }
}
