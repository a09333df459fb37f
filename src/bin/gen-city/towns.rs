//! The fixed description of the city: its 23 real towns/streets and how many communities of each
//! kind each one holds.
//!
//! Codes, names and rough positions are the real ones of Zhongshan; areas are close to the real
//! ones; the community counts are chosen so the city totals match the 2022 report (63 standard
//! communities with territory, 13 without, 61 village-converted, ~150 villages). Everything else
//! (borders, grids, households) is generated.

/// One town or street (镇街).
#[derive(Clone, Copy, Debug)]
pub struct TownSpec {
    /// Last three digits of the 9-digit town code.
    pub code: u16,
    pub name: &'static str,
    /// Where its centre roughly is (degrees).
    pub lon: f64,
    pub lat: f64,
    /// Target land area, km² (the generator tunes town growth towards these proportions).
    pub area_km2: f64,
    /// Standard urban communities with territory.
    pub communities: u16,
    /// Village-converted communities (村改居).
    pub converted: u16,
    pub villages: u16,
    /// Urban communities with no defined territory (geometry null).
    pub no_territory: u16,
    /// Central streets are denser and less peaked around their centre.
    pub central: bool,
    /// Real names for the first communities with territory, in numbering order.
    pub names: &'static [&'static str],
}

const fn town(
    code: u16,
    name: &'static str,
    pos: (f64, f64),
    area_km2: f64,
    counts: (u16, u16, u16, u16),
    names: &'static [&'static str],
) -> TownSpec {
    TownSpec {
        code,
        name,
        lon: pos.0,
        lat: pos.1,
        area_km2,
        communities: counts.0,
        converted: counts.1,
        villages: counts.2,
        no_territory: counts.3,
        central: code <= 5 && code != 3,
        names,
    }
}

