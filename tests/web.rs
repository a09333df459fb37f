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

/// Module imports (`from '…'`) of a script and the worker scripts it starts (`new Worker('…'`).
fn imports(js: &str) -> Vec<String> {
    ["from '", "new Worker('"]
        .iter()
        .flat_map(|marker| js.split(marker).skip(1))
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
        "/web/vendor/terra-draw/terra-draw.umd.js",
        "/web/vendor/terra-draw/terra-draw-maplibre-gl-adapter.umd.js",
    ] {
        assert!(refs.iter().any(|r| r == expected), "{expected} in {refs:?}");
    }
    // Nothing from another host: the page must work offline.
    assert!(
        refs.iter()
            .all(|r| r.starts_with('/') && !r.starts_with("//") || r.starts_with("data:")),
        "{refs:?}"
    );
    let modules = modules(&app).await;
    assert!(
        modules.contains(&"/web/vendor/maplibre-gl/maplibre-gl.mjs".to_owned()),
        "the app imports the vendored MapLibre module: {modules:?}"
    );
    for module in [
        "/web/proposal.js",
        "/web/draw.js",
        "/web/validation.js",
        "/web/server.js",
        "/web/suggest.js",
        // The request worker (util.js starts it) and the part functions it shares with the editor.
        "/web/fetcher.js",
        "/web/parts.js",
    ] {
        assert!(
            modules.contains(&module.to_owned()),
            "{module} in {modules:?}"
        );
    }
}

/// Every module the app loads, following imports from `/web/app.js` (the app's own modules
/// import only by absolute path under `/web/`).
async fn modules(app: &axum::Router) -> Vec<String> {
    let mut seen = vec!["/web/app.js".to_owned()];
    let mut next = 0;
    while next < seen.len() {
        let path = seen[next].clone();
        next += 1;
        if path.starts_with("/web/vendor/") {
            continue;
        }
        let body = get(app, &path).await.body;
        for import in imports(&String::from_utf8_lossy(&body)) {
            assert!(import.starts_with("/web/"), "{path} imports {import}");
            if !seen.contains(&import) {
                seen.push(import);
            }
        }
    }
    seen
}

#[tokio::test]
async fn every_referenced_file_is_served_with_its_content_type() {
    let app = app(&sample_dir());
    let html = String::from_utf8_lossy(&get(&app, "/").await.body).into_owned();
    let mut files: Vec<String> = references(&html)
        .into_iter()
        .chain(modules(&app).await)
        .filter(|r| r.starts_with("/web/"))
        .collect();
    files.dedup();
    // MapLibre loads its worker from beside its own module (import.meta.url).
    files.push("/web/vendor/maplibre-gl/maplibre-gl-worker.mjs".into());
    files.push("/web/vendor/maplibre-gl/LICENSE.txt".into());
    files.push("/web/vendor/terra-draw/LICENSE.txt".into());
    assert!(files.len() >= 13, "{files:?}");
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
    // terra-draw's UMD builds define the globals draw.js reads.
    let draw = get(&app, "/web/vendor/terra-draw/terra-draw.umd.js").await;
    assert!(String::from_utf8_lossy(&draw.body).contains(".terraDraw={}"));
    let adapter = get(
        &app,
        "/web/vendor/terra-draw/terra-draw-maplibre-gl-adapter.umd.js",
    )
    .await;
    assert!(String::from_utf8_lossy(&adapter.body).contains(".terraDrawMaplibreGlAdapter={}"));
    let licence = get(&app, "/web/vendor/terra-draw/LICENSE.txt").await;
    assert!(String::from_utf8_lossy(&licence.body).contains("Copyright 2022 James Milner"));
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
