//! kiosk-central against its own OpenAPI document: schemathesis (PyPI)
//! fuzzes every operation of `/openapi.json` on a real `kiosk-central
//! serve` process (loopback, SQLite, seeded with readers, items, loans,
//! a conflict and feedback, the kiosk's real token sent as a header) and
//! fails on any 5xx, any response the document does not describe, or any
//! route that answers without a valid token. The test also checks every
//! route of the document itself for 401 without / with a wrong token.
//!
//! Run on SQLite and on PostgreSQL (a throwaway cluster, as in
//! tests/central.rs). Without schemathesis the tests print `SKIPPED: …`
//! and pass, unless `KIOSK_REQUIRE_SCHEMATHESIS=1` (CI), where they fail.

use centre::Server;
use kiosk::protocol::*;
use pg::PgCluster;
use serde_json::json;
use std::path::Path;
use std::process::Command;
use uuid::Uuid;

#[path = "support/central.rs"]
mod centre;
// pg.rs reports a missing PostgreSQL through support::peer.
#[path = "support/pg.rs"]
mod pg;
mod support;

/// Test cases per operation and phase: enough to find what the first
/// runs found (undocumented statuses, out-of-range numbers, floats for
/// integers), small enough for about a minute on two cores.
const EXAMPLES: &str = "40";

/// schemathesis's command line through python3, wherever pip put the
/// package (a user install's scripts directory is often not on PATH).
fn st() -> Command {
    let mut c = Command::new("python3");
    c.args([
        "-c",
        "import sys; from schemathesis.cli import schemathesis; sys.argv[0] = 'schemathesis'; schemathesis()",
    ]);
    c
}

/// schemathesis's version when it runs, or why not.
fn schemathesis() -> Result<String, String> {
    match st().arg("--version").output() {
        Ok(o) if o.status.success() => Ok(String::from_utf8_lossy(&o.stdout).trim().to_string()),
        Ok(o) => Err(String::from_utf8_lossy(&o.stderr).into_owned()),
        Err(e) => Err(format!("schemathesis: {e}")),
    }
}

fn entry(seq: i64, kind: &str, patron: Option<&str>, item: Option<&str>) -> Entry {
    Entry {
        id: Uuid::now_v7(),
        kiosk_id: "K1".into(),
        seq,
        at: "2026-11-23T10:00:00+08:00".into(),
        kind: kind.into(),
        patron: patron.map(str::to_string),
        item: item.map(str::to_string),
        decision: "accepted".into(),
        reason: None,
        due: None,
        detail: json!({}),
        offline: true,
    }
}

/// Readers, items and a kiosk token by the CLI; loans, a return, a
/// conflict and feedback by a real push, so lookups find real rows.
async fn seed(db: &[&str], server: &Server, token: &str) {
    let http = reqwest::Client::new();
    let mut feedback = entry(5, "feedback", None, None);
    feedback.detail = json!({"rating": 4, "comment": "quiet corner please"});
    let batch = PushRequest {
        kiosk_id: "K1".into(),
        sent_at: chrono::Utc::now().to_rfc3339(),
        entries: vec![
            entry(1, "checkout", Some("P1"), Some("I1")),
            entry(2, "checkout", Some("P2"), Some("I2")),
            entry(3, "checkin", None, Some("I2")),
            // I1 is on loan to P1: a conflict staff will see.
            entry(4, "checkout", Some("P2"), Some("I1")),
            feedback,
        ],
    };
    let r: PushResponse = http
        .post(format!("{}/v1/push", server.base))
        .bearer_auth(token)
        .json(&batch)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let statuses: Vec<_> = r.results.iter().map(|e| e.status).collect();
    assert_eq!(
        statuses,
        [
            EntryStatus::Applied,
            EntryStatus::Applied,
            EntryStatus::Applied,
            EntryStatus::Conflict,
            EntryStatus::Applied
        ],
        "{r:?}"
    );
    let conflicts = centre::ok(db, &["conflicts"]);
    assert_eq!(conflicts.lines().count(), 1, "{conflicts}");
}

