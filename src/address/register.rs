//! Reading the address register file (`addresses.csv`: `code,address,lon,lat`).
//!
//! Strict like the boundary loader: every problem is reported with its line and field, and a
//! file with any problem is not used at all.
//!
//! The register is kept compact (issue 20: 4.9 M entries at ×100): every code and address in
//! one text with offsets, the points in one array, instead of two `String`s an entry; and it is
//! read line by line ([`parse_reader`]), so the whole file never sits in memory beside it.

use std::fmt;
use std::io::BufRead;

use rayon::prelude::*;

use crate::crs::check_lon_lat;

/// The header the file must start with.
pub const HEADER: &str = "code,address,lon,lat";

/// One register entry, borrowed from its [`Register`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Entry<'a> {
    pub code: &'a str,
    pub address: &'a str,
    /// WGS84 `[lon, lat]`.
    pub point: [f64; 2],
}

/// The entries of a register, in file order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Register {
    /// Every entry's code then address, one after another.
    text: String,
    /// Entry `i`'s code is `text[bounds[2i]..bounds[2i + 1]]`, its address runs on to
    /// `bounds[2i + 2]`.
    bounds: Vec<usize>,
    points: Vec<[f64; 2]>,
}

impl Register {
    pub fn len(&self) -> usize {
        self.points.len()
    }

    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// Entry `i` (panics beyond [`Register::len`], like a slice: positions come from the
    /// register itself).
    pub fn get(&self, i: usize) -> Entry<'_> {
        Entry {
            code: &self.text[self.bounds[2 * i]..self.bounds[2 * i + 1]],
            address: &self.text[self.bounds[2 * i + 1]..self.bounds[2 * i + 2]],
            point: self.points[i],
        }
    }

    /// The entries in order.
    pub fn iter(&self) -> Entries<'_> {
        Entries {
            register: self,
            next: 0..self.len(),
        }
    }

    /// The points in entry order.
    pub fn points(&self) -> &[[f64; 2]] {
        &self.points
    }

    fn push(&mut self, code: &str, address: &str, point: [f64; 2]) {
        if self.bounds.is_empty() {
            self.bounds.push(0);
        }
        self.text.push_str(code);
        self.bounds.push(self.text.len());
        self.text.push_str(address);
        self.bounds.push(self.text.len());
        self.points.push(point);
    }

    /// Gives back the spare capacity of the growing arrays (up to half of each).
    fn shrink(&mut self) {
        self.text.shrink_to_fit();
        self.bounds.shrink_to_fit();
        self.points.shrink_to_fit();
    }
}

impl<'a> IntoIterator for &'a Register {
    type Item = Entry<'a>;
    type IntoIter = Entries<'a>;

    fn into_iter(self) -> Entries<'a> {
        self.iter()
    }
}

/// The entries of a [`Register`] in order.
#[derive(Clone)]
pub struct Entries<'a> {
    register: &'a Register,
    next: std::ops::Range<usize>,
}

impl<'a> Iterator for Entries<'a> {
    type Item = Entry<'a>;

    fn next(&mut self) -> Option<Entry<'a>> {
        self.next.next().map(|i| self.register.get(i))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.next.size_hint()
    }
}

impl ExactSizeIterator for Entries<'_> {}

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

/// Why a register file could not be read: the file itself, or its content.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Register(#[from] RegisterError),
}

/// Most problems collected before giving up (a wrong file would otherwise list every line).
const MAX_PROBLEMS: usize = 100;

/// Parses the register text.
pub fn parse(text: &str) -> Result<Register, RegisterError> {
    let mut parser = Parser::default();
    for line in text.lines() {
        if !parser.line(line) {
            break;
        }
    }
    parser.finish()
}

/// Parses the register line by line from `reader` (a file), holding one line at a time.
pub fn parse_reader(mut reader: impl BufRead) -> Result<Register, ReadError> {
    let mut parser = Parser::default();
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            break;
        }
        // As `str::lines`: the line without its `\n` or `\r\n`.
        let text = line.strip_suffix('\n').unwrap_or(&line);
        let text = text.strip_suffix('\r').unwrap_or(text);
        if !parser.line(text) {
            break;
        }
    }
    Ok(parser.finish()?)
}

