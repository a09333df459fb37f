//! Browser end-to-end tests of the web map: the real `shequ serve` on loopback, driven by the
//! Node scripts in `tests/e2e/` (npm `playwright-core`) in headless Debian Chromium.
//!
//! Without Chromium, Node or `tests/e2e/node_modules` the tests say they are skipped and pass;
//! with `CI=true` a missing piece is a failure (`.ci/run` installs them). Screenshots go to
//! `target/e2e/`.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

fn chromium() -> PathBuf {
    std::env::var_os("CHROMIUM").map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from)
}

/// What is missing to run the browser tests, if anything.
fn missing(e2e: &Path) -> Option<String> {
    if !chromium().exists() {
        return Some(format!("no Chromium at {}", chromium().display()));
    }
    if Command::new("node").arg("--version").output().is_err() {
        return Some("no `node` on PATH".to_owned());
    }
    if !e2e.join("node_modules/playwright-core").is_dir() {
        return Some(format!(
            "no {} (run `npm ci` there)",
            e2e.join("node_modules").display()
        ));
    }
    None
}

/// Kills the server when the test ends, however it ends, then removes its database.
struct Server(std::process::Child, tempfile::TempDir);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
        let _ = self.1.path();
    }
}

/// Starts `shequ serve` on a free loopback port with the sample city; returns it and its URL.
fn serve() -> (Server, String) {
    let db = tempfile::tempdir().expect("tempdir");
    let child = Command::new(env!("CARGO_BIN_EXE_shequ"))
        .args(["serve", "--addr", "127.0.0.1:0", "--data"])
        .arg(common::sample_dir())
        .arg("--db")
        .arg(db.path().join("shequ.db"))
        .env("RUST_LOG", "warn,shequ=info")
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn shequ serve");
    let mut server = Server(child, db);
    let stderr = server.0.stderr.take().expect("stderr");
    let (lines, log) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let addr = std::iter::from_fn(|| log.recv_timeout(Duration::from_secs(120)).ok())
        .find_map(|line| {
            line.split("serving on http://")
                .nth(1)
                .map(|a| a.trim().to_owned())
        })
        .expect("server announces its address");
    (server, format!("http://{addr}"))
}

/// Runs one scenario script against a fresh server.
fn scenario(script: &str) {
    let root = common::root();
    let e2e = root.join("tests/e2e");
    if let Some(what) = missing(&e2e) {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("browser test {script}: {what} (CI=true requires it)");
        }
        println!("skipped browser test {script}: {what}");
        return;
    }
    let (_server, url) = serve();
    let shots = root.join("target/e2e");
    let out = Command::new("node")
        .arg(e2e.join(script))
        .current_dir(&e2e)
        .env("SHEQU_URL", &url)
        .env("SHEQU_SCREENSHOTS", &shots)
        .env("CHROMIUM", chromium())
        .output()
        .expect("run node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "{script} failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    assert!(stdout.contains(": ok"), "{stdout}");
}

/// Opens `/`, waits for community tiles, clicks 城南社区 (the panel shows its household count
/// from the API), draws a split line across it and compares the validation panel with the API.
#[test]
fn split_a_community_by_a_line() {
    scenario("split-line.mjs");
}

/// Assembles parts A and B from grids (panel against the API), then the audit view: a click on a
/// finding moves the map to it.
#[test]
fn assemble_from_grids_and_audit_view() {
    scenario("grids-audit.mjs");
}