/// Every route of the document but health and the document itself: 401
/// and an `ApiError` without a token, with a wrong one, with another
/// scheme; never data.
async fn auth_required(base: &str) -> usize {
    let http = reqwest::Client::new();
    let doc: serde_json::Value = http
        .get(format!("{base}/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut checked = 0;
    for (path, ops) in doc["paths"].as_object().unwrap() {
        if path == "/v1/health" {
            continue;
        }
        let concrete = path
            .replace("{barcode}", "P1")
            .replace("{id}", "00000000-0000-7000-8000-000000000000");
        for method in ops.as_object().unwrap().keys() {
            for auth in [None, Some("Bearer wrong"), Some("Basic a2lvc2s6MQ==")] {
                let url = format!("{base}{concrete}");
                let mut req = match method.as_str() {
                    "get" => http.get(&url),
                    "post" => http.post(&url).json(&json!({})),
                    m => panic!("{path}: method {m} not covered by this test"),
                };
                if let Some(a) = auth {
                    req = req.header("Authorization", a);
                }
                let r = req.send().await.unwrap();
                assert_eq!(r.status(), 401, "{method} {path} with {auth:?}");
                let body: serde_json::Value = r.json().await.unwrap();
                assert_eq!(body["error"], "unauthorized", "{method} {path}");
                assert_eq!(
                    body.as_object().unwrap().len(),
                    2,
                    "{method} {path}: {body}"
                );
                checked += 1;
            }
        }
    }
    checked
}

/// schemathesis.toml: the token as a header; dictionaries of real
/// barcodes and the kiosk id so a good share of generated requests reach
/// the logic instead of 404 / 403. `positive_data_acceptance` is off for
/// push and decide only: a cross-field rule (every entry's kiosk_id is
/// the batch's) is beyond JSON Schema, and its 400 answer is documented.
fn config(token: &str) -> String {
    format!(
        r#"headers = {{ Authorization = "Bearer {token}" }}

# Every check (not_a_server_error, status_code / content_type /
# response_schema conformance, ignored_auth, negative_data_rejection, ...).
[checks]
enabled = true

[dictionaries.kiosks]
values = ["K1"]
[dictionaries.patrons]
values = ["P1", "P2", "P3"]
[dictionaries.items]
values = ["I1", "I2", "I3"]

[parameters]
"path.barcode" = {{ dictionary = "patrons", probability = 0.6 }}
"query.patron" = {{ dictionary = "patrons", probability = 0.5 }}
"query.item" = {{ dictionary = "items", probability = 0.5 }}
"query.kiosk" = {{ dictionary = "kiosks", probability = 0.5 }}
"body.kiosk_id" = {{ dictionary = "kiosks", probability = 0.8 }}
"body.entry.kiosk_id" = {{ dictionary = "kiosks", probability = 0.8 }}
"body.entries[*].kiosk_id" = {{ dictionary = "kiosks", probability = 0.9 }}

[[operations]]
include-path-regex = "^/v1/(push|decide)$"
checks.positive_data_acceptance.enabled = false
"#
    )
}

fn schemathesis_or_skip() -> Option<String> {
    support::found(support::Peer::Schemathesis, schemathesis())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_nothing_sqlite() {
    let Some(version) = schemathesis_or_skip() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("central.db");
    fuzz(&version, dir.path(), &["--db", file.to_str().unwrap()]).await;
}

/// PostgreSQL refuses what SQLite stores (a NUL in text was a 500 here).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_nothing_postgres() {
    let Some(version) = schemathesis_or_skip() else {
        return;
    };
    let Some(pg) = PgCluster::start_or_skip("schemathesis on PostgreSQL") else {
        return;
    };
    pg.create_db("fuzz").await;
    let dir = tempfile::tempdir().unwrap();
    fuzz(&version, dir.path(), &["--postgres", &pg.url("fuzz")]).await;
}

/// Seeds the database behind `db`, starts the server, checks auth, runs
/// schemathesis.
async fn fuzz(version: &str, dir: &Path, db: &[&str]) {
    let patrons = dir.join("patrons.csv");
    std::fs::write(
        &patrons,
        "barcode,name,category,expires,pin,blocked\n\
         P1,Reader One,adult,2099-12-31,1234,\n\
         P2,Reader Two,child,2099-12-31,,\n\
         P3,Reader Three,adult,2099-12-31,,card reported stolen\n",
    )
    .unwrap();
    let items = dir.join("items.csv");
    std::fs::write(
        &items,
        "barcode,title,author,isbn,item_type,rfid_uid,parts,status\n\
         I1,Alpha,Author,,book,,1,\n\
         I2,Beta,Author,,dvd,,1,\n\
         I3,Gamma,Author,,book,,1,lost\n",
    )
    .unwrap();
    centre::import(db, &patrons, &items);
    let token = centre::token(db, "K1");
    let server = centre::serve(db);
    seed(db, &server, &token).await;
    assert!(auth_required(&server.base).await >= 30);

    let cfg = dir.join("schemathesis.toml");
    std::fs::write(&cfg, config(&token)).unwrap();
    let out = tokio::task::spawn_blocking({
        let (cfg, base, dir) = (cfg.clone(), server.base.clone(), dir.to_path_buf());
        move || {
            st().arg("--config-file")
                .arg(&cfg)
                .arg("run")
                .arg(format!("{base}/openapi.json"))
                .args(["--max-examples", EXAMPLES])
                .args(["--seed", "20261123", "--workers", "2", "--no-color"])
                .args(["--generation-database", "none", "--request-timeout", "20"])
                .current_dir(dir)
                .env("NO_COLOR", "1")
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{version} found problems:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // It really tested every operation of the document.
    let field = |name: &str| {
        stdout
            .lines()
            .find_map(|l| l.trim().strip_prefix(name))
            .map(|v| v.trim().to_string())
            .unwrap_or_default()
    };
    let selected = field("Selected:");
    let total = selected.split('/').nth(1).unwrap_or("?").trim();
    assert_eq!(field("Tested:"), total, "{stdout}");
    // The server survived the run (schemathesis may well have returned
    // I1 or closed the conflict with ids it read from responses: that is
    // the API working) and the database still reads.
    let mut server = server;
    assert!(
        server.child.try_wait().unwrap().is_none(),
        "the server exited"
    );
    let health = reqwest::get(format!("{}/v1/health", server.base))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    centre::ok(db, &["loans"]);
    centre::ok(db, &["conflicts", "--resolved"]);
}
