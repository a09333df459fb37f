//! Extractors whose rejections are problem+json like every other API error.

use std::borrow::Cow;
use std::marker::PhantomData;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use serde::de::DeserializeOwned;

use super::error::ApiError;
use super::{AppState, Published};

/// `axum::Json` with problem+json rejections (400 malformed, 413 too large, 415 wrong type).
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

/// A JSON request body read but not yet parsed: the handler parses it inside its
/// admission-pool job ([`super::admission::Pool::run_json`]), so a request the pool refuses
/// costs reading its bytes, not parsing up to 2 MB of JSON on an async worker. The rejections
/// and the parse errors are those of [`ApiJson`] (415, 413, 400).
pub struct JsonBytes<T> {
    bytes: Bytes,
    of: PhantomData<fn() -> T>,
}

/// `Content-Type: application/json` or `application/<anything>+json`, with any parameters.
fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || essence
            .strip_prefix("application/")
            .is_some_and(|subtype| subtype.ends_with("+json"))
}

impl<S: Send + Sync, T> FromRequest<S> for JsonBytes<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        if !is_json(request.headers()) {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Expected request with `Content-Type: application/json`",
            ));
        }
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                let status = rejection.status();
                let slug = if status == StatusCode::PAYLOAD_TOO_LARGE {
                    "too-large"
                } else {
                    "bad-request"
                };
                ApiError::new(status, slug, rejection.body_text())
            })?;
        Ok(JsonBytes {
            bytes,
            of: PhantomData,
        })
    }
}

impl<T: DeserializeOwned> JsonBytes<T> {
    /// The body parsed, or the 400 that [`ApiJson`] would have answered.
    pub fn parse(&self) -> Result<T, ApiError> {
        axum::Json::<T>::from_bytes(&self.bytes)
            .map(|json| json.0)
            .map_err(ApiError::from)
    }
}

/// `axum::extract::Query` with problem+json rejections.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

/// The snapshot a request reads: the one published now, or with `?as_of=YYYY-MM-DD` the
/// registry as it stood on that day. Taken once per request, so a request never sees two
/// versions even if an approval swaps the snapshot meanwhile.
pub struct Current(pub Arc<Published>);

impl FromRequestParts<AppState> for Current {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        #[derive(serde::Deserialize)]
        struct AsOf {
            as_of: Option<String>,
        }
        // Most requests name no date: skip parsing the query for them (a third of a lookup's
        // own cost). A percent-escape could spell the name, so any `%` still parses.
        let query = parts.uri.query().unwrap_or_default();
        let as_of = if query.contains("as_of") || query.contains('%') {
            axum::extract::Query::<AsOf>::try_from_uri(&parts.uri)
                .map_err(ApiError::from)?
                .0
                .as_of
        } else {
            None
        };
        published_as_of(state, as_of.as_deref()).await.map(Current)
    }
}

/// [`Current`] for routes that take no query parameter but `as_of`: any other is a 400 (an
/// unknown parameter is never silently ignored).
pub struct CurrentOnly(pub Arc<Published>);

impl FromRequestParts<AppState> for CurrentOnly {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let [as_of] = query_params(parts.uri.query(), ["as_of"])?;
        published_as_of(state, as_of.as_deref())
            .await
            .map(CurrentOnly)
    }
}

/// The published snapshot, or with `as_of` (a `YYYY-MM-DD` date) the registry as it stood on
/// that day.
pub async fn published_as_of(
    state: &AppState,
    as_of: Option<&str>,
) -> Result<Arc<Published>, ApiError> {
    match as_of {
        None => Ok(state.published()),
        Some(text) => {
            let date = parse_date("as_of", text)?;
            // Boxed: building a past snapshot is a large future, and inline it would make
            // every handler's future (moved and allocated per request) as large.
            Box::pin(state.published_as_of(date)).await
        }
    }
}

/// The values of the parameters `known` in a query string (percent-decoded), in that order.
/// Strict, so that a typo is not silently ignored: a name not in `known`, or one given twice,
/// is a 400 naming it. Parsed by hand rather than through serde: a lookup is answered in a few
/// microseconds, and `serde_urlencoded` with `serde_path_to_error` took 4,400 instructions of
/// it (BENCHMARKS.md, issue 19).
pub fn query_params<'q, const N: usize>(
    query: Option<&'q str>,
    known: [&str; N],
) -> Result<[Option<Cow<'q, str>>; N], ApiError> {
    let mut values: [Option<Cow<'q, str>>; N] = std::array::from_fn(|_| None);
    for (name, value) in query_pairs(query.unwrap_or_default()) {
        let Some(at) = known.iter().position(|k| *k == name) else {
            return Err(ApiError::bad_request(format!(
                "unknown parameter `{name}`; this route takes {}",
                known.map(|k| format!("`{k}`")).join(", ")
            )));
        };
        if values[at].replace(value).is_some() {
            return Err(ApiError::bad_request(format!(
                "parameter `{name}` is given more than once"
            )));
        }
    }
    Ok(values)
}

/// The name/value pairs of a query string, decoded as `application/x-www-form-urlencoded`
/// (`form_urlencoded::parse`'s pairs exactly). A pair with nothing to decode (no `%`, no `+`;
/// a lookup's `lon=113.39&lat=22.52`) is borrowed as it stands: decoding every byte through
/// `form_urlencoded` was a twentieth of a lookup's instructions (BENCHMARKS.md, issue 19).
fn query_pairs(query: &str) -> QueryPairs<'_> {
    QueryPairs { rest: query }
}

