//! The `shequ` binary: lookup and check-data, on good and broken data.

mod common;

use common::{shequ, shequ_command, text};

#[test]
fn lookup_prints_the_place_as_json() {
    let mini = common::mini_dir();
    let out = shequ(&[
        "lookup",
        "113.015",
        "22.015",
        "--data",
        &mini.to_string_lossy(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(v["grid"]["code"], "442000901002002");
    assert_eq!(v["community"]["name"], "东社区");
    assert_eq!(v["point"], serde_json::json!([113.015, 22.015]));
}

#[test]
fn lookup_rejects_bad_points_and_crs() {
    let mini = common::mini_dir();
    let out = shequ(&["lookup", "113", "-95", "--data", &mini.to_string_lossy()]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("latitude -95 is out of range"),
        "{}",
        text(&out.stderr)
    );
    let out = shequ(&[
        "lookup",
        "113",
        "22",
        "--crs",
        "mars",
        "--data",
        &mini.to_string_lossy(),
    ]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("--crs: unsupported crs \"mars\""));
}

/// A bad `--crs` is bad input: exit code 2, like every other bad input (README, exit codes).
#[test]
fn a_bad_crs_exits_2() {
    let mini = common::mini_dir().to_string_lossy().into_owned();
    let out = shequ(&["lookup", "113", "22", "--crs", "mars", "--data", &mini]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let out = shequ(&[
        "import",
        &common::mini_dir().join("towns.geojson").to_string_lossy(),
        "--crs",
        "mars",
        "--layer",
        "towns",
        "--out",
        &tempfile::tempdir()
            .expect("tempdir")
            .path()
            .to_string_lossy(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("--crs: unsupported crs \"mars\""));
}

/// The exit codes of `shequ --help`: bad input and unreadable data 2, negative answers 1.
#[test]
fn exit_codes_tell_bad_input_from_findings() {
    let mini = common::mini_dir().to_string_lossy().into_owned();
    let out = shequ(&["lookup", "113", "-95", "--data", &mini]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let out = shequ(&["lookup", "113", "22", "--data", "/nonexistent/city"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let out = shequ(&["audit", "/nonexistent/city"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    // No match for an address is a negative answer, not bad input.
    let out = shequ(&["lookup", "--address", "hello", "--data", &mini]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
}

/// `shequ validate --json` prints the very report the API answers for the same proposal,
/// `offending` geometry included.
#[tokio::test]
async fn validate_json_prints_what_the_api_answers() {
    // Overlapping parts, so the report has offending geometry.
    let proposal = common::west_split(22.005);
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("proposal.geojson");
    std::fs::write(&file, proposal.to_string()).expect("write");
    let mini = common::mini_dir();
    let out = shequ(&[
        "validate",
        "--json",
        &file.to_string_lossy(),
        "--data",
        &mini.to_string_lossy(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let cli: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    let app = common::app(&mini);
    let api = common::post_json(&app, "/api/v1/proposals/validate", proposal.to_string()).await;
    assert_eq!(api.status, 200);
    let api = api.json();
    assert!(
        api["offending"]["features"]
            .as_array()
            .is_some_and(|f| !f.is_empty()),
        "{api}"
    );
    assert_eq!(cli, api);
}

#[test]
fn check_data_summarises_good_data() {
    let out = shequ(&["check-data", &common::mini_dir().to_string_lossy()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(
            "ok — 1 towns, 3 communities (2 community, 1 village_converted, 0 village; 1 without territory), \
             4 grids, 2900 households, 8100 residents"
        ),
        "{stdout}"
    );
}

#[test]
fn check_data_lists_every_problem_and_fails() {
    let dir = tempfile::tempdir().expect("tempdir");
    for file in shequ::registry::FILES {
        std::fs::copy(common::mini_dir().join(file), dir.path().join(file)).expect("copy");
    }
    let path = dir.path().join("grids.geojson");
    let grids = std::fs::read_to_string(&path).expect("read");
    let broken = grids
        .replacen("\"households\": 300", "\"households\": -1", 1)
        .replacen("\"name\": \"东社区第2网格\"", "\"name\": 7", 1);
    std::fs::write(&path, broken).expect("write");
    let out = shequ(&["check-data", &dir.path().to_string_lossy()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("2 problems in boundary data"), "{stderr}");
    assert!(
        stderr.contains("grids.geojson: feature 0 (code 442000901001001), field `households`"),
        "{stderr}"
    );
    assert!(stderr.contains(
        "grids.geojson: feature 3 (code 442000901002002), field `name`: expected a string"
    ));
}

#[test]
fn serve_refuses_invalid_data_before_listening() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("db/shequ.db");
    let out = shequ(&[
        "serve",
        "--data",
        &dir.path().to_string_lossy(),
        "--db",
        &db.to_string_lossy(),
        "--addr",
        "127.0.0.1:0",
    ]);
    // Unreadable data: exit 2.
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("towns.geojson: cannot read"));
}

#[test]
fn serve_answers_on_loopback_and_stops_cleanly_on_ctrl_c() {
    use std::io::{Read, Write};
    use std::time::Duration;

    let mini = common::mini_dir();
    let db = tempfile::tempdir().expect("tempdir");
    let mut server = common::Server::spawn(
        shequ_command()
            .args([
                "serve",
                "--addr",
                "127.0.0.1:0",
                "--data",
                &mini.to_string_lossy(),
                "--db",
                &db.path().join("shequ.db").to_string_lossy(),
            ])
            .env("RUST_LOG", "info"),
    );
    // The server logs the address it bound; wait for that line (bounded, in case it never comes).
    let addr = server.address(Duration::from_secs(60));
    let next = || server.log.recv_timeout(Duration::from_secs(60));

    let mut stream = std::net::TcpStream::connect(&addr).expect("connect");
    write!(
        stream,
        "GET /health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains(r#""communities":3"#), "{response}");

    let status = std::process::Command::new("kill")
        .args(["-INT", &server.child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let exit = server.child.wait().expect("wait");
    let rest: Vec<String> = std::iter::from_fn(|| next().ok()).collect();
    let rest = rest.join("\n");
    assert!(exit.success(), "exit {exit:?}; log: {rest}");
    assert!(rest.contains("/health"), "the request is logged: {rest}");
    assert!(rest.contains("shutting down"), "{rest}");
}

#[test]
fn lookup_by_address_and_by_projected_point() {
    let sample = common::sample_dir();
    let entry = &common::sample().addresses.entries().get(0);
    let out = shequ(&[
        "lookup",
        "--address",
        &format!("广东省中山市 {}", entry.address),
        "--data",
        &sample.to_string_lossy(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(v["matches"][0]["code"], entry.code);
    assert_eq!(v["matches"][0]["grid"]["code"], &entry.code[..15]);

    let out = shequ(&[
        "lookup",
        "--address",
        "hello world",
        "--data",
        &sample.to_string_lossy(),
    ]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("no register entry matches"));

    // DESIGN §7 reference point given in EPSG:4547 is echoed as 113.39E 22.52N.
    let out = shequ(&[
        "lookup",
        "437241.4714",
        "2491510.0132",
        "--crs",
        "EPSG:4547",
        "--data",
        &sample.to_string_lossy(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    let lon = v["point"][0].as_f64().unwrap_or_default();
    let lat = v["point"][1].as_f64().unwrap_or_default();
    assert!(
        (lon - 113.39).abs() < 1e-8 && (lat - 22.52).abs() < 1e-8,
        "{v}"
    );
}

#[test]
fn import_converts_projected_layers_into_a_loadable_directory() {
    let crs: shequ::crs::Crs = "EPSG:4547".parse().expect("crs");
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("out");
    for layer in ["towns", "communities", "grids"] {
        // The mini city projected to EPSG:4547 by the library's forward transform.
        let source = std::fs::read_to_string(common::mini_dir().join(format!("{layer}.geojson")))
            .expect("mini layer");
        let mut v: serde_json::Value = serde_json::from_str(&source).expect("JSON");
        fn project(crs: &shequ::crs::Crs, v: &mut serde_json::Value) {
            if let Some(a) = v.as_array_mut() {
                if let [x, y, ..] = a.as_slice()
                    && let (Some(x), Some(y)) = (x.as_f64(), y.as_f64())
                {
                    let p = crs.from_wgs84([x, y]).expect("in zone");
                    *v = serde_json::json!(p);
                    return;
                }
                a.iter_mut().for_each(|x| project(crs, x));
            }
        }
        for f in v["features"].as_array_mut().expect("features") {
            if !f["geometry"].is_null() {
                project(&crs, &mut f["geometry"]["coordinates"]);
            }
            if !f["properties"]["office"].is_null() {
                project(&crs, &mut f["properties"]["office"]);
            }
        }
        let file = tmp.path().join(format!("{layer}-4547.geojson"));
        std::fs::write(&file, v.to_string()).expect("write");
        let run = shequ(&[
            "import",
            &file.to_string_lossy(),
            "--crs",
            "EPSG:4547",
            "--layer",
            layer,
            "--out",
            &out.to_string_lossy(),
        ]);
        assert!(run.status.success(), "{}", text(&run.stderr));
    }
    // The last import checked the directory; the result is the mini city again.
    let back = common::load(&out);
    let mini = common::load(&common::mini_dir());
    assert_eq!(back.registry.grids.len(), mini.registry.grids.len());
    for (a, b) in back.registry.grids.iter().zip(&mini.registry.grids) {
        assert_eq!(a.code, b.code);
        for (p, q) in a.area.0[0]
            .exterior()
            .coords()
            .zip(b.area.0[0].exterior().coords())
        {
            assert!(
                (p.x - q.x).abs() < 2e-7 && (p.y - q.y).abs() < 2e-7,
                "{p:?} {q:?}"
            );
        }
    }
    let bad = shequ(&[
        "import",
        &tmp.path().join("grids-4547.geojson").to_string_lossy(),
        "--crs",
        "wgs84",
        "--layer",
        "grids",
        "--out",
        &out.to_string_lossy(),
    ]);
    assert!(!bad.status.success());
    assert!(
        text(&bad.stderr).contains("feature 0 (code 442000901001001), field `geometry`: position"),
        "{}",
        text(&bad.stderr)
    );
}

/// Starts `shequ serve` on a free port over the mini city with the database `db` and `extra`
/// arguments, waits until it serves, stops it, and returns its stdout and log (stderr).
fn serve_once(db: &std::path::Path, extra: &[&str]) -> (String, String) {
    use std::io::Read;
    use std::process::Stdio;
    use std::time::Duration;

    let mini = common::mini_dir();
    let mut server = common::Server::spawn(
        shequ_command()
            .args(["serve", "--addr", "127.0.0.1:0", "--data"])
            .arg(&mini)
            .arg("--db")
            .arg(db)
            .args(extra)
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped()),
    );
    let log = &server.log;
    let mut seen = Vec::new();
    while let Ok(line) = log.recv_timeout(Duration::from_secs(60)) {
        let serving = line.contains("serving on http://");
        seen.push(line);
        if serving {
            break;
        }
    }
    let _ = server.child.kill();
    let mut stdout = String::new();
    server
        .child
        .stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut stdout)
        .expect("read stdout");
    (stdout, seen.join("\n"))
}

#[test]
fn a_new_database_says_how_to_create_the_first_admin() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("shequ.db");
    let (stdout, log) = serve_once(&db, &[]);
    assert!(log.contains("serving on"), "{log}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(
        log.contains("no active admin account")
            && log.contains("user add NAME --role admin")
            && log.contains("--init-admin NAME"),
        "{log}"
    );
}

#[test]
fn serve_init_admin_creates_the_first_admin_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("shequ.db");
    let (stdout, log) = serve_once(&db, &["--init-admin", "boss"]);
    assert!(log.contains("admin boss created"), "{log}");
    assert!(!log.contains("no active admin"), "{log}");
    let password = stdout.trim();
    assert!(password.len() >= 12, "password alone on stdout: {stdout:?}");
    assert!(!log.contains(password), "the password is not logged");
    // It signs in, as an admin.
    let store = shequ::store::Store::open(&db).expect("open db");
    let session = shequ::store::accounts::login(&store, "boss", password).expect("login");
    assert_eq!(session.actor.role, shequ::accounts::Role::Admin);

    // A second start with an admin present creates nobody and prints no password.
    let (stdout, log) = serve_once(&db, &["--init-admin", "other"]);
    assert!(stdout.is_empty(), "{stdout}");
    assert!(log.contains("already has an admin (boss)"), "{log}");
    let list = shequ(&["user", "list", "--db", &db.to_string_lossy()]);
    let list = text(&list.stdout);
    assert!(list.contains("boss") && !list.contains("other"), "{list}");

    // A bad name stops the server before it serves, saying why.
    let dir = tempfile::tempdir().expect("tempdir");
    let out = shequ(&[
        "serve",
        "--addr",
        "127.0.0.1:0",
        "--data",
        &common::mini_dir().to_string_lossy(),
        "--db",
        &dir.path().join("shequ.db").to_string_lossy(),
        "--init-admin",
        "cli",
    ]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("--init-admin cli"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn help_texts_describe_every_argument() {
    let help = text(&shequ(&["--help"]).stdout);
    for line in [
        "Exit codes",
        "  1  findings",
        "  2  bad input",
        "  3  internal",
    ] {
        assert!(help.contains(line), "shequ --help lists {line:?}: {help}");
    }
    let help = text(&shequ(&["serve", "--help"]).stdout);
    assert!(!help.contains("over a boundary directory"), "{help}");
    for flag in ["--tile-cache", "--basemap", "--glyphs", "--init-admin"] {
        assert!(help.contains(flag), "serve --help names {flag}: {help}");
    }
    let help = text(&shequ(&["user", "--help"]).stdout);
    assert!(help.contains("add, password, list, disable"), "{help}");
    // Every argument and option of these commands has a description: clap prints a bare
    // name (nothing after it on the line) for one without.
    for command in [
        &["validate", "--help"][..],
        &["token", "create", "--help"],
        &["user", "list", "--help"],
        &["export", "--help"],
        &["audit", "--help"],
    ] {
        let help = text(&shequ(command).stdout);
        let bare: Vec<&str> = help
            .lines()
            .map(str::trim)
            .filter(|l| {
                (l.starts_with('-') || l.starts_with('<'))
                    && !l.contains("  ")
                    && !l.starts_with("-h")
            })
            .collect();
        assert!(bare.is_empty(), "{command:?}: undescribed {bare:?}\n{help}");
    }
}

/// `shequ import` of shequ's own GeoJSON keeps each community's office (`office: [x, y]`, one
/// member rather than two columns); it used to drop it, so a re-import of an export would stage
/// every community as changed. Checked against the fixture's own JSON.
#[test]
fn import_of_geojson_keeps_the_office() {
    let mini = common::mini_dir();
    let out_dir = tempfile::tempdir().expect("tempdir");
    let out = shequ(&[
        "import",
        &mini.to_string_lossy(),
        "--out",
        &out_dir.path().to_string_lossy(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let offices = |path: &std::path::Path| -> Vec<(String, serde_json::Value)> {
        let text = std::fs::read_to_string(path).expect("read communities");
        let doc: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        let mut all: Vec<(String, serde_json::Value)> = doc["features"]
            .as_array()
            .expect("features")
            .iter()
            .map(|f| {
                let p = &f["properties"];
                (
                    p["code"].as_str().unwrap_or("").to_owned(),
                    p["office"].clone(),
                )
            })
            .collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    };
    let before = offices(&mini.join("communities.geojson"));
    assert!(
        before.iter().any(|(_, o)| o.is_array()),
        "the fixture has offices"
    );
    assert_eq!(offices(&out_dir.path().join("communities.geojson")), before);
}
