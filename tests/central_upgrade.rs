//! kiosk-central's database across versions, and PostgreSQL failures
//! told as they are.
//!
//! Upgrade: a database written by the first kiosk-central (schema version
//! 1: SQLite `user_version = 1`, PostgreSQL `schema_version` row 1), with
//! readers, items, a kiosk and its token, a loan, a conflict and their
//! changes, is opened by three `kiosk-central serve` processes started at
//! the same moment. All three come up, the database is upgraded to
//! version 2 once, and every row is still there and served: the old
//! token works, the loan and the conflict are listed, the changes feed
//! carries the old records, and the version-2 tables work (closing the
//! conflict reaches the feed).
//!
//! Errors: tokio-postgres says only "db error"; kiosk-central's errors
//! and log carry the server's message, SQLSTATE and constraint, never
//! the DETAIL line that quotes the row (a token's hash).
//!
//! PostgreSQL runs in a throwaway cluster (tests/support/pg.rs): without
//! it the PostgreSQL test prints `SKIPPED: …` and passes, unless
//! `KIOSK_REQUIRE_PG=1` (CI).

use chrono::Utc;
use kiosk::central::{self, CentralError, PgStorage, Storage};
use kiosk::domain::Settings;
use kiosk::protocol::*;
use serde_json::json;
use std::process::Stdio;
use uuid::Uuid;

#[path = "support/central.rs"]
mod centre;
// pg.rs reports a missing PostgreSQL through support::peer.
#[path = "support/pg.rs"]
mod pg;
mod support;

/// Version 1 of the schema, as the first kiosk-central shipped it.
const SCHEMA_V1: &str = include_str!("../src/central/schema.sql");

/// What a version-1 server held; the same SQL for both backends.
fn v1_rows(token: &str, applied: Uuid, conflict: Uuid) -> String {
    // Tokens of servers before roles: argon2, in kiosks.token_hash.
    let hash = central::legacy_token_hash(token);
    let at = "2026-11-01T10:00:00+08:00";
    let t = "2026-11-01T02:00:01.000Z";
    format!(
        "INSERT INTO kiosks (kiosk_id, token_hash, created, last_seq) VALUES ('K1', '{hash}', '{t}', 2);
         INSERT INTO patrons (barcode, name, category, expires, fines_owed_cents, updated)
           VALUES ('P1', 'Reader One', 'adult', '2099-12-31', 0, '{t}');
         INSERT INTO items (barcode, title, author, item_type, parts, status, title_key, updated)
           VALUES ('I1', 'Alpha', 'Author', 'book', 1, 'on_loan', 'title:alpha|author', '{t}'),
                  ('I2', 'Beta', 'Author', 'book', 1, 'lost', 'title:beta|author', '{t}');
         INSERT INTO loans (item, patron, checked_out, due, renewals, kiosk_id, entry_id)
           VALUES ('I1', 'P1', '{at}', '2026-11-15', 0, 'K1', '{applied}');
         INSERT INTO entries (id, kiosk_id, seq, at, kind, patron, item, decision, detail, offline,
                              status, code, message, via, received)
           VALUES ('{applied}', 'K1', 1, '{at}', 'checkout', 'P1', 'I1', 'accepted', '{{}}', 1,
                   'applied', NULL, NULL, 'push', '{t}'),
                  ('{conflict}', 'K1', 2, '{at}', 'checkout', 'P1', 'I2', 'accepted', '{{}}', 1,
                   'conflict', 'item_lost', 'the item is recorded lost', 'push', '{t}');
         INSERT INTO changes (entity, key, op)
           VALUES ('patron', 'P1', 'upsert'), ('item', 'I1', 'upsert'), ('item', 'I2', 'upsert'),
                  ('loan', 'I1', 'upsert');"
    )
}