/// The iterator of [`query_pairs`]: one pass over each pair's bytes finds its end, its `=` and
/// whether it needs decoding (three passes through `str` searchers took a third of a lookup's
/// parameter handling; BENCHMARKS.md, issue 19).
struct QueryPairs<'q> {
    rest: &'q str,
}

impl<'q> Iterator for QueryPairs<'q> {
    type Item = (Cow<'q, str>, Cow<'q, str>);

    fn next(&mut self) -> Option<Self::Item> {
        while !self.rest.is_empty() {
            let (mut end, mut equals, mut plain) = (self.rest.len(), None, true);
            for (i, &b) in self.rest.as_bytes().iter().enumerate() {
                match b {
                    b'&' => {
                        end = i;
                        break;
                    }
                    b'=' if equals.is_none() => equals = Some(i),
                    b'%' | b'+' => plain = false,
                    _ => {}
                }
            }
            // `&` and `=` are ASCII, so these are character boundaries.
            let pair = &self.rest[..end];
            self.rest = self.rest.get(end + 1..).unwrap_or_default();
            if pair.is_empty() {
                continue;
            }
            if !plain {
                return form_urlencoded::parse(pair.as_bytes()).next();
            }
            let (name, value) = equals.map_or((pair, ""), |i| (&pair[..i], &pair[i + 1..]));
            return Some((Cow::Borrowed(name), Cow::Borrowed(value)));
        }
        None
    }
}

/// A calendar date `YYYY-MM-DD`, or a 400 naming the parameter.
pub fn parse_date(name: &str, text: &str) -> Result<time::Date, ApiError> {
    time::Date::parse(text, crate::store::DATE_FORMAT).map_err(|_| {
        ApiError::bad_request(format!(
            "parameter `{name}`: {text:?} is not a date of the form YYYY-MM-DD"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same pairs as `form_urlencoded::parse` for every kind of query.
    #[test]
    fn query_pairs_are_form_urlencoded_pairs() {
        for query in [
            "",
            "lon=113.39&lat=22.52",
            "a=1&&b=2&",
            "&a",
            "a=&=b&==c",
            "q=%E7%A4%BE%E5%8C%BA+1&x=a%2Bb",
            "name+with+space=v+w&%ZZ=%",
            "k=v=w",
            "a=%ff%fe",
            "社=区&x=1",
            "=",
            "&",
            "a",
            "a&b=%",
            "lon=113.39&lat=22.52&crs=EPSG%3A4490&as_of=2026-01-01",
        ] {
            let ours: Vec<_> = query_pairs(query).collect();
            let theirs: Vec<_> = form_urlencoded::parse(query.as_bytes()).collect();
            assert_eq!(ours, theirs, "{query:?}");
        }
    }

    #[test]
    fn json_content_types() {
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::CONTENT_TYPE, value.parse().unwrap());
            is_json(&headers)
        };
        assert!(with("application/json"));
        assert!(with("Application/JSON; charset=utf-8"));
        assert!(with("application/geo+json"));
        assert!(!with("text/json"));
        assert!(!with("application/jsonx"));
        assert!(!with("text/plain"));
        assert!(!is_json(&HeaderMap::new()));
    }

    #[test]
    fn query_parameters_are_decoded_and_unknown_or_repeated_names_refused() {
        let [lon, lat, crs] = query_params(
            Some("lat=22.5&lon=113%2E3&crs=EPSG%3A4547"),
            ["lon", "lat", "crs"],
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(
            (lon.as_deref(), lat.as_deref(), crs.as_deref()),
            (Some("113.3"), Some("22.5"), Some("EPSG:4547"))
        );
        let [none] = query_params(None, ["as_of"]).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(none, None);
        let unknown = query_params(Some("lon=1&lng=2"), ["lon", "lat"]).err();
        assert!(
            format!("{unknown:?}").contains("unknown parameter `lng`"),
            "{unknown:?}"
        );
        let twice = query_params(Some("lon=1&lon=2"), ["lon"]).err();
        assert!(format!("{twice:?}").contains("more than once"), "{twice:?}");
    }
}
