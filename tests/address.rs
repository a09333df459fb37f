//! The address register of the sample city and address search, in process and over HTTP.

mod common;

use common::{Rng, app, get, post_json};
use serde_json::json;
use shequ::address::normalize::traditional;

/// A house number written in Chinese numerals, the way people write it (2144 → 二千一百四十四,
/// 105 → 一百零五, 12 → 十二). Independent of the library's parser.
fn chinese(n: u64) -> String {
    const D: [char; 10] = ['零', '一', '二', '三', '四', '五', '六', '七', '八', '九'];
    if n < 10 {
        return D[n as usize].to_string();
    }
    let digits: Vec<u64> = n.to_string().bytes().map(|b| u64::from(b - b'0')).collect();
    let units = ['千', '百', '十', ' '];
    let mut out = String::new();
    let mut zero = false;
    for (i, &d) in digits.iter().enumerate() {
        let unit = units[4 - digits.len() + i];
        if d == 0 {
            zero = true;
            continue;
        }
        if zero && !out.is_empty() {
            out.push('零');
        }
        zero = false;
        if !(d == 1 && unit == '十' && out.is_empty()) {
            out.push(D[d as usize]);
        }
        if unit != ' ' {
            out.push(unit);
        }
    }
    out
}

/// Splits "石岐街道翠乐路2144号" into ("石岐街道", "翠乐路", 2144), the town being one of the
/// sample city's town names.
fn parts(address: &str) -> (&str, &str, u64) {
    let town_end = common::sample()
        .registry
        .towns
        .iter()
        .filter(|t| address.starts_with(t.name.as_str()))
        .map(|t| t.name.len())
        .max()
        .expect("town");
    let digits = address
        .find(|c: char| c.is_ascii_digit())
        .expect("house number");
    let number = address[digits..]
        .trim_end_matches('号')
        .parse()
        .expect("number");
    (&address[..town_end], &address[town_end..digits], number)
}

fn full_width(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_digit() {
                char::from_u32(c as u32 + 0xFEE0).unwrap_or(c)
            } else {
                c
            }
        })
        .collect()
}

#[test]
fn chinese_numerals_helper() {
    assert_eq!(chinese(12), "十二");
    assert_eq!(chinese(105), "一百零五");
    assert_eq!(chinese(2144), "二千一百四十四");
    assert_eq!(chinese(3008), "三千零八");
    assert_eq!(chinese(7), "七");
}

#[test]
fn the_register_has_one_entry_per_building_inside_its_grid() {
    let snapshot = common::sample();
    let book = &snapshot.addresses;
    assert!((45_000..=55_000).contains(&book.len()), "{}", book.len());
    let mut seen = std::collections::HashSet::new();
    for (entry, m) in book.entries().iter().zip(0..) {
        assert!(seen.insert(entry.address), "duplicate {}", entry.address);
        // The code starts with the grid's code; the service's own index puts the point there.
        let hit = snapshot.lookup(entry.point);
        let grid = hit.grid.map(|g| snapshot.registry.grids[g].code.as_str());
        assert_eq!(
            grid,
            Some(&entry.code[..15]),
            "entry {m}: {}",
            entry.address
        );
        let (town, road, number) = parts(entry.address);
        let town_of_grid = &snapshot.registry.towns[hit.town.expect("town")].name;
        assert_eq!(town, town_of_grid);
        assert!(road.ends_with('路') || road.ends_with('街'), "{road}");
        assert!(number > 0);
    }
}

#[test]
fn house_numbers_follow_the_road() {
    // Along an east–west road numbers grow eastwards, odd on the north side, even on the south.
    let book = &common::sample().addresses;
    let mut by_road: std::collections::BTreeMap<&str, Vec<(u64, [f64; 2])>> = Default::default();
    for e in book.entries() {
        let (_, road, number) = parts(e.address);
        by_road.entry(road).or_default().push((number, e.point));
    }
    let mut checked = 0;
    for (road, mut houses) in by_road {
        houses.sort_by_key(|h| h.0);
        let along = |p: [f64; 2]| if road.ends_with('路') { p[0] } else { p[1] };
        let across = |p: [f64; 2]| if road.ends_with('路') { p[1] } else { p[0] };
        for w in houses.windows(2) {
            let ((n1, p1), (n2, p2)) = (w[0], w[1]);
            if (n2 - 1) / 2 > (n1 - 1) / 2 {
                assert!(along(p2) > along(p1), "{road} {n1} {n2}");
            }
            if n1 % 2 != n2 % 2 && (n1 - 1) / 2 == (n2 - 1) / 2 {
                // Same slot, opposite sides: the odd one is north (east).
                let (odd, even) = if n1 % 2 == 1 { (p1, p2) } else { (p2, p1) };
                assert!(across(odd) > across(even), "{road} {n1} {n2}");
                checked += 1;
            }
        }
    }
    assert!(checked > 100, "{checked} facing pairs");
}

