//! The access log's line, written straight into the log's buffer.
//!
//! Through `tracing` every request's line went through the subscriber's formatter: a timestamp
//! formatted from scratch, each field through `core::fmt` and an escaping writer, a level and
//! target written per line. Under load that was several percent of the server's CPU per lookup
//! (`perf`, BENCHMARKS.md, issue 19). Here the line is put together by hand in a buffer of the
//! thread's, with the date and time of the current second formatted once per second per
//! thread, and handed to the same writer the subscriber uses, in the same shape as the
//! subscriber's own lines:
//!
//! `2026-11-30T07:25:44.714248Z  INFO shequ::api::edge: 127.0.0.1 - GET /api/v1/lookup 200 66 µs`
//!
//! Used only when the server logs to a file or pipe at INFO; on a terminal (colours) and in
//! tests the line goes through `tracing` as before.

use std::cell::RefCell;
use std::io::Write;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::http::Method;

/// Where finished lines go (the log writer's buffer).
pub type LineSink = Arc<dyn Fn(&[u8]) + Send + Sync>;

/// Writes access-log lines to a [`LineSink`].
#[derive(Clone)]
pub struct AccessLog {
    sink: LineSink,
}

/// One request, as the access log records it.
pub struct Entry<'a> {
    pub client: Option<IpAddr>,
    pub user: Option<&'a str>,
    pub method: &'a Method,
    pub path: &'a str,
    pub status: u16,
    pub micros: u64,
}

struct Scratch {
    line: Vec<u8>,
    /// The second `stamp` was formatted for.
    second: u64,
    /// `YYYY-MM-DDTHH:MM:SS` of that second.
    stamp: [u8; 19],
    /// The last client address and its text (most lines come from few clients).
    client: Option<(IpAddr, Vec<u8>)>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = const {
        RefCell::new(Scratch { line: Vec::new(), second: u64::MAX, stamp: [0; 19], client: None })
    };
}

const TARGET: &[u8] = b"Z  INFO shequ::api::edge: ";

impl std::fmt::Debug for AccessLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AccessLog")
    }
}

impl AccessLog {
    pub fn new(sink: LineSink) -> Self {
        AccessLog { sink }
    }

    /// Writes the line of one request.
    pub fn write(&self, entry: &Entry) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        SCRATCH.with_borrow_mut(|s| {
            let second = now.as_secs();
            if s.second != second {
                s.stamp = stamp(second);
                s.second = second;
            }
            let Scratch {
                line,
                stamp,
                client,
                ..
            } = s;
            line.clear();
            line.extend_from_slice(stamp);
            line.push(b'.');
            digits(line, u64::from(now.subsec_micros()), 6);
            line.extend_from_slice(TARGET);
            match entry.client {
                None => line.push(b'-'),
                Some(ip) => {
                    if client.as_ref().is_none_or(|(last, _)| *last != ip) {
                        *client = Some((ip, ip.to_string().into_bytes()));
                    }
                    if let Some((_, text)) = client {
                        line.extend_from_slice(text);
                    }
                }
            }
            line.push(b' ');
            text(line, entry.user.unwrap_or("-"));
            line.push(b' ');
            line.extend_from_slice(entry.method.as_str().as_bytes());
            line.push(b' ');
            text(line, entry.path);
            line.push(b' ');
            digits(line, u64::from(entry.status), 1);
            line.push(b' ');
            digits(line, entry.micros, 1);
            line.extend_from_slice(" µs\n".as_bytes());
            (self.sink)(line);
        });
    }
}

/// `value` in decimal, at least `width` digits (zero-padded).
fn digits(out: &mut Vec<u8>, mut value: u64, width: usize) {
    let mut buf = [b'0'; 20];
    let mut at = buf.len();
    while value > 0 || buf.len() - at < width {
        at -= 1;
        buf[at] = b'0' + (value % 10) as u8;
        value /= 10;
    }
    out.extend_from_slice(&buf[at..]);
}