/// The 23 towns/streets, sorted by code.
pub const TOWNS: [TownSpec; 23] = [
    town(
        1,
        "石岐街道",
        (113.378, 22.522),
        45.0,
        (16, 0, 0, 2),
        &[
            "迎阳社区",
            "太平社区",
            "悦来社区",
            "民生社区",
            "仁厚社区",
            "凤鸣社区",
            "湖滨社区",
            "员峰社区",
            "基边社区",
            "南下社区",
            "宏基社区",
            "海景社区",
            "厚兴社区",
            "龙山社区",
            "张溪社区",
            "莲塘社区",
        ],
    ),
    town(
        2,
        "东区街道",
        (113.414, 22.514),
        62.0,
        (14, 2, 0, 2),
        &[
            "竹苑社区",
            "花苑社区",
            "桃苑社区",
            "桥岗社区",
            "东裕社区",
            "夏洋社区",
            "松苑社区",
            "柏苑社区",
            "银湾社区",
            "长江社区",
            "齐东社区",
            "新安社区",
            "亨尾社区",
            "白沙湾社区",
            "库充社区",
            "槎桥社区",
        ],
    ),
    town(
        3,
        "中山港街道",
        (113.472, 22.558),
        88.0,
        (5, 3, 4, 1),
        &[
            "中山港社区",
            "张家边社区",
            "濠头社区",
            "窈窕社区",
            "江尾头社区",
            "神涌社区",
            "大岭社区",
            "沙边社区",
        ],
    ),
    town(
        4,
        "西区街道",
        (113.346, 22.534),
        30.0,
        (10, 1, 0, 1),
        &[
            "彩虹社区",
            "翠景社区",
            "长洲社区",
            "隆平社区",
            "烟洲社区",
            "广丰社区",
            "后山社区",
            "金华社区",
            "西苑社区",
            "富华社区",
            "沙朗社区",
        ],
    ),
    town(
        5,
        "南区街道",
        (113.384, 22.484),
        45.0,
        (6, 2, 0, 1),
        &[
            "北溪社区",
            "马岭社区",
            "城南社区",
            "竹秀园社区",
            "沙涌社区",
            "曹边社区",
            "树涌社区",
            "寮后社区",
        ],
    ),
    town(6, "五桂山街道", (113.452, 22.438), 105.0, (0, 2, 6, 0), &[]),
    town(7, "民众街道", (113.498, 22.632), 125.0, (0, 4, 14, 0), &[]),
    town(8, "南朗街道", (113.556, 22.492), 200.0, (0, 4, 16, 0), &[]),
    town(101, "黄圃镇", (113.340, 22.712), 88.0, (1, 3, 10, 0), &[]),
    town(103, "东凤镇", (113.270, 22.690), 55.0, (0, 3, 10, 0), &[]),
    town(105, "古镇镇", (113.190, 22.612), 48.0, (2, 3, 6, 1), &[]),
    town(106, "沙溪镇", (113.322, 22.516), 55.0, (1, 3, 6, 0), &[]),
    town(107, "坦洲镇", (113.468, 22.272), 130.0, (1, 3, 11, 1), &[]),
    town(108, "港口镇", (113.380, 22.592), 70.0, (1, 3, 5, 1), &[]),
    town(109, "三角镇", (113.422, 22.680), 70.0, (0, 3, 5, 0), &[]),
    town(110, "横栏镇", (113.250, 22.532), 75.0, (0, 3, 9, 0), &[]),
    town(111, "南头镇", (113.292, 22.722), 30.0, (0, 3, 4, 0), &[]),
    town(112, "阜沙镇", (113.350, 22.660), 36.0, (0, 2, 5, 0), &[]),
    town(114, "三乡镇", (113.432, 22.358), 135.0, (2, 4, 12, 1), &[]),
    town(115, "板芙镇", (113.320, 22.415), 80.0, (0, 2, 10, 0), &[]),
    town(116, "大涌镇", (113.282, 22.468), 40.0, (0, 3, 6, 0), &[]),
    town(117, "神湾镇", (113.360, 22.272), 60.0, (0, 1, 5, 0), &[]),
    town(118, "小榄镇", (113.242, 22.662), 76.0, (4, 4, 6, 2), &[]),
];

/// 迎阳社区 (石岐街道): (town code, position in the town's numbering), and as in the report 8 grids,
/// 17,723 residents and 18 workers (households are ours).
pub const YINGYANG_AT: (u16, usize) = (1, 0);
pub const YINGYANG_GRIDS: usize = 8;
pub const YINGYANG_HOUSEHOLDS: u64 = 6_150;
pub const YINGYANG_POPULATION: u64 = 17_723;
pub const YINGYANG_WORKERS: u32 = 18;

/// 城南社区 (南区街道, code …005003), the community the 2022 report describes splitting into
/// 环城社区 (west part) and a smaller 城南社区 (east part): position, target grid count, staff, and
/// households / civil-affairs service households of the grids west and east of the split line.
pub const CHENGNAN_AT: (u16, usize) = (5, 2);
pub const CHENGNAN_GRIDS: f64 = 64.0;
pub const CHENGNAN_WORKERS: u32 = 35;
pub const CHENGNAN_WEST: (u64, u64) = (13_200, 158);
pub const CHENGNAN_EAST: (u64, u64) = (10_400, 67);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_match_the_report() {
        let sum = |f: fn(&TownSpec) -> u16| TOWNS.iter().map(f).map(u32::from).sum::<u32>();
        assert_eq!(sum(|t| t.communities), 63);
        assert_eq!(sum(|t| t.no_territory), 13);
        assert_eq!(sum(|t| t.converted), 61);
        let villages = sum(|t| t.villages);
        assert!((140..=160).contains(&villages), "{villages}");
        assert!(TOWNS.windows(2).all(|w| w[0].code < w[1].code));
        for t in &TOWNS {
            assert!(t.names.len() <= usize::from(t.communities + t.converted));
        }
    }
}
