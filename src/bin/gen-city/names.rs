//! Plausible Chinese place names for communities and villages without a real name.
//!
//! Two characters drawn from the vocabulary of Pearl River Delta place names (涌 creek,
//! 围 polder, 岗 hillock, 滘 waterway, 埔 riverside flat, …) make names like 沙涌 or 龙岗; a town
//! never gets the same stem twice, so names are unique within a town.

use std::collections::BTreeSet;

use crate::rng::Rng;

const FIRST: [&str; 48] = [
    "东", "西", "南", "北", "新", "上", "下", "大", "小", "龙", "凤", "沙", "石", "岗", "涌", "塘",
    "田", "湾", "洲", "溪", "岭", "围", "福", "安", "平", "兴", "隆", "和", "丰", "永", "宝", "金",
    "白", "黄", "青", "翠", "长", "高", "泰", "乐", "康", "华", "光", "明", "德", "仁", "义", "莲",
];

const SECOND: [&str; 32] = [
    "头", "尾", "涌", "围", "坑", "塘", "洲", "岗", "边", "田", "湾", "基", "滘", "冲", "沙", "岭",
    "埔", "角", "口", "心", "圩", "园", "苑", "庄", "堡", "山", "湖", "溪", "桥", "安", "和", "兴",
];

/// Name stems already used in one town.
pub struct NamePool {
    stems: BTreeSet<String>,
}

impl NamePool {
    /// A pool that will not repeat the stems of `reserved` (full names ending in 社区 or 村).
    pub fn new(reserved: &[&str]) -> Self {
        let stems = reserved.iter().map(|n| stem(n).to_string()).collect();
        NamePool { stems }
    }

    /// A new name with the given suffix (社区 or 村).
    pub fn fresh(&mut self, rng: &mut Rng, suffix: &str) -> String {
        loop {
            let a = FIRST[rng.below(FIRST.len())];
            let b = SECOND[rng.below(SECOND.len())];
            if a == b {
                continue;
            }
            let s = format!("{a}{b}");
            if self.stems.insert(s.clone()) {
                return format!("{s}{suffix}");
            }
        }
    }
}

fn stem(name: &str) -> &str {
    name.trim_end_matches("社区").trim_end_matches('村')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_suffixed() {
        let mut pool = NamePool::new(&["沙涌社区"]);
        let mut rng = Rng::stream(1, 1);
        let mut seen = BTreeSet::new();
        for i in 0..300 {
            let suffix = if i % 2 == 0 { "社区" } else { "村" };
            let n = pool.fresh(&mut rng, suffix);
            assert!(n.ends_with(suffix));
            assert!(seen.insert(stem(&n).to_string()), "{n}");
            assert_ne!(stem(&n), "沙涌");
        }
    }
}