#[test]
fn every_entry_is_found_by_its_text_and_by_variants() {
    let book = &common::sample().addresses;
    for entry in book.entries() {
        let (town, road, number) = parts(entry.address);
        let short_town = town
            .strip_suffix("街道")
            .or_else(|| town.strip_suffix('镇'))
            .unwrap_or(town);
        let mut variants = vec![
            entry.address.to_owned(),
            // Numerals, no town.
            format!("{road}{}号", chinese(number)),
            // Width and province/city prefixes.
            full_width(&format!("广东省中山市{town}{road}{number}号")),
            // Spaces and the short town name.
            format!(" {short_town} {road} {number} 号 "),
        ];
        // Traditional characters, where the address has any with a traditional form.
        let trad: String = entry
            .address
            .chars()
            .map(|c| traditional(c).unwrap_or(c))
            .collect();
        if trad != entry.address {
            variants.push(trad);
        }
        for v in &variants {
            let found = book.search(v, 1);
            assert!(
                found
                    .first()
                    .is_some_and(|m| m.entry.code == entry.code && m.score == 1.0),
                "{v:?} should find {} exactly, found {:?}",
                entry.address,
                found.first().map(|m| (&m.entry.address, m.score))
            );
        }
    }
}

#[test]
fn typos_still_find_the_entry_in_the_top_3() {
    let book = &common::sample().addresses;
    let entries = book.entries();
    let mut rng = Rng(88);
    let replacements = ['化', '兰', '之', '乡', '平', '东'];
    for _ in 0..500 {
        let entry = &entries.get((rng.next_u64() % entries.len() as u64) as usize);
        let (town, road, number) = parts(entry.address);
        // Change one character of the road name (never its 路/街).
        let mut chars: Vec<char> = road.chars().collect();
        let i = (rng.next_u64() % (chars.len() as u64 - 1)) as usize;
        let replacement = replacements
            .iter()
            .copied()
            .find(|&r| r != chars[i])
            .expect("a different character");
        chars[i] = replacement;
        let typo: String = chars.into_iter().collect();
        let query = format!("{town}{typo}{number}号");
        let found = book.search(&query, 3);
        assert!(
            found.iter().any(|m| m.entry.code == entry.code),
            "{query:?} should find {} in the top 3: {:?}",
            entry.address,
            found
                .iter()
                .map(|m| (&m.entry.address, m.score))
                .collect::<Vec<_>>()
        );
        assert!(found.iter().all(|m| m.score < 1.0));
    }
}

#[test]
fn non_addresses_match_nothing() {
    let book = &common::sample().addresses;
    for q in [
        "今天天气很好",
        "hello world",
        "中山市人民医院",
        "12345",
        "号",
        "石岐街道",
        "广东省中山市",
    ] {
        let found = book.search(q, 5);
        assert!(
            found.is_empty(),
            "{q:?} matched {:?}",
            found
                .iter()
                .map(|m| (&m.entry.address, m.score))
                .collect::<Vec<_>>()
        );
    }
}

