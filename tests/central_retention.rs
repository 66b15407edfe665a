//! Readers' history on kiosk-central (issue 13 §5): retention after
//! `[privacy] history_retention_days` on SQLite and PostgreSQL (past
//! loans, holds, fees and journal entries lose the reader; open ones,
//! readers who keep their history, and the stats stay), at the start of a
//! real `kiosk-central serve` process; and no card numbers in the texts
//! the server stores or sends about a conflict or a return.

use chrono::{DateTime, NaiveDate, Utc};
use kiosk::central::engine::Retention;
use kiosk::central::{PgStorage, SqliteStorage, Storage};
use kiosk::domain::Settings;
use kiosk::protocol::*;
use pg::PgCluster;
use serde_json::{json, Value};
use uuid::Uuid;

#[path = "support/central.rs"]
mod centre;
#[path = "support/pg.rs"]
mod pg;
mod support;

use centre::Db;

/// Cards: A borrows, K keeps their history, B comes second.
const A: &str = "20000000001";
const K: &str = "20000000002";
const B: &str = "20000000003";
/// Every reader card here starts with this.
const ANY_CARD: &str = "%2000000000%";

fn reader(barcode: &str) -> PatronRecord {
    PatronRecord {
        barcode: barcode.into(),
        name: format!("Reader {barcode}"),
        category: "adult".into(),
        expires: Some("2099-12-31".into()),
        pin_hash: None,
        email: None,
        blocked: None,
        fines_owed_cents: 0,
        language: None,
    }
}

fn book(barcode: &str) -> ItemRecord {
    ItemRecord {
        barcode: barcode.into(),
        rfid_uid: None,
        title: format!("Title {barcode}"),
        author: "Author".into(),
        isbn: None,
        item_type: "book".into(),
        parts: 1,
        status: "available".into(),
        location: None,
    }
}

