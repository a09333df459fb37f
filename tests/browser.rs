//! Browser end-to-end tests of the web map: the real `shequ serve` on loopback, driven by the
//! Node scripts in `tests/e2e/` (npm `playwright-core`) in headless Debian Chromium.
//!
//! Without Chromium, Node or `tests/e2e/node_modules` the tests are reported as *ignored* (not
//! passed: a test that did not run must not say it did), and the binary says on stderr what is
//! missing; `--include-ignored` runs them anyway and they fail on the missing piece. With
//! `CI=true` they always run, so a missing piece is a failure (`.ci/run` installs them).
//! libtest cannot decide at run time that a test is ignored, so this binary has its own harness
//! (`harness = false`, libtest-mimic), which prints and filters like libtest. Screenshots go to
//! `target/e2e/`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Duration;

use libtest_mimic::{Arguments, Failed, Trial};

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

/// Accounts the scenarios sign in with: (name, role, towns, password).
const USERS: [(&str, &str, &str, &str); 2] = [
    ("street1", "street", "442000005", "street-password-1"),
    ("reviewer1", "reviewer", "", "reviewer-password-1"),
];

/// Adds the [`USERS`] to the database at `db` with the command line (creating it).
fn add_users(db: &Path) {
    for (name, role, towns, password) in USERS {
        let db = db.to_string_lossy();
        let mut args = vec![
            "user",
            "add",
            name,
            "--role",
            role,
            "--password-stdin",
            "--db",
            &db,
        ];
        if !towns.is_empty() {
            args.extend(["--towns", towns]);
        }
        let out = common::shequ_with_stdin(&args, Some(password));
        assert!(
            out.status.success(),
            "user add {name}: {}",
            common::text(&out.stderr)
        );
    }
}

/// Starts `shequ serve` on a free loopback port with the sample city and a database in `db`
/// (and the scenario's `extra` arguments); returns it and its URL.
fn serve(db: &Path, extra: &[String]) -> (common::Server, String) {
    let server = common::Server::spawn(
        common::shequ_command()
            .args(["serve", "--addr", "127.0.0.1:0", "--db"])
            .arg(db)
            .arg("--data")
            .arg(common::sample_dir())
            .args(extra)
            .env("RUST_LOG", "warn,shequ=info"),
    );
    let addr = server.address(Duration::from_secs(120));
    (server, format!("http://{addr}"))
}

/// Runs one scenario script against a fresh server (with a fresh database; `users`: with the
/// [`USERS`] added first, their names and passwords in `SHEQU_USERS` as JSON).
fn run_scenario(script: &str, users: bool, extra: fn() -> Vec<String>) -> Result<(), Failed> {
    let root = common::root();
    let e2e = root.join("tests/e2e");
    if let Some(what) = missing(&e2e) {
        return Err(format!("browser test {script} cannot run: {what}").into());
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("shequ.db");
    if users {
        add_users(&db);
    }
    let accounts: serde_json::Map<String, serde_json::Value> = USERS
        .iter()
        .map(|(name, role, _, password)| {
            (
                (*role).to_owned(),
                serde_json::json!({"user": name, "password": password}),
            )
        })
        .collect();
    let (_server, url) = serve(&db, &extra());
    let shots = root.join("target/e2e");
    let out = Command::new("node")
        .arg(e2e.join(script))
        .env(
            "SHEQU_USERS",
            serde_json::Value::Object(accounts).to_string(),
        )
        .current_dir(&e2e)
        .env("SHEQU_URL", &url)
        .env("SHEQU_BASEMAP_KEY", BASEMAP_KEY)
        .env("SHEQU_SCREENSHOTS", &shots)
        .env("CHROMIUM", chromium())
        // speed.mjs's two time budgets at 3× issue 15's goals: a regression guard the suite can
        // keep on this machine's software renderer, where the goals themselves are not met yet
        // (BENCHMARKS.md, issue 15). `node tests/e2e/speed.mjs` alone judges the goals (×1).
        .env(
            "SPEED_FACTOR",
            std::env::var("SPEED_FACTOR").unwrap_or_else(|_| "3".into()),
        )
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
    Ok(())
}

/// The scenarios: test name, script, whether accounts are added first, extra arguments of
/// `shequ serve`, and what it checks.
type Scenario = (&'static str, &'static str, bool, fn() -> Vec<String>);

/// No extra arguments.
fn plain() -> Vec<String> {
    Vec::new()
}

/// The part limit of `server-messages.mjs`.
fn three_parts() -> Vec<String> {
    ["--max-proposal-parts", "3"].map(String::from).to_vec()
}

/// The key `basemap.mjs` looks for in everything the page receives.
const BASEMAP_KEY: &str = "e2e0123456789abcdef0123456789abc";

/// A Tianditu key and a fake Tianditu on loopback (a thread answering every request with a
/// 256×256 grey PNG), for `basemap.mjs`.
fn tianditu() -> Vec<String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let addr = listener.local_addr().expect("address");
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || fake_tile(stream));
        }
    });
    vec![
        "--tianditu-key".to_owned(),
        BASEMAP_KEY.to_owned(),
        "--tianditu-url".to_owned(),
        format!("http://{addr}"),
    ]
}