/// Text from the request (path, user name) with control characters escaped as `\xNN`, so a
/// request cannot forge or break lines of the log (as the subscriber's escaping writer did).
fn text(out: &mut Vec<u8>, s: &str) {
    if !s.bytes().any(|b| b < 0x20 || b == 0x7f) {
        out.extend_from_slice(s.as_bytes());
        return;
    }
    for b in s.bytes() {
        if b < 0x20 || b == 0x7f {
            let _ = write!(out, "\\x{b:02x}");
        } else {
            out.push(b);
        }
    }
}

/// `YYYY-MM-DDTHH:MM:SS` (UTC) of a Unix second.
fn stamp(second: u64) -> [u8; 19] {
    let at = i64::try_from(second)
        .ok()
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let mut out = Vec::with_capacity(19);
    digits(&mut out, u64::try_from(at.year()).unwrap_or(0), 4);
    out.push(b'-');
    digits(&mut out, u64::from(u8::from(at.month())), 2);
    out.push(b'-');
    digits(&mut out, u64::from(at.day()), 2);
    out.push(b'T');
    digits(&mut out, u64::from(at.hour()), 2);
    out.push(b':');
    digits(&mut out, u64::from(at.minute()), 2);
    out.push(b':');
    digits(&mut out, u64::from(at.second()), 2);
    let mut stamp = [b'0'; 19];
    let n = out.len().min(19);
    stamp[..n].copy_from_slice(&out[..n]);
    stamp
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    fn captured(entry: &Entry) -> String {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let into = lines.clone();
        let log = AccessLog::new(Arc::new(move |line: &[u8]| {
            if let Ok(mut l) = into.lock() {
                l.extend_from_slice(line);
            }
        }));
        log.write(entry);
        let bytes = lines.lock().map(|l| l.clone()).unwrap_or_default();
        String::from_utf8(bytes).unwrap_or_default()
    }

    #[test]
    fn the_line_has_the_subscribers_shape() {
        let line = captured(&Entry {
            client: Some("127.0.0.1".parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))),
            user: None,
            method: &Method::GET,
            path: "/api/v1/lookup",
            status: 200,
            micros: 66,
        });
        // The same shape as tracing_subscriber's default format, checked by its parts (the time
        // is now): `YYYY-MM-DDTHH:MM:SS.ffffffZ  INFO target: message`.
        let (time, rest) = line.split_at(26);
        let expected_now = time::OffsetDateTime::now_utc();
        assert!(time.starts_with(&expected_now.year().to_string()), "{line}");
        assert_eq!(&time[4..5], "-");
        assert_eq!(&time[10..11], "T");
        assert_eq!(&time[19..20], ".");
        assert!(time[20..26].bytes().all(|b| b.is_ascii_digit()), "{line}");
        assert_eq!(
            rest,
            "Z  INFO shequ::api::edge: 127.0.0.1 - GET /api/v1/lookup 200 66 µs\n"
        );
        let parsed = time::PrimitiveDateTime::parse(
            &time[..19],
            time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]"),
        );
        let parsed = parsed.map(|p| p.assume_utc().unix_timestamp());
        assert!(
            parsed.is_ok_and(|t| (t - expected_now.unix_timestamp()).abs() <= 2),
            "{line}"
        );
    }

    #[test]
    fn request_text_cannot_break_lines() {
        let line = captured(&Entry {
            client: None,
            user: Some("a\nb"),
            method: &Method::POST,
            path: "/x\r\n2026-01-01T00:00:00.000000Z  INFO forged",
            status: 404,
            micros: 0,
        });
        assert_eq!(line.matches('\n').count(), 1, "{line}");
        assert!(
            line.ends_with(
                "- a\\x0ab POST /x\\x0d\\x0a2026-01-01T00:00:00.000000Z  INFO forged 404 0 µs\n"
            ),
            "{line}"
        );
    }

    #[test]
    fn digits_pad_and_stamp_formats() {
        let mut out = Vec::new();
        digits(&mut out, 0, 1);
        digits(&mut out, 42, 6);
        digits(&mut out, 1234567, 2);
        assert_eq!(out, b"00000421234567");
        assert_eq!(&stamp(0), b"1970-01-01T00:00:00");
        assert_eq!(&stamp(1_796_023_544), b"2026-11-30T07:25:44");
    }
}
