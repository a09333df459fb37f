//! Normalisation of free-text addresses, so that the ways people and systems write the same
//! address compare equal: full-width ASCII and spaces, common traditional characters, Chinese
//! house numbers (十二号 = 12号), punctuation and spacing, and optional province/city/town prefixes.

use std::collections::HashMap;

use super::numerals;

/// Characters after which a run of Chinese numerals is a number (号, 栋 …), not part of a name
/// (五桂山 and 三角 stay as they are).
const NUMBER_UNITS: &[char] = &['号', '栋', '幢', '座', '楼', '层', '室', '弄', '巷'];

/// Province and city prefixes that may be given or left out.
const REGION_PREFIXES: &[&str] = &["广东省", "广东", "中山市"];

/// Suffixes of town names that may be left out (石岐街道 → 石岐).
const TOWN_SUFFIXES: &[&str] = &["街道", "镇"];

/// Common traditional characters of addresses and their simplified forms.
const TRADITIONAL: &[(char, char)] = &[
    ('號', '号'),
    ('東', '东'),
    ('區', '区'),
    ('鎮', '镇'),
    ('廣', '广'),
    ('門', '门'),
    ('華', '华'),
    ('興', '兴'),
    ('樂', '乐'),
    ('寧', '宁'),
    ('豐', '丰'),
    ('榮', '荣'),
    ('雲', '云'),
    ('陽', '阳'),
    ('鳳', '凤'),
    ('蓮', '莲'),
    ('錦', '锦'),
    ('銀', '银'),
    ('長', '长'),
    ('龍', '龙'),
    ('灣', '湾'),
    ('頭', '头'),
    ('鄉', '乡'),
    ('崗', '岗'),
    ('園', '园'),
    ('橫', '横'),
    ('湧', '涌'),
    ('黃', '黄'),
    ('橋', '桥'),
    ('樓', '楼'),
    ('層', '层'),
    ('棟', '栋'),
    ('國', '国'),
    ('業', '业'),
    ('廈', '厦'),
    ('場', '场'),
    ('島', '岛'),
    ('莊', '庄'),
    ('發', '发'),
    ('開', '开'),
    ('關', '关'),
    ('環', '环'),
    ('麗', '丽'),
    ('裡', '里'),
    ('圍', '围'),
    ('嶺', '岭'),
    ('瑯', '琅'),
    ('欖', '榄'),
    ('鳴', '鸣'),
    ('學', '学'),
    ('縣', '县'),
    ('張', '张'),
    ('陳', '陈'),
    ('們', '们'),
    ('淸', '清'),
    ('悅', '悦'),
    ('閣', '阁'),
    ('軒', '轩'),
    ('館', '馆'),
];

/// The simplified form of a traditional character (itself if not in the table).
pub fn simplified(c: char) -> char {
    TRADITIONAL
        .iter()
        .find(|(t, _)| *t == c)
        .map_or(c, |&(_, s)| s)
}

/// The traditional form of a simplified character, if the table has one that differs.
pub fn traditional(c: char) -> Option<char> {
    TRADITIONAL
        .iter()
        .find(|(t, s)| *s == c && t != s)
        .map(|&(t, _)| t)
}

/// Full-width ASCII and the ideographic space → ASCII; traditional → simplified; lower case.
fn fold(c: char) -> char {
    let c = match c {
        '\u{3000}' => ' ',
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        _ => c,
    };
    simplified(c).to_ascii_lowercase()
}

fn is_separator(c: char) -> bool {
    c.is_whitespace() || c.is_ascii_punctuation() || "，。、·－—（）【】《》“”‘’：；".contains(c)
}

/// Folds, drops separators and turns Chinese house numbers into Arabic digits.
pub fn canonical(text: &str) -> String {
    let chars: Vec<char> = text
        .chars()
        .map(fold)
        .filter(|&c| !is_separator(c))
        .collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let run = chars[i..]
            .iter()
            .take_while(|&&c| numerals::is_numeral(c))
            .count();
        if run > 0 {
            let followed = chars.get(i + run).is_some_and(|c| NUMBER_UNITS.contains(c));
            match numerals::parse(&chars[i..i + run]) {
                Some(n) if followed => out.push_str(&n.to_string()),
                _ => out.extend(&chars[i..i + run]),
            }
            i += run;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

/// Splits canonical addresses into an optional town and the rest (road, number …).
#[derive(Debug, Clone, Default)]
pub struct Normalizer {
    /// Canonical town names and short names, each with the first town (by position) so named.
    towns: HashMap<String, usize>,
    /// The byte lengths of those names, longest first: a text's town is its longest prefix
    /// that is a name. Looking each length up costs a handful of hash probes per address,
    /// where trying every name cost one comparison per name (2,300 towns at ×100, issue 20).
    lengths: Vec<usize>,
}

/// An address reduced to what identifies it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Normalized {
    /// The town named in the text, if any (position in the list given to [`Normalizer::new`]).
    pub town: Option<usize>,
    /// Everything after the prefixes, canonical.
    pub core: String,
}

impl Normalizer {
    pub fn new<'a>(town_names: impl IntoIterator<Item = &'a str>) -> Self {
        let mut towns = Vec::new();
        for (i, name) in town_names.into_iter().enumerate() {
            let full = canonical(name);
            for suffix in TOWN_SUFFIXES {
                if let Some(short) = full.strip_suffix(suffix).filter(|s| s.chars().count() >= 2) {
                    towns.push((short.to_owned(), i));
                }
            }
            towns.push((full, i));
        }
        let mut by_name: HashMap<String, usize> = HashMap::new();
        for (name, i) in towns {
            let first = by_name.entry(name).or_insert(i);
            *first = (*first).min(i);
        }
        let mut lengths: Vec<usize> = by_name.keys().map(String::len).collect();
        lengths.sort_unstable_by(|a, b| b.cmp(a));
        lengths.dedup();
        Normalizer {
            towns: by_name,
            lengths,
        }
    }

    pub fn normalize(&self, text: &str) -> Normalized {
        let canonical = canonical(text);
        let mut rest = canonical.as_str();
        for prefix in REGION_PREFIXES {
            rest = rest.strip_prefix(prefix).unwrap_or(rest);
        }
        let town = self.lengths.iter().find_map(|&len| {
            let name = rest.get(..len)?;
            self.towns.get(name).map(|&i| (i, &rest[len..]))
        });
        match town {
            Some((i, r)) => Normalized {
                town: Some(i),
                core: r.to_owned(),
            },
            None => Normalized {
                town: None,
                core: rest.to_owned(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variants_meet() {
        let n = Normalizer::new(["石岐街道", "五桂山街道", "三角镇"]);
        let want = Normalized {
            town: Some(0),
            core: "兴华路12号".into(),
        };
        for text in [
            "石岐街道兴华路12号",
            "广东省中山市石岐街道兴华路十二号",
            "石岐 兴华路 １２ 号",
            "石岐街道興華路拾二號".replace('拾', "十").as_str(),
            "中山市石岐兴华路一二号",
        ] {
            assert_eq!(n.normalize(text), want, "{text}");
        }
        // Numerals that are part of names stay.
        assert_eq!(n.normalize("五桂山街道长乐路3号").town, Some(1));
        assert_eq!(n.normalize("三角镇长乐路三号").core, "长乐路3号");
        assert_eq!(n.normalize("兴华路12号").town, None);
    }
}