#[tokio::test]
async fn address_endpoints() {
    let app = app(&common::sample_dir());
    let entry = &common::sample().addresses.entries().get(100);
    let (town, road, number) = parts(entry.address);
    let q = format!("{town}{road}{}号", chinese(number));
    let uri = format!("/api/v1/address?q={}&limit=2", urlencode(&q));
    let reply = get(&app, &uri).await;
    assert_eq!(reply.status, 200);
    let v = reply.json();
    let first = &v["matches"][0];
    assert_eq!(first["address"], entry.address);
    assert_eq!(first["score"], 1.0);
    assert_eq!(first["point"], json!(entry.point));
    assert_eq!(first["grid"]["code"], &entry.code[..15]);
    assert_eq!(first["community"]["code"], &entry.code[..12]);
    assert_eq!(first["town"]["code"], &entry.code[..9]);
    assert!(v["matches"].as_array().is_some_and(|m| m.len() <= 2));

    let none = get(&app, "/api/v1/address?q=hello").await;
    assert_eq!(none.status, 200);
    assert_eq!(none.json()["matches"], json!([]));
    assert!(
        none.json()["detail"]
            .as_str()
            .is_some_and(|d| d.contains("no register entry"))
    );

    get(&app, "/api/v1/address")
        .await
        .assert_problem(400, "parameter `q` is missing");
    get(&app, "/api/v1/address?q=x&limit=0")
        .await
        .assert_problem(400, "parameter `limit`: 0 is outside");

    let body = json!({"queries": [entry.address, "hello"], "limit": 1}).to_string();
    let reply = post_json(&app, "/api/v1/address", body).await;
    assert_eq!(reply.status, 200);
    let results = reply.json()["results"].clone();
    assert_eq!(results[0]["matches"][0]["code"], entry.code);
    assert_eq!(results[1]["matches"], json!([]));
    post_json(&app, "/api/v1/address", r#"{"queries": [1]}"#)
        .await
        .assert_problem(400, "");
}

/// Percent-encodes a query value (UTF-8 bytes outside unreserved ASCII).
fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Every address of the register file containing `part`, as (number, code, address), read from
/// `addresses.csv` directly: the brute-force answer the index must agree with.
fn brute_force(part: &str) -> Vec<(u64, String, String)> {
    let csv = std::fs::read_to_string(common::sample_dir().join("addresses.csv")).expect("csv");
    let mut found: Vec<(u64, String, String)> = csv
        .lines()
        .skip(1)
        .filter_map(|line| {
            let mut fields = line.split(',');
            let code = fields.next()?;
            let address = fields.next()?;
            address
                .contains(part)
                .then(|| (parts(address).2, code.to_owned(), address.to_owned()))
        })
        .collect();
    found.sort();
    found
}

/// The addresses and scores of `GET /api/v1/address?q=…&limit=100`.
async fn search_http(app: &axum::Router, q: &str) -> Vec<(String, f64)> {
    let reply = get(
        app,
        &format!("/api/v1/address?q={}&limit=100", urlencode(q)),
    )
    .await;
    assert_eq!(reply.status, 200);
    reply.json()["matches"]
        .as_array()
        .expect("matches")
        .iter()
        .map(|m| {
            (
                m["address"].as_str().unwrap_or_default().to_owned(),
                m["score"].as_f64().unwrap_or_default(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_road_gives_its_addresses_by_number() {
    // The issue's example: a road name alone used to find nothing.
    let app = app(&common::sample_dir());
    let expected = brute_force("翠乐路");
    assert!(expected.len() > 20, "the road has addresses");
    let found = search_http(&app, "翠乐路").await;
    let want: Vec<(String, f64)> = expected
        .iter()
        .take(100)
        .map(|(_, _, a)| (a.clone(), 0.95))
        .collect();
    assert_eq!(found, want);

    // Named with a town: that town's part of the road first, then the rest (lower score).
    let (town, _, _) = parts(&expected[0].2);
    let found = search_http(&app, &format!("{town}翠乐路")).await;
    let in_town = expected.iter().filter(|e| e.2.starts_with(town)).count();
    assert!(
        found[..in_town.min(100)]
            .iter()
            .all(|(a, s)| a.starts_with(town) && *s == 0.95)
    );
    assert!(
        found[in_town.min(100)..]
            .iter()
            .all(|(a, s)| !a.starts_with(town) && *s < 0.95)
    );
}

#[tokio::test]
async fn a_number_range_gives_the_addresses_in_it() {
    let app = app(&common::sample_dir());
    let road = brute_force("翠乐路");
    // Nine or more consecutive addresses of the road (numbers are not dense everywhere).
    let k = road.len() / 2;
    let (from, to) = (road[k].0, road[k + 8].0);
    let want: Vec<(String, f64)> = road
        .iter()
        .filter(|e| (from..=to).contains(&e.0))
        .map(|e| (e.2.clone(), 1.0))
        .collect();
    assert!(want.len() > 5, "{want:?}");
    for q in [
        format!("翠乐路{from}-{to}号"),
        format!("翠乐路{from}号至{to}号"),
        format!("中山市翠乐路{}到{}号", chinese(from), chinese(to)),
        format!("翠乐路{to}~{from}号"),
    ] {
        assert_eq!(search_http(&app, &q).await, want, "{q}");
    }
}

#[test]
fn part_of_an_address_finds_the_addresses_containing_it() {
    let book = &common::sample().addresses;
    // Two characters of a road name: every address containing them, none other.
    let road = parts(book.entries().get(500).address).1.to_owned();
    let part: String = road.chars().take(2).collect();
    let want: Vec<String> = brute_force(&part).into_iter().map(|e| e.2).collect();
    let found: Vec<String> = book
        .search(&part, 10_000)
        .iter()
        .filter(|m| m.score >= shequ::address::search::PART_SCORE)
        .map(|m| m.entry.address.to_owned())
        .collect();
    let mut sorted_found = found.clone();
    sorted_found.sort();
    let mut sorted_want = want.clone();
    sorted_want.sort();
    assert_eq!(sorted_found, sorted_want, "{part}");
}