/// Starts three `serve` processes at once on `db` and waits for all of
/// them: each must come up.
fn serve_three(db: &[String]) -> Vec<centre::Server> {
    let children: Vec<_> = (0..3)
        .map(|_| {
            centre::cmd(db)
                .args(["serve", "--listen", "127.0.0.1:0"])
                .stdout(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    centre::Server::all_listening(children)
}

/// Everything the version-1 database held, through the upgraded servers.
async fn kept_and_served(db: &[String], servers: &[centre::Server], token: &str, conflict: Uuid) {
    let loans = centre::json_lines(&centre::ok(db, &["loans"]));
    assert_eq!(loans.len(), 1, "{loans:?}");
    assert_eq!(
        (&loans[0]["item"], &loans[0]["patron"], &loans[0]["due"]),
        (&json!("I1"), &json!("P1"), &json!("2026-11-15"))
    );
    let http = reqwest::Client::new();
    for s in servers {
        let open: Vec<ConflictRecord> = http
            .get(format!("{}/v1/conflicts", s.base))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(open.len(), 1);
        assert_eq!((open[0].id, open[0].code.as_str()), (conflict, "item_lost"));
    }
    let page: ChangesPage = http
        .get(format!("{}/v1/changes?limit=100", servers[0].base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let upserts = page
        .changes
        .iter()
        .filter(|c| matches!(c, Change::Upsert { .. }))
        .count();
    assert!(upserts >= 4, "{page:?}");
    assert!(page.changes.iter().any(|c| matches!(c,
        Change::Upsert { record: Record::Loan(l) } if l.item == "I1" && l.patron == "P1")));
    // A version-2 table: closing the conflict works and reaches the feed.
    let r: serde_json::Value = http
        .post(format!(
            "{}/v1/conflicts/{conflict}/resolve",
            servers[1].base
        ))
        .bearer_auth(token)
        .json(&json!({"note": "found on the returns trolley", "by": "MJ"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["result"], "resolved");
    let after: ChangesPage = http
        .get(format!(
            "{}/v1/changes?cursor={}",
            servers[2].base, page.cursor
        ))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        after.changes.iter().any(|c| matches!(c,
            Change::Upsert { record: Record::Resolution(r) }
                if r.entry == conflict && r.kiosk_id == "K1"
                    && r.resolved_by == "MJ at kiosk K1"
                    && r.note == "found on the returns trolley")),
        "{after:?}"
    );
    assert!(centre::ok(db, &["conflicts"]).trim().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_1_sqlite_file_upgrades_once_and_keeps_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("central.db");
    let (applied, conflict) = (Uuid::now_v7(), Uuid::now_v7());
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(&SCHEMA_V1.replace("@ID@", "INTEGER PRIMARY KEY AUTOINCREMENT"))
            .unwrap();
        conn.execute_batch(&v1_rows("old-token", applied, conflict))
            .unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
    }
    let db = vec!["--db".to_string(), path.display().to_string()];
    let servers = serve_three(&db);
    let conn = rusqlite::Connection::open(&path).unwrap();
    let v: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, 8);
    kept_and_served(&db, &servers, "old-token", conflict).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_upgrades_once_and_says_what_failed() {
    let Some(pg) = pg::PgCluster::start_or_skip("PostgreSQL upgrade and errors") else {
        return;
    };

    // A version-1 database, upgraded by three servers starting at once.
    pg.create_db("old").await;
    let (client, conn) = tokio_postgres::connect(&pg.url("old"), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let (applied, conflict) = (Uuid::now_v7(), Uuid::now_v7());
    client
        .batch_execute(&format!(
            "{}
             CREATE TABLE schema_version (version BIGINT NOT NULL);
             INSERT INTO schema_version (version) VALUES (1);
             {}",
            SCHEMA_V1.replace("@ID@", "BIGSERIAL PRIMARY KEY"),
            v1_rows("old-token", applied, conflict)
        ))
        .await
        .unwrap();
    let db = vec!["--postgres".to_string(), pg.url("old")];
    let servers = serve_three(&db);
    let versions: Vec<i64> = client
        .query("SELECT version FROM schema_version ORDER BY version", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(versions, [1, 8], "upgraded exactly once");
    kept_and_served(&db, &servers, "old-token", conflict).await;
    drop(servers);

    // Errors carry the server's reason. A token's hash in use by another
    // kiosk: a unique violation, named, without the hash (DETAIL).
    pg.create_db("errors").await;
    let st = PgStorage::connect(&pg.url("errors"), Settings::default())
        .await
        .unwrap();
    let hash = central::token_hash("shared");
    st.set_token("K1".into(), hash.clone(), false, Utc::now())
        .await
        .unwrap();
    let e = st
        .set_token("K2".into(), hash.clone(), false, Utc::now())
        .await
        .unwrap_err();
    assert!(matches!(e, CentralError::Postgres(_)), "{e:?}");
    let said = e.to_string();
    assert!(
        said.contains("duplicate key value violates unique constraint"),
        "{said}"
    );
    assert!(said.contains("SQLSTATE 23505"), "{said}");
    assert!(said.contains("tokens_pkey"), "{said}");
    assert!(said.contains("table tokens"), "{said}");
    assert!(!said.contains("db error"), "{said}");
    assert!(!said.contains(&hash), "the token's hash leaked: {said}");

    // Through a real server: the push fails with 500 and the log says why.
    let (client, conn) = tokio_postgres::connect(&pg.url("errors"), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client
        .batch_execute(
            "ALTER TABLE entries ADD CONSTRAINT feedback_names_no_reader
             CHECK (kind <> 'feedback' OR patron IS NULL)",
        )
        .await
        .unwrap();
    let edb = ["--postgres".to_string(), pg.url("errors")];
    let token = centre::token(&edb, "K3");
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("serve.log");
    let mut c = centre::cmd(&edb);
    c.args(["serve", "--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "error")
        .stderr(std::fs::File::create(&log).unwrap());
    let server = centre::Server::spawn(c);
    let entry = Entry {
        id: Uuid::now_v7(),
        kiosk_id: "K3".into(),
        seq: 1,
        at: "2026-11-23T10:00:00+08:00".into(),
        kind: "feedback".into(),
        patron: Some("P-SECRET-CARD".into()),
        item: None,
        decision: "accepted".into(),
        reason: None,
        due: None,
        detail: json!({"rating": 5}),
        offline: true,
    };
    let r = reqwest::Client::new()
        .post(format!("{}/v1/push", server.base))
        .bearer_auth(&token)
        .json(&PushRequest {
            kiosk_id: "K3".into(),
            sent_at: Utc::now().to_rfc3339(),
            entries: vec![entry],
        })
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 500);
    let body: ApiError = r.json().await.unwrap();
    assert_eq!(body.error, "internal");
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(logged.contains("feedback_names_no_reader"), "{logged}");
    assert!(logged.contains("SQLSTATE 23514"), "{logged}");
    assert!(logged.contains("violates check constraint"), "{logged}");
    assert!(!logged.contains("P-SECRET-CARD"), "{logged}");
    assert!(!logged.contains(&token), "{logged}");
}
