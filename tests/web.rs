//! The web map as served by the binary: the page, every file it references, and 404s.

mod common;

use common::{app, get, sample_dir};

/// `src` and `href` attribute values of a page (enough for our own, hand-written HTML).
fn references(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    for attr in ["src=\"", "href=\""] {
        let mut rest = html;
        while let Some(at) = rest.find(attr) {
            rest = &rest[at + attr.len()..];
            if let Some(end) = rest.find('"') {
                out.push(rest[..end].to_owned());
                rest = &rest[end..];
            }
        }
    }
    out
}

/// Module imports (`from '…'`) of a script.
fn imports(js: &str) -> Vec<String> {
    js.split("from '")
        .skip(1)
        .filter_map(|s| s.split('\'').next())
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn index_references_the_vendored_library_and_the_app() {
    let app = app(&sample_dir());
    let page = get(&app, "/").await;
    assert_eq!(page.status, 200);
    assert_eq!(page.content_type, "text/html; charset=utf-8");
    let html = String::from_utf8_lossy(&page.body);
    assert!(html.contains("lang=\"zh-CN\""));
    let refs = references(&html);
    for expected in [
        "/web/app.js",
        "/web/app.css",
        "/web/vendor/maplibre-gl/maplibre-gl.css",
    ] {
        assert!(refs.iter().any(|r| r == expected), "{expected} in {refs:?}");
    }
    // Nothing from another host: the page must work offline.
    assert!(
        refs.iter()
            .all(|r| r.starts_with('/') && !r.starts_with("//") || r.starts_with("data:")),
        "{refs:?}"
    );
    let app_js = get(&app, "/web/app.js").await;
    let imported = imports(&String::from_utf8_lossy(&app_js.body));
    assert_eq!(
        imported,
        ["/web/vendor/maplibre-gl/maplibre-gl.mjs"],
        "the app imports the vendored MapLibre module"
    );
}

#[tokio::test]
async fn every_referenced_file_is_served_with_its_content_type() {
    let app = app(&sample_dir());
    let html = String::from_utf8_lossy(&get(&app, "/").await.body).into_owned();
    let app_js = String::from_utf8_lossy(&get(&app, "/web/app.js").await.body).into_owned();
    let mut files: Vec<String> = references(&html)
        .into_iter()
        .chain(imports(&app_js))
        .filter(|r| r.starts_with("/web/"))
        .collect();
    // MapLibre loads its worker from beside its own module (import.meta.url).
    files.push("/web/vendor/maplibre-gl/maplibre-gl-worker.mjs".into());
    files.push("/web/vendor/maplibre-gl/LICENSE.txt".into());
    assert!(files.len() >= 6, "{files:?}");
    for file in &files {
        let reply = get(&app, file).await;
        assert_eq!(reply.status, 200, "{file}");
        assert!(!reply.body.is_empty(), "{file} is empty");
        let expected = match file.rsplit('.').next() {
            Some("js" | "mjs") => "text/javascript; charset=utf-8",
            Some("css") => "text/css; charset=utf-8",
            Some("txt") => "text/plain; charset=utf-8",
            other => panic!("unexpected file type {other:?} of {file}"),
        };
        assert_eq!(reply.content_type, expected, "{file}");
    }
    // The vendored module is the real MapLibre build, byte for byte.
    let module = get(&app, "/web/vendor/maplibre-gl/maplibre-gl.mjs").await;
    let on_disk = std::fs::read(common::root().join("web/vendor/maplibre-gl/maplibre-gl.mjs"))
        .unwrap_or_default();
    assert_eq!(module.body, on_disk);
    assert!(String::from_utf8_lossy(&module.body).contains("setWorkerUrl"));
}

#[tokio::test]
async fn unknown_web_files_are_404_problems() {
    let app = app(&sample_dir());
    for uri in [
        "/web/nope.js",
        "/web/vendor/maplibre-gl/maplibre-gl.mjs.map",
        "/web/../Cargo.toml",
        "/web/",
    ] {
        get(&app, uri).await.assert_problem(404, "");
    }
    get(&app, "/web/nope.js")
        .await
        .assert_problem(404, "/web/nope.js");
}