/// Answers one HTTP/1.1 request on `stream` with a grey PNG tile and closes.
fn fake_tile(mut stream: std::net::TcpStream) {
    use std::io::{Read, Write};
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).is_ok_and(|n| n == 1) {
        head.push(byte[0]);
    }
    let png = grey_png();
    let answer = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        png.len()
    );
    let _ = stream.write_all(answer.as_bytes());
    let _ = stream.write_all(&png);
}

/// A 1×1 grey PNG (MapLibre scales it to the tile).
fn grey_png() -> Vec<u8> {
    const PNG: [u8; 67] = [
        0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44,
        0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00, 0x00, 0x00, 0x00, 0x3a,
        0x7e, 0x9b, 0x55, 0x00, 0x00, 0x00, 0x0a, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x68,
        0x00, 0x00, 0x00, 0x82, 0x00, 0x81, 0x77, 0xcd, 0x72, 0xb6, 0x00, 0x00, 0x00, 0x00, 0x49,
        0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
    ];
    PNG.to_vec()
}
const SCENARIOS: [Scenario; 9] = [
    // Opens `/`, waits for community tiles, clicks 城南社区 (the panel shows its household
    // count from the API), draws a split line across it and compares the validation panel
    // with the API.
    (
        "split_a_community_by_a_line",
        "split-line.mjs",
        false,
        plain,
    ),
    // Assembles parts A and B from grids (panel against the API), then the audit view: a click
    // on a finding moves the map to it.
    (
        "assemble_from_grids_and_audit_view",
        "grids-audit.mjs",
        false,
        plain,
    ),
    // Signs in as a street official, assembles a proposal from grids, saves it to the server and
    // takes it through consultation (a comment) and vote (a tally) in the workflow panel; checks
    // the stored proposal through the API; when it passes validation, submits it, and the
    // reviewer approves it, after which the history selector lists the new version.
    (
        "save_a_proposal_and_take_it_through_the_procedure",
        "workflow.mjs",
        true,
        plain,
    ),
    // Issue 15: several split lines, 按网格取整 into a grid grouping, up to twelve parts, part forms
    // kept through every edit, undo/redo without errors, a reload mid-drawing that warns and
    // restores the work, a saved file reopened read-only with every part drawn and the same
    // verdict, and 编辑 back into the same grouping.
    (
        "several_lines_grid_grouping_forms_undo_reload_and_reopen",
        "parts-reopen.mjs",
        false,
        plain,
    ),
    // Issue 15's acceptance: 建议方案 → an eight-part grid split of 城南社区 in the household band,
    // saved, reopened read-only (parts drawn, same verdict), carried through the procedure, the
    // reviewer approving from 变更前/变更后, the print view and the CSV of the grid assignment;
    // no horizontal overflow at 1,400×900, 1,024×700 and 390×844.
    (
        "eight_part_split_saved_reopened_approved_printed",
        "acceptance.mjs",
        true,
        plain,
    ),
    // Issue 15: no English on the page (findings' advice, a refused line, MapLibre's controls),
    // search results, audit findings and failing rules operable by keyboard, label contrast
    // of at least 4.5:1.
    (
        "chinese_text_keyboard_and_contrast",
        "chinese-a11y.mjs",
        false,
        plain,
    ),
    // Issue 15: the server's refusals in Chinese from their codes — a wrong password, a line
    // that does not cross the community, a proposal over the part limit (the server allows 3
    // here), a transition the proposal's state forbids and a submission without a vote — with
    // no Latin-script sentence anywhere on the page.
    (
        "server_refusals_are_shown_in_chinese",
        "server-messages.mjs",
        true,
        three_parts,
    ),
    // Issue 15: the basemap switch through the server's key-holding proxy (a fake Tianditu on
    // loopback): 无底图 / 天地图矢量+注记 / 天地图影像+注记, the attribution shown, no request to
    // another host and the key in nothing the page receives.
    (
        "basemap_switch_through_the_proxy",
        "basemap.mjs",
        false,
        tianditu,
    ),
    // Issue 15's speed budgets: at most 150 KB of JSON before the communities are first drawn
    // (every run), communities drawn within 1.5 s of navigation and the verdict within 600 ms of
    // the finished split line (medians of five runs; the suite runs the two times at ×3, see
    // SPEED_FACTOR below).
    ("speed_budgets", "speed.mjs", false, plain),
];

fn main() -> ExitCode {
    let mut args = Arguments::from_args();
    // One scenario at a time: Chromium draws the map in software (SwiftShader), and with two
    // scenarios drawing thousands of grids on a 2-core machine the page's main thread stalled
    // for over 30 s in a fresh-clone CI run (parts-reopen.mjs waiting for an opened file's view);
    // side by side they gain nothing on two cores anyway.
    args.test_threads = Some(1);
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    // Under CI a missing piece must fail, so nothing is ignored there.
    let missing = missing(&common::root().join("tests/e2e")).filter(|_| !ci);
    if let Some(what) = &missing {
        eprintln!(
            "browser tests ignored: {what}; they need Chromium (or CHROMIUM=path), Node and \
             `npm ci` in tests/e2e (CI=true requires them)"
        );
    }
    let trials = SCENARIOS
        .iter()
        .map(|&(name, script, users, extra)| {
            Trial::test(name, move || run_scenario(script, users, extra))
                .with_ignored_flag(missing.is_some())
        })
        .collect();
    libtest_mimic::run(&args, trials).exit_code()
}