/// The state of a parse: the rows so far (kept even when a row has problems; a register with
/// any problem is not used), the problems of each line, and what the code check needs.
#[derive(Default)]
struct Parser {
    register: Register,
    /// Lines read so far (the header is line 1).
    lines: usize,
    problems: Vec<RegisterProblem>,
    /// For each row of the register, its line.
    row_lines: Vec<u32>,
    /// Rows with a numeric code: the code as a key ([`code_key`]) and the row.
    codes: Vec<(u64, u32)>,
}

impl Parser {
    /// Reads one line; false once enough problems have been seen to stop reading.
    fn line(&mut self, line: &str) -> bool {
        self.lines += 1;
        let n = self.lines;
        if n == 1 {
            if line.trim_start_matches('\u{feff}') != HEADER {
                self.problems.push(RegisterProblem {
                    line: 1,
                    field: None,
                    message: format!("the first line must be the header `{HEADER}`"),
                });
            }
            return true;
        }
        // Duplicate codes are only found at the end, so this may read further than needed;
        // `finish` cuts the list where reading line by line would have stopped.
        if self.problems.len() >= MAX_PROBLEMS {
            return false;
        }
        if line.trim().is_empty() {
            return true;
        }
        let mut fail = |field, message: String| {
            self.problems.push(RegisterProblem {
                line: n,
                field,
                message,
            })
        };
        let mut fields = line.split(',');
        let (Some(code), Some(address), Some(lon), Some(lat), None) = (
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
        ) else {
            fail(
                None,
                format!(
                    "expected 4 fields (code,address,lon,lat), found {}",
                    line.split(',').count()
                ),
            );
            return true;
        };
        let row = self.register.len();
        if code.is_empty() || !code.bytes().all(|b| b.is_ascii_digit()) {
            fail(Some("code"), format!("{code:?} is not a numeric code"));
        } else {
            self.codes.push((code_key(code), row as u32));
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
        let point = point.unwrap_or_else(|(field, message)| {
            fail(Some(field), message);
            [0.0, 0.0]
        });
        self.register.push(code, address.trim(), point);
        self.row_lines.push(n as u32);
        true
    }

    /// The register, or every problem in line order (a line's duplicate code first, as its
    /// code is checked first), cut after the line where [`MAX_PROBLEMS`] was reached.
    fn finish(mut self) -> Result<Register, RegisterError> {
        if self.lines == 0 {
            self.line("");
        }
        let duplicates = self.duplicates();
        if self.problems.is_empty() && duplicates.is_empty() {
            self.register.shrink();
            return Ok(self.register);
        }
        let mut all = duplicates;
        all.append(&mut self.problems);
        // Stable: a line's own problems keep their order, its duplicate code (listed first)
        // before them.
        all.sort_by_key(|p| p.line);
        let mut kept = 0;
        while kept < all.len() {
            if kept >= MAX_PROBLEMS && all[kept].line != all[kept - 1].line {
                break;
            }
            kept += 1;
        }
        all.truncate(kept);
        Err(RegisterError { problems: all })
    }

    /// A problem for each row whose code an earlier row already has, naming the latest such
    /// row. Sorting the codes (as keys, then as text where keys are equal) finds them without
    /// a map of every code (4.9 M at ×100).
    fn duplicates(&mut self) -> Vec<RegisterProblem> {
        let register = &self.register;
        let code = |row: u32| register.get(row as usize).code;
        let mut codes = std::mem::take(&mut self.codes);
        codes.par_sort_unstable_by(|a, b| {
            a.0.cmp(&b.0)
                .then_with(|| code(a.1).cmp(code(b.1)))
                .then(a.1.cmp(&b.1))
        });
        codes
            .windows(2)
            .filter(|w| w[0].0 == w[1].0 && code(w[0].1) == code(w[1].1))
            .map(|w| RegisterProblem {
                line: self.row_lines[w[1].1 as usize] as usize,
                field: Some("code"),
                message: format!(
                    "code {} already used on line {}",
                    code(w[1].1),
                    self.row_lines[w[0].1 as usize]
                ),
            })
            .collect()
    }
}

/// A number standing for a code of ASCII digits: different for every code of up to 19 digits
/// (the codes of one length counted after all shorter ones, so 01 and 1 differ), a hash for
/// longer ones (equal keys are compared as text).
fn code_key(code: &str) -> u64 {
    if code.len() <= 19 {
        // Σ 10^k for k < len (every shorter code) plus the code's value: at most
        // (10^19 − 1)/9 + 10^19 − 1 < 2^64.
        let shorter = (0..code.len() as u32).map(|k| 10u64.pow(k)).sum::<u64>();
        let value = code.bytes().fold(0u64, |n, b| n * 10 + u64::from(b - b'0'));
        shorter + value
    } else {
        use std::hash::{Hash, Hasher};
        let mut h = std::hash::DefaultHasher::new();
        code.hash(&mut h);
        h.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_good_rows() {
        let r = parse("code,address,lon,lat\n1,石岐街道兴华路1号,113.38,22.52\n").expect("good");
        assert_eq!(r.len(), 1);
        assert_eq!(r.get(0).address, "石岐街道兴华路1号");
        assert_eq!(r.get(0).code, "1");
        assert_eq!(r.get(0).point, [113.38, 22.52]);
        // Line by line, with `\r\n` and a blank line, and the same rows from a reader.
        let text =
            "\u{feff}code,address,lon,lat\r\n7, 兴华路2号 ,113,22\r\n\r\n08,康平街3号,113.5,22.5";
        let r = parse_reader(text.as_bytes()).expect("good");
        assert_eq!(r, parse(text).expect("good"));
        let rows: Vec<Entry> = r.iter().collect();
        assert_eq!(
            rows,
            [
                Entry {
                    code: "7",
                    address: "兴华路2号",
                    point: [113.0, 22.0]
                },
                Entry {
                    code: "08",
                    address: "康平街3号",
                    point: [113.5, 22.5]
                }
            ]
        );
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
        assert_eq!(parse("").expect_err("empty").problems[0].line, 1);
    }

    #[test]
    fn duplicate_codes_name_the_latest_earlier_line() {
        // A row whose point is wrong still holds its code; 01 is not 1; a long code (hashed)
        // is compared as text; a third use names the second.
        let long = "1234567890123456789012345";
        let text = format!(
            "code,address,lon,lat\n1,a,500,22\n01,b,113,22\n{long},c,113,22\n1,d,113,22\n\
             {long}0,e,113,22\n{long},f,113,22\n1,g,113,22\n"
        );
        let shown: Vec<String> = parse(&text)
            .expect_err("bad")
            .problems
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            shown,
            [
                "line 2, field `lon/lat`: longitude 500 is out of range −180…180",
                "line 5, field `code`: code 1 already used on line 2",
                format!("line 7, field `code`: code {long} already used on line 4").as_str(),
                "line 8, field `code`: code 1 already used on line 5",
            ]
        );
        assert_ne!(code_key("01"), code_key("1"));
        assert_eq!(code_key("9999999999999999999"), 11_111_111_111_111_111_110);
    }

    #[test]
    fn stops_after_the_line_of_the_hundredth_problem() {
        // Each line has two problems (code and address); duplicates are found after reading
        // but counted where they stand.
        let mut text = String::from("code,address,lon,lat\n5,a,113,22\n5,b,113,22\n");
        for _ in 0..60 {
            text.push_str("x,,113,22\n");
        }
        let problems = parse(&text).expect_err("bad").problems;
        // The duplicate (line 3), then 49 lines of two: 99 problems, and the 50th line's two.
        assert_eq!(problems.len(), 101);
        assert_eq!(problems[0].line, 3);
        assert_eq!(problems[100].line, 53);
        // Read from a file, the same.
        assert_eq!(
            parse_reader(text.as_bytes())
                .map_err(|e| e.to_string())
                .expect_err("bad"),
            RegisterError { problems }.to_string()
        );
    }
}
