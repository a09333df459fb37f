//! The plain HTML view of OGC API Features resources (`f=html`, or a browser's `Accept`): a
//! heading, the links and, for features, a table of their properties. No script, no style
//! sheet from elsewhere.

use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::api::error::ApiError;
use crate::output::page::Link;

/// Whether the answer is HTML: `f=html`, or no `f` and an `Accept` that prefers `text/html`
/// to JSON. Any other `f` than `json`, `geojson` or `html` is a 400.
pub fn wanted(f: Option<&str>, headers: &HeaderMap) -> Result<bool, ApiError> {
    match f {
        Some("html") => Ok(true),
        Some("json" | "geojson") => Ok(false),
        Some(other) => Err(ApiError::bad_request(format!(
            "parameter `f`: {other:?} is not offered; use json or html"
        ))),
        None => {
            let accept = headers
                .get(header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            let html = accept.find("text/html");
            let json = accept.find("json");
            Ok(match (html, json) {
                (Some(h), Some(j)) => h < j,
                (Some(_), None) => true,
                _ => false,
            })
        }
    }
}

pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn cell(v: &Value) -> String {
    match v {
        Value::String(s) => escape(s),
        Value::Null => String::new(),
        other => escape(&other.to_string()),
    }
}

/// A page: `title`, a description, its links, and (for items) a table of the features'
/// ids and properties.
pub fn page(
    title: &str,
    description: &str,
    links: &[Link],
    features: Option<&[Value]>,
) -> Response {
    let mut body = format!(
        "<!doctype html><html lang=\"zh\"><head><meta charset=\"utf-8\"><title>{t}</title></head><body><h1>{t}</h1><p>{d}</p><ul>",
        t = escape(title),
        d = escape(description)
    );
    for link in links {
        body.push_str(&format!(
            "<li><a href=\"{}\">{}</a> ({}{})</li>",
            escape(&link.href),
            escape(link.title.as_deref().unwrap_or(link.rel)),
            link.rel,
            link.media_type
                .map(|t| format!(", {t}"))
                .unwrap_or_default()
        ));
    }
    body.push_str("</ul>");
    if let Some(features) = features {
        let mut keys: Vec<String> = Vec::new();
        for f in features {
            if let Some(props) = f["properties"].as_object() {
                for k in props.keys() {
                    if !keys.contains(k) {
                        keys.push(k.clone());
                    }
                }
            }
        }
        body.push_str("<table border=\"1\"><tr><th>id</th>");
        for k in &keys {
            body.push_str(&format!("<th>{}</th>", escape(k)));
        }
        body.push_str("</tr>");
        for f in features {
            body.push_str(&format!("<tr><td>{}</td>", cell(&f["id"])));
            for k in &keys {
                body.push_str(&format!("<td>{}</td>", cell(&f["properties"][k])));
            }
            body.push_str("</tr>");
        }
        body.push_str("</table>");
    }
    body.push_str("</body></html>");
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response()
}