fn entry(seq: i64, at: &str, kind: &str, patron: Option<&str>, item: Option<&str>) -> Entry {
    Entry {
        id: Uuid::now_v7(),
        kiosk_id: "K1".into(),
        seq,
        at: at.into(),
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

/// Writes to the server's tables directly (what the reader portal will
/// do for `keep_history`, and a row as servers before the fix wrote it).
async fn exec(db: &Db, sql: &str) {
    match db {
        Db::Sqlite(p) => rusqlite::Connection::open(p)
            .unwrap()
            .execute_batch(sql)
            .unwrap(),
        Db::Pg(url) => {
            let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                .await
                .unwrap();
            tokio::spawn(conn);
            client.batch_execute(sql).await.unwrap();
        }
    }
}

async fn column(db: &Db, sql: &str) -> Vec<String> {
    db.rows(sql)
        .await
        .into_iter()
        .map(|r| r.join("|"))
        .collect()
}

/// A year and more of history, then retention with 365 days as of
/// 2026-06-01 (first day kept: 2025-06-02).
async fn retention_suite<S: Storage>(st: &S, db: Db) {
    let now: DateTime<Utc> = "2026-06-01T00:00:00Z".parse().unwrap();
    st.set_policies(
        vec![PolicyRecord {
            category: "default".into(),
            item_type: "default".into(),
            loan_days: 14,
            loan_hours: 0,
            max_loans: 10,
            max_renewals: 1,
            renewal_days: 14,
            fine_per_day_cents: 10,
            fine_cap_cents: 1000,
            block_fines_cents: 0,
            block_overdue: 0,
            max_holds: 5,
            loanable: true,
        }],
        vec![],
    )
    .await
    .unwrap();
    st.import_patrons(vec![reader(A), reader(K), reader(B)], now)
        .await
        .unwrap();
    st.import_items(["I1", "I2", "I3", "I4", "I5"].map(book).to_vec(), now)
        .await
        .unwrap();
    exec(
        &db,
        &format!("UPDATE patrons SET keep_history = 1 WHERE barcode = '{K}'"),
    )
    .await;
    let mut feedback = entry(11, "2025-03-06T10:00:00+08:00", "feedback", Some(B), None);
    feedback.detail = json!({"rating": 2, "comment": format!("my card {B} does not scan")});
    let entries = vec![
        entry(
            1,
            "2025-03-01T10:00:00+08:00",
            "checkout",
            Some(A),
            Some("I1"),
        ),
        // Five days late: a fine.
        entry(
            2,
            "2025-03-20T10:00:00+08:00",
            "checkin",
            Some(A),
            Some("I1"),
        ),
        entry(
            3,
            "2025-03-01T10:00:00+08:00",
            "checkout",
            Some(K),
            Some("I2"),
        ),
        entry(
            4,
            "2025-03-10T10:00:00+08:00",
            "checkin",
            Some(K),
            Some("I2"),
        ),
        // Still out.
        entry(
            5,
            "2025-03-02T10:00:00+08:00",
            "checkout",
            Some(A),
            Some("I3"),
        ),
        // On loan to A: a conflict, closed by staff below.
        entry(
            6,
            "2025-03-03T10:00:00+08:00",
            "checkout",
            Some(B),
            Some("I3"),
        ),
        entry(
            7,
            "2025-03-04T10:00:00+08:00",
            "hold_placed",
            Some(A),
            Some("I4"),
        ),
        entry(
            8,
            "2025-03-05T10:00:00+08:00",
            "hold_cancelled",
            Some(A),
            Some("I4"),
        ),
        entry(
            9,
            "2026-05-20T10:00:00+08:00",
            "checkout",
            Some(A),
            Some("I5"),
        ),
        entry(
            10,
            "2026-05-25T10:00:00+08:00",
            "checkin",
            Some(A),
            Some("I5"),
        ),
        feedback,
    ];
    let conflict_id = entries[5].id;
    let r = st
        .push(
            PushRequest {
                kiosk_id: "K1".into(),
                sent_at: "2026-05-26T02:00:00Z".into(),
                entries,
            },
            now,
        )
        .await
        .unwrap();
    let codes: Vec<_> = r.results.iter().map(|r| r.code.clone()).collect();
    assert_eq!(codes[5].as_deref(), Some("on_loan_elsewhere"), "{codes:?}");
    assert_eq!(codes.iter().flatten().count(), 1, "{codes:?}");
    st.resolve_conflict(
        conflict_id.to_string(),
        format!("phoned {B}; the book is with {A}"),
        "Mei".into(),
        None,
        now,
    )
    .await
    .unwrap();
    // As servers before the fix wrote it: the holder's card in the
    // message, the borrower in the detail.
    exec(
        &db,
        &format!(
            "UPDATE entries SET message = 'item I3 is on loan to reader {A}' WHERE seq = 6;
             UPDATE entries SET detail = '{{\"title\":\"Title I1\",\"borrower\":\"{A}\",\"fine_cents\":50}}'
             WHERE seq = 2;"
        ),
    )
    .await;
    assert_eq!(
        db.count(&format!("SELECT count(*) FROM fees WHERE patron = '{A}'"))
            .await,
        1
    );
    let (from, to) = (
        NaiveDate::from_ymd_opt(2025, 1, 1).unwrap(),
        NaiveDate::from_ymd_opt(2026, 12, 31).unwrap(),
    );
    let stats = st.stats(from, to).await.unwrap();
    let kept_stats = column(
        &db,
        "SELECT day, dim, key, n_loans, n_returns FROM stats_days ORDER BY day, dim, key",
    )
    .await;
    let kept_readers = column(
        &db,
        "SELECT day, patron, n FROM stats_readers ORDER BY day, patron",
    )
    .await;
    assert!(stats.loans >= 4, "{stats:?}");

    let done = st.retention(365, now).await.unwrap();
    assert_eq!(
        done,
        Retention {
            loans: 1,
            entries: 6,
            holds: 1,
            fees: 1
        }
    );
    // Past loans: A's returned one anonymised; the open one, the recent
    // one and K's (who keeps their history) still name their reader.
    assert_eq!(
        column(&db, "SELECT item, patron FROM loans ORDER BY item").await,
        [
            "I1|",
            &format!("I2|{K}"),
            &format!("I3|{A}"),
            &format!("I5|{A}")
        ]
    );
    assert_eq!(
        column(&db, "SELECT patron, coalesce(pickup_code, '') FROM holds").await,
        ["|"]
    );
    assert_eq!(column(&db, "SELECT patron FROM fees").await, [""]);
    // Before the cut-off, only K's entries and the open loan's still hold
    // a card anywhere (reader column, detail, message).
    let carded = format!(
        "SELECT seq FROM entries WHERE at < '2025-06-02' AND
         (coalesce(patron, '') || detail || coalesce(message, '')) LIKE '{ANY_CARD}' ORDER BY seq"
    );
    assert_eq!(column(&db, &carded).await, ["3", "4", "5"]);
    assert_eq!(
        column(
            &db,
            "SELECT seq FROM entries WHERE patron IS NULL ORDER BY seq"
        )
        .await,
        ["1", "2", "6", "7", "8", "11"]
    );
    let c = &st.resolved_conflicts(None).await.unwrap()[0];
    assert_eq!(c.conflict.patron, None);
    assert_eq!(c.conflict.message, "item I3 is on loan to reader …0001");
    assert_eq!(c.note, "phoned …0003; the book is with …0001");
    let fb = column(&db, "SELECT detail FROM entries WHERE seq = 11").await;
    let fb: Value = serde_json::from_str(&fb[0]).unwrap();
    assert_eq!(
        fb,
        json!({"rating": 2, "comment": "my card …0003 does not scan"})
    );
    // What the stats count is as it was.
    assert_eq!(st.stats(from, to).await.unwrap(), stats);
    assert_eq!(
        column(
            &db,
            "SELECT day, dim, key, n_loans, n_returns FROM stats_days ORDER BY day, dim, key"
        )
        .await,
        kept_stats
    );
    assert_eq!(
        column(
            &db,
            "SELECT day, patron, n FROM stats_readers ORDER BY day, patron"
        )
        .await,
        kept_readers
    );
    // A second run finds nothing to do.
    assert_eq!(st.retention(365, now).await.unwrap(), Retention::default());
    // K no longer keeps their history: their past goes too.
    exec(
        &db,
        &format!("UPDATE patrons SET keep_history = 0 WHERE barcode = '{K}'"),
    )
    .await;
    assert_eq!(
        st.retention(365, now).await.unwrap(),
        Retention {
            loans: 1,
            entries: 2,
            holds: 0,
            fees: 0
        }
    );
    assert_eq!(column(&db, &carded).await, ["5"]);
    // 0 days: nothing past is kept, the open loan still is.
    let done = st.retention(0, now).await.unwrap();
    assert_eq!((done.loans, done.entries), (1, 2), "{done:?}");
    assert_eq!(
        column(&db, "SELECT item, patron FROM loans ORDER BY item").await,
        ["I1|", "I2|", &format!("I3|{A}"), "I5|"]
    );
    assert_eq!(st.stats(from, to).await.unwrap(), stats);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_anonymises_past_history_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("central.db");
    let st = SqliteStorage::open(&path, Settings::default()).unwrap();
    retention_suite(&st, Db::Sqlite(path)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_anonymises_past_history_postgres() {
    let Some(pg) = PgCluster::start_or_skip("retention on PostgreSQL") else {
        return;
    };
    pg.create_db("retention").await;
    let url = pg.url("retention");
    let st = PgStorage::connect(&url, Settings::default()).await.unwrap();
    retention_suite(&st, Db::Pg(url)).await;
}

const PATRONS: &str = "barcode,name,category,expires,pin,email,blocked\n\
    20000000001,Reader A,adult,2099-12-31,,,\n\
    20000000003,Reader B,adult,2099-12-31,,,\n";
const ITEMS: &str = "barcode,title,author,isbn,item_type,rfid_uid,parts,status\n\
    I1,Alpha,Author,,book,,1,\n\
    I2,Beta,Author,,book,,1,\n";

fn push_body(entries: &[Value]) -> Value {
    json!({"kiosk_id": "K1", "sent_at": Utc::now().to_rfc3339(), "entries": entries})
}

fn wire(seq: i64, at: &str, kind: &str, patron: Option<&str>, item: &str) -> Value {
    serde_json::to_value(entry(seq, at, kind, patron, Some(item))).unwrap()
}

/// A real `kiosk-central serve` started on a database with an old
/// history anonymises it at start (and `kiosk-central retention` then
/// finds nothing left to do).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_anonymises_old_history_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("central.db");
    let db = ["--db", path.to_str().unwrap()];
    centre::import_csv(&db, dir.path(), "r", PATRONS, ITEMS);
    let token = centre::token(&db, "K1");
    // Written by a server that keeps a century.
    let long = dir.path().join("long.toml");
    std::fs::write(&long, "[privacy]\nhistory_retention_days = 36500\n").unwrap();
    let recent = (Utc::now() - chrono::Duration::days(2))
        .format("%Y-%m-%dT10:00:00+00:00")
        .to_string();
    {
        let server = centre::serve_with(&db, &["--config", long.to_str().unwrap()], "127.0.0.1:0");
        let r: PushResponse = reqwest::Client::new()
            .post(format!("{}/v1/push", server.base))
            .bearer_auth(&token)
            .json(&push_body(&[
                wire(1, "2025-01-10T10:00:00+08:00", "checkout", Some(A), "I1"),
                wire(2, "2025-01-20T10:00:00+08:00", "checkin", Some(A), "I1"),
                wire(3, &recent, "checkout", Some(B), "I2"),
            ]))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(r.results.iter().all(|r| r.code.is_none()), "{r:?}");
    }
    let d = Db::Sqlite(path.clone());
    let named = "SELECT count(*) FROM loans WHERE patron <> ''";
    assert_eq!(d.count(named).await, 2);
    // Started with the default (365 days): the 2025 loan goes at start.
    let _server = centre::serve(&db);
    let start = std::time::Instant::now();
    while d.count(named).await != 1 {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(60),
            "the old loan still names its reader"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        column(&d, "SELECT item, patron FROM loans ORDER BY item").await,
        ["I1|", &format!("I2|{B}")]
    );
    let carded = format!(
        "SELECT seq FROM entries WHERE (coalesce(patron, '') || detail || coalesce(message, ''))
         LIKE '{ANY_CARD}' ORDER BY seq"
    );
    assert_eq!(column(&d, &carded).await, ["3"]);
    let out = centre::json_lines(&centre::ok(&db, &["retention"]));
    assert_eq!(
        out,
        [json!({"history_retention_days": 365,
                "anonymised_before": (Utc::now().date_naive() - chrono::Duration::days(364)).to_string(),
                "loans": 0, "entries": 0, "holds": 0, "fees": 0})]
    );
    // On demand with 0 days: the recent, returned history too; the open
    // loan stays.
    let out = centre::json_lines(&centre::ok(&db, &["retention", "--days", "0"]));
    assert_eq!(
        (out[0]["loans"].as_i64(), out[0]["entries"].as_i64()),
        (Some(0), Some(0))
    );
    // A retention beyond a century is refused with a reason.
    let bad = centre::cmd(&db)
        .args(["retention", "--days", "99999"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("at most 36500"));
}

/// A checkout the server refuses because another reader has the book,
/// and an online return of a book a third reader waits for: the message
/// stored and served (push answer, conflict lists for staff and for the
/// kiosk) and the return's detail carry no full card number; staff still
/// get the entry's reader as a field.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conflict_and_return_texts_carry_no_card() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("central.db");
    let db = ["--db", path.to_str().unwrap()];
    centre::import_csv(
        &db,
        dir.path(),
        "r",
        &format!("{PATRONS}20000000004,Reader C,adult,2099-12-31,,,\n"),
        ITEMS,
    );
    let token = centre::token(&db, "K1");
    let staff = centre::ok(&db, &["token", "create", "--staff", "Mei"])
        .trim()
        .to_string();
    let server = centre::serve(&db);
    let http = reqwest::Client::new();
    let now = Utc::now().format("%Y-%m-%dT%H:%M:%S+00:00").to_string();
    let text: String = http
        .post(format!("{}/v1/push", server.base))
        .bearer_auth(&token)
        .json(&push_body(&[
            wire(1, &now, "checkout", Some(A), "I1"),
            wire(2, &now, "checkout", Some(B), "I1"),
            // A reader the server does not know.
            wire(3, &now, "checkout", Some("20009999999"), "I2"),
        ]))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let r: PushResponse = serde_json::from_str(&text).unwrap();
    assert_eq!(
        r.results
            .iter()
            .map(|r| r.code.as_deref())
            .collect::<Vec<_>>(),
        [None, Some("on_loan_elsewhere"), Some("unknown_patron")]
    );
    for card in [A, B, "20009999999"] {
        assert!(!text.contains(card), "push answer names {card}: {text}");
    }
    assert_eq!(
        r.results[1].message.as_deref(),
        Some("item I1 is on loan to another reader (card …0001)")
    );
    let list = |t: &str| {
        let req = http
            .get(format!("{}/v1/conflicts", server.base))
            .bearer_auth(t);
        async move { req.send().await.unwrap().text().await.unwrap() }
    };
    // Staff: the entry's reader as a field, no card in the texts.
    let for_staff: Vec<ConflictRecord> = serde_json::from_str(&list(&staff).await).unwrap();
    assert_eq!(for_staff.len(), 2);
    assert_eq!(for_staff[0].patron.as_deref(), Some(B));
    for c in &for_staff {
        for card in [A, B, "20009999999"] {
            assert!(!c.message.contains(card), "{c:?}");
        }
    }
    // The kiosk: its own conflicts, the reader masked.
    let for_kiosk = list(&token).await;
    for card in [A, B, "20009999999"] {
        assert!(!for_kiosk.contains(card), "{for_kiosk}");
    }
    let for_kiosk: Vec<ConflictRecord> = serde_json::from_str(&for_kiosk).unwrap();
    assert_eq!(for_kiosk[0].patron.as_deref(), Some("…0003"));
    // C holds the title; A's copy comes back online: the answer names
    // neither A (the borrower) nor C (who the hold is for).
    let decide = |e: Entry| {
        let req = http
            .post(format!("{}/v1/decide", server.base))
            .bearer_auth(&token)
            .json(&DecideRequest {
                entry: e,
                parts_seen: None,
            });
        async move { req.send().await.unwrap().text().await.unwrap() }
    };
    let held = decide(entry(
        4,
        &now,
        "hold_placed",
        Some("20000000004"),
        Some("I1"),
    ))
    .await;
    assert!(held.contains("accepted"), "{held}");
    let back = decide(entry(5, &now, "checkin", None, Some("I1"))).await;
    let back: DecideResponse = serde_json::from_str(&back).unwrap();
    assert_eq!(back.decision, "accepted");
    assert!(back.detail.get("pickup_code").is_some(), "{back:?}");
    for key in ["borrower", "hold_for"] {
        assert!(back.detail.get(key).is_none(), "{key} in {back:?}");
    }
    for card in [A, B, "20000000004", "20009999999"] {
        assert!(!back.detail.to_string().contains(card), "{back:?}");
    }
    // Staff close the conflict with a note naming both readers: the
    // note is stored and fed to the kiosk with the cards masked.
    let id = for_staff[0].id;
    let closed = http
        .post(format!("{}/v1/conflicts/{id}/resolve", server.base))
        .bearer_auth(&staff)
        .json(&json!({"note": format!("{B} was lent another copy; {A} keeps it"), "by": "Mei"}))
        .send()
        .await
        .unwrap();
    assert_eq!(closed.status(), 200);
    let feed = http
        .get(format!("{}/v1/changes?cursor=0&limit=1000", server.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        feed.contains("…0003 was lent another copy; …0001 keeps it"),
        "{feed}"
    );
    // And what the server stored: cards only in the reader column.
    let d = Db::Sqlite(path);
    assert_eq!(
        d.count(&format!(
            "SELECT count(*) FROM entries WHERE (detail || coalesce(message, '')) LIKE '{ANY_CARD}'"
        ))
        .await,
        0
    );
    assert_eq!(
        d.count(&format!(
            "SELECT count(*) FROM conflict_resolutions WHERE note LIKE '{ANY_CARD}'"
        ))
        .await,
        0
    );
}
