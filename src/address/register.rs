//! Reading the address register file (`addresses.csv`: `code,address,lon,lat`).
//!
//! Strict like the boundary loader: every problem is reported with its line and field, and a
//! file with any problem is not used at all.

use std::collections::HashMap;
use std::fmt;

use crate::crs::check_lon_lat;

/// The header the file must start with.
pub const HEADER: &str = "code,address,lon,lat";

/// One register entry as read.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub code: String,
    pub address: String,
    /// WGS84 `[lon, lat]`.
    pub point: [f64; 2],
}

/// One problem of the file, located by line (1-based) and field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterProblem {
    pub line: usize,
    pub field: Option<&'static str>,
    pub message: String,
}

impl fmt::Display for RegisterProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}", self.line)?;
        if let Some(field) = self.field {
            write!(f, ", field `{field}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Why a register could not be read; nothing of it is used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} problem(s) in the address register, first: {}", .problems.len(), .problems.first().map(ToString::to_string).unwrap_or_default())]
pub struct RegisterError {
    pub problems: Vec<RegisterProblem>,
}

/// Most problems collected before giving up (a wrong file would otherwise list every line).
const MAX_PROBLEMS: usize = 100;

/// Parses the register text.
pub fn parse(text: &str) -> Result<Vec<Entry>, RegisterError> {
    let mut problems = Vec::new();
    let mut entries = Vec::new();
    let mut lines = text.lines().enumerate();
    match lines.next() {
        Some((_, h)) if h.trim_start_matches('\u{feff}') == HEADER => {}
        _ => problems.push(RegisterProblem {
            line: 1,
            field: None,
            message: format!("the first line must be the header `{HEADER}`"),
        }),
    }
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, line) in lines {
        if problems.len() >= MAX_PROBLEMS {
            break;
        }
        let n = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let mut fail = |field, message: String| {
            problems.push(RegisterProblem {
                line: n,
                field,
                message,
            })
        };
        let fields: Vec<&str> = line.split(',').collect();
        let [code, address, lon, lat] = fields[..] else {
            fail(
                None,
                format!(
                    "expected 4 fields (code,address,lon,lat), found {}",
                    fields.len()
                ),
            );
            continue;
        };
        if code.is_empty() || !code.bytes().all(|b| b.is_ascii_digit()) {
            fail(Some("code"), format!("{code:?} is not a numeric code"));
        } else if let Some(first) = seen.insert(code.to_owned(), n) {
            fail(
                Some("code"),
                format!("code {code} already used on line {first}"),
            );
        }
        if address.trim().is_empty() {
            fail(Some("address"), "the address is empty".into());
        }
        let number = |field: &'static str, s: &str| match s.trim().parse::<f64>() {
            Ok(x) if x.is_finite() => Ok(x),
            _ => Err((field, format!("{s:?} is not a finite number"))),
        };
        let point = number("lon", lon)
            .and_then(|x| Ok([x, number("lat", lat)?]))
            .and_then(|p| check_lon_lat(p).map_err(|e| ("lon/lat", e.to_string())));
        match point {
            Ok(point) => entries.push(Entry {
                code: code.to_owned(),
                address: address.trim().to_owned(),
                point,
            }),
            Err((field, message)) => fail(Some(field), message),
        }
    }
    if problems.is_empty() {
        Ok(entries)
    } else {
        Err(RegisterError { problems })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_good_rows() {
        let e = parse("code,address,lon,lat\n1,石岐街道兴华路1号,113.38,22.52\n").expect("good");
        assert_eq!(e[0].address, "石岐街道兴华路1号");
        assert_eq!(e[0].point, [113.38, 22.52]);
    }

    #[test]
    fn names_line_and_field() {
        let text = "code,address,lon,lat\n1,a,113,22\n1,b,113,22\nx,,200,22\n2,c,113\n";
        let problems = parse(text).expect_err("bad").problems;
        let shown: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "line 3, field `code`: code 1 already used on line 2",
                "line 4, field `code`: \"x\" is not a numeric code",
                "line 4, field `address`: the address is empty",
                "line 4, field `lon/lat`: longitude 200 is out of range −180…180",
                "line 5: expected 4 fields (code,address,lon,lat), found 3",
            ]
        );
        assert_eq!(parse("id,addr\n").expect_err("header").problems[0].line, 1);
    }
}
