//! kiosk-central: the storage suite (written once, run on SQLite always
//! and on PostgreSQL when a throwaway cluster can be started), HTTP tests
//! against a real `kiosk-central serve` process, and the OpenAPI document.
//!
//! PostgreSQL: the test looks for `initdb`/`pg_ctl` under
//! `/usr/lib/postgresql/*/bin`, initdb's a temporary cluster (as the
//! `postgres` user via `runuser` when the tests run as root), starts it on
//! a Unix socket in a temporary directory, runs the suite, and stops it.
//! Without PostgreSQL the test prints why and passes, unless
//! `KIOSK_REQUIRE_PG=1` (CI), where it fails.

use chrono::{NaiveDate, Utc};
use kiosk::central::engine::title_key;
use kiosk::central::{self, PgStorage, SqliteStorage, Storage};
use kiosk::domain::Settings;
use kiosk::protocol::*;
use pg::PgCluster;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use uuid::Uuid;

#[path = "support/central.rs"]
mod centre;
// pg.rs reports a missing PostgreSQL through support::peer.
#[path = "support/pg.rs"]
mod pg;
mod support;

// ---------------------------------------------------------------------------
// Fixtures

const K1: &str = "K1";

fn patron(barcode: &str, blocked: Option<&str>) -> PatronRecord {
    PatronRecord {
        barcode: barcode.into(),
        name: format!("Reader {barcode}"),
        category: "adult".into(),
        expires: Some("2099-12-31".into()),
        pin_hash: None,
        email: None,
        blocked: blocked.map(str::to_string),
        fines_owed_cents: 0,
        language: None,
    }
}

fn item(barcode: &str, title: &str, status: &str) -> ItemRecord {
    ItemRecord {
        barcode: barcode.into(),
        rfid_uid: None,
        title: title.into(),
        author: "Author".into(),
        isbn: None,
        item_type: "book".into(),
        parts: 1,
        status: status.into(),
        location: None,
    }
}

fn policy() -> Vec<PolicyRecord> {
    vec![PolicyRecord {
        category: "default".into(),
        item_type: "default".into(),
        loan_days: 14,
        loan_hours: 0,
        max_loans: 10,
        max_renewals: 1,
        renewal_days: 14,
        fine_per_day_cents: 0,
        fine_cap_cents: 0,
        block_fines_cents: 0,
        block_overdue: 0,
        max_holds: 5,
        loanable: true,
    }]
}

async fn seed<S: Storage>(st: &S) {
    st.set_policies(policy(), vec!["2026-12-25".into()])
        .await
        .unwrap();
    let patrons = vec![
        patron("P1", None),
        patron("P2", None),
        patron("P3", Some("card reported stolen")),
    ];
    assert_eq!(
        st.import_patrons(patrons, Utc::now()).await.unwrap(),
        (3, 0)
    );
    let items = vec![
        item("I1", "Alpha", "available"),
        item("I2", "Beta", "available"),
        item("I3", "Gamma", "lost"),
        item("I4", "Delta", "available"),
        item("I5", "Epsilon", "available"),
        item("I6", "Zeta", "available"),
        item("I7", "Eta", "withdrawn"),
        item("I8", "Theta", "not_for_loan"),
    ];
    assert_eq!(st.import_items(items, Utc::now()).await.unwrap(), (8, 0));
    // An RFID UID used twice: refused with a reason, nothing imported.
    let mut a = item("R1", "Tagged", "available");
    a.rfid_uid = Some("E004010012345678".into());
    let mut b = item("R2", "Tagged too", "available");
    b.rfid_uid = a.rfid_uid.clone();
    let err = st
        .import_items(vec![a.clone(), b], Utc::now())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("already used by item R1"), "{err}");
    assert_eq!(st.import_items(vec![a], Utc::now()).await.unwrap(), (1, 0));
}

fn entry(kiosk: &str, seq: i64, kind: &str, patron: Option<&str>, item: Option<&str>) -> Entry {
    Entry {
        id: Uuid::now_v7(),
        kiosk_id: kiosk.into(),
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

fn batch(kiosk: &str, entries: Vec<Entry>) -> PushRequest {
    PushRequest {
        kiosk_id: kiosk.into(),
        sent_at: Utc::now().to_rfc3339(),
        entries,
    }
}

fn codes(r: &PushResponse) -> Vec<String> {
    r.results
        .iter()
        .map(|r| match r.status {
            EntryStatus::Applied => "applied".to_string(),
            EntryStatus::Duplicate => "duplicate".to_string(),
            EntryStatus::Conflict => r.code.clone().unwrap_or_default(),
        })
        .collect()
}

/// The conflict rules of docs/sync.md, in one batch, with the expected
/// answer of each entry.
fn conflict_batch(kiosk: &str) -> (PushRequest, Vec<&'static str>) {
    let mut hold = entry(kiosk, 1, "hold_placed", Some("P2"), Some("I4"));
    hold.detail = json!({"level": "item"});
    let mut co = entry(kiosk, 2, "checkout", Some("P1"), Some("I1"));
    co.due = Some("2000-01-10".into());
    let mut refused = entry(kiosk, 11, "checkout", Some("P3"), Some("I5"));
    refused.decision = "refused".into();
    refused.reason = Some("patron_blocked".into());
    let entries = vec![
        (hold, "applied"),
        (co, "applied"),
        (
            entry(kiosk, 3, "checkout", Some("P2"), Some("I1")),
            "on_loan_elsewhere",
        ),
        (
            entry(kiosk, 4, "checkout", Some("P1"), Some("I3")),
            "item_lost",
        ),
        (
            entry(kiosk, 5, "checkout", Some("P1"), Some("NOPE")),
            "unknown_item",
        ),
        (entry(kiosk, 6, "checkin", None, Some("I2")), "not_on_loan"),
        (entry(kiosk, 7, "renew", Some("P1"), Some("I1")), "applied"),
        (
            entry(kiosk, 8, "renew", Some("P1"), Some("I1")),
            "renewal_limit",
        ),
        (
            entry(kiosk, 9, "checkout", Some("P3"), Some("I2")),
            "patron_blocked",
        ),
        (
            entry(kiosk, 10, "checkout", Some("P1"), Some("I4")),
            "on_hold_for_another",
        ),
        (refused, "applied"),
    ];
    let (e, want): (Vec<_>, Vec<_>) = entries.into_iter().unzip();
    (batch(kiosk, e), want)
}

// ---------------------------------------------------------------------------
// The storage suite, generic over the backend

async fn suite<S: Storage>(st: Arc<S>, second: Arc<S>) {
    seed(&*st).await;
    conflict_rules(&*st).await;
    more_conflicts(&*st).await;
    idempotent_and_ordered(&*st).await;
    changes_paging(&*st).await;
    decide_online(&*st).await;
    concurrent_pushes(st.clone(), second).await;
    reports_and_recommendations(&*st).await;
    tokens_and_heartbeat(&*st).await;
}

async fn conflict_rules<S: Storage>(st: &S) {
    let (_, before) = all_changes(st, "", 500).await;
    let (req, want) = conflict_batch(K1);
    let res = st.push(req.clone(), Utc::now()).await.unwrap();
    assert_eq!(codes(&res), want);
    // The records of each conflict are in the feed again, changed or not,
    // so the kiosk's pull puts the server's view back in its cache: I3
    // (lost, never lent), I2 (not on loan), P3 (blocked).
    let (after, _) = all_changes(st, &before, 500).await;
    let has = |f: &dyn Fn(&Change) -> bool| after.iter().any(f);
    assert!(has(
        &|c| matches!(c, Change::Upsert { record: Record::Item(i) } if i.barcode == "I3" && i.status == "lost")
    ));
    for item in ["I3", "I2"] {
        assert!(
            has(
                &|c| matches!(c, Change::Delete { entity, key } if entity == "loan" && key == item)
            ),
            "{item}: {after:?}"
        );
    }
    assert!(has(
        &|c| matches!(c, Change::Upsert { record: Record::Patron(p) } if p.barcode == "P3" && p.blocked.is_some())
    ));
    for (r, e) in res.results.iter().zip(&req.entries) {
        assert_eq!(r.id, e.id, "answers in the order sent");
        if r.status == EntryStatus::Conflict {
            assert!(!r.message.as_deref().unwrap_or("").is_empty());
        }
    }
    // Stored and listed: every conflict, none dropped.
    let listed = st.conflicts(Some(K1.into())).await.unwrap();
    let conflicts = want.iter().filter(|w| **w != "applied").count();
    assert_eq!(listed.len(), conflicts);
    assert!(listed
        .iter()
        .any(|c| c.code == "renewal_limit" && c.seq == 8));
    // Accepted decisions changed the state; conflicts did not.
    let loans = st.loans(None).await.unwrap();
    assert_eq!(loans.len(), 1);
    assert_eq!(
        (loans[0].item.as_str(), loans[0].patron.as_str()),
        ("I1", "P1")
    );
    assert_eq!(loans[0].renewals, 1);
    // Pushing the same batch again: duplicates, and the same conflicts.
    let again = st.push(req, Utc::now()).await.unwrap();
    let want_again: Vec<_> = want
        .iter()
        .map(|w| if *w == "applied" { "duplicate" } else { w })
        .collect();
    assert_eq!(codes(&again), want_again);
    assert_eq!(
        st.conflicts(Some(K1.into())).await.unwrap().len(),
        conflicts
    );
    // A return now applies; the item-level hold is on I4 only.
    let res = st
        .push(
            batch(K1, vec![entry(K1, 12, "checkin", Some("P1"), Some("I1"))]),
            Utc::now(),
        )
        .await
        .unwrap();
    assert_eq!(codes(&res), ["applied"]);
    assert!(st.loans(Some("P1".into())).await.unwrap().is_empty());
}

/// The rarer rules of docs/sync.md.
async fn more_conflicts<S: Storage>(st: &S) {
    let k = "K5";
    let mut odd = entry(k, 6, "renew", Some("P2"), Some("I5"));
    odd.kind = "teleport".into();
    let req = batch(
        k,
        vec![
            entry(k, 1, "checkout", Some("P1"), Some("I7")),
            entry(k, 2, "checkout", Some("P1"), Some("I8")),
            entry(k, 3, "checkout", Some("NOBODY"), Some("I5")),
            entry(k, 4, "hold_cancelled", Some("P1"), Some("I5")),
            entry(k, 5, "renew", Some("P2"), Some("I5")),
            odd,
        ],
    );
    let res = st.push(req, Utc::now()).await.unwrap();
    assert_eq!(
        codes(&res),
        [
            "item_withdrawn",
            "not_for_loan",
            "unknown_patron",
            "hold_not_found",
            "not_on_loan",
            "unknown_kind"
        ]
    );
    assert_eq!(st.conflicts(Some(k.into())).await.unwrap().len(), 6);
}

async fn idempotent_and_ordered<S: Storage>(st: &S) {
    let k = "K2";
    let e1 = entry(k, 1, "checkout", Some("P1"), Some("I5"));
    let e2 = entry(k, 2, "checkout", Some("P1"), Some("I6"));
    let e3 = entry(k, 3, "checkin", None, Some("I5"));
    let e4 = entry(k, 4, "checkin", None, Some("I6"));
    // Out of order within a batch: applied by seq, answered as sent.
    let res = st
        .push(batch(k, vec![e2.clone(), e1.clone()]), Utc::now())
        .await
        .unwrap();
    assert_eq!(codes(&res), ["applied", "applied"]);
    // A gap: seq 4 is held (listed for staff) until 3 arrives.
    let res = st
        .push(batch(k, vec![e4.clone()]), Utc::now())
        .await
        .unwrap();
    assert_eq!(codes(&res), ["sequence_gap"]);
    let held = st.conflicts(Some(k.into())).await.unwrap();
    assert_eq!(held.len(), 1);
    assert_eq!((held[0].code.as_str(), held[0].seq), ("sequence_gap", 4));
    assert_eq!(st.loans(Some("P1".into())).await.unwrap().len(), 2);
    // Resent while still held: the same answer, nothing applied.
    let res = st
        .push(batch(k, vec![e4.clone()]), Utc::now())
        .await
        .unwrap();
    assert_eq!(codes(&res), ["sequence_gap"]);
    assert_eq!(st.loans(Some("P1".into())).await.unwrap().len(), 2);
    // Seq 3 arrives alone: it and the held seq 4 are applied.
    let res = st
        .push(batch(k, vec![e3.clone()]), Utc::now())
        .await
        .unwrap();
    assert_eq!(codes(&res), ["applied"]);
    assert!(st.loans(Some("P1".into())).await.unwrap().is_empty());
    assert!(st.conflicts(Some(k.into())).await.unwrap().is_empty());
    // Same batch twice: duplicates, no second loan.
    let res = st
        .push(batch(k, vec![e1, e2, e3, e4]), Utc::now())
        .await
        .unwrap();
    assert_eq!(codes(&res), ["duplicate"; 4]);
    assert!(st.loans(Some("P1".into())).await.unwrap().is_empty());
    // A new entry reusing an old seq is a kiosk fault, stored for staff.
    let res = st
        .push(
            batch(k, vec![entry(k, 2, "checkout", Some("P1"), Some("I5"))]),
            Utc::now(),
        )
        .await
        .unwrap();
    assert_eq!(codes(&res), ["sequence_reused"]);
    let kiosks = st.kiosks().await.unwrap();
    let k2 = kiosks.iter().find(|s| s.kiosk_id == k).unwrap();
    assert_eq!(k2.last_seq, 4);
    assert!(k2.clock_offset_ms.is_some());
}

async fn all_changes<S: Storage>(st: &S, cursor: &str, limit: u32) -> (Vec<Change>, String) {
    let mut cursor = cursor.to_string();
    let mut all = vec![];
    loop {
        let page = st.changes(cursor.clone(), limit).await.unwrap();
        assert!(page.changes.len() <= limit as usize);
        let more = page.more;
        assert_eq!(more, page.remaining.unwrap() > 0);
        if !page.changes.is_empty() {
            assert!(page.cursor.parse::<i64>().unwrap() > cursor.parse::<i64>().unwrap_or(0));
        }
        all.extend(page.changes);
        cursor = page.cursor;
        if !more {
            return (all, cursor);
        }
    }
}

async fn changes_paging<S: Storage>(st: &S) {
    let (all, cursor) = all_changes(st, "", 3).await;
    let has = |f: &dyn Fn(&Change) -> bool| all.iter().any(f);
    assert!(has(
        &|c| matches!(c, Change::Upsert { record: Record::Patron(p) } if p.barcode == "P3" && p.blocked.is_some())
    ));
    assert!(has(
        &|c| matches!(c, Change::Upsert { record: Record::Policy(p) } if p.max_renewals == 1)
    ));
    assert!(has(
        &|c| matches!(c, Change::Upsert { record: Record::ClosedDay { day } } if day == "2026-12-25")
    ));
    assert!(has(
        &|c| matches!(c, Change::Upsert { record: Record::Hold(h) } if h.patron == "P2" && h.item.as_deref() == Some("I4"))
    ));
    // Returned loans are deletions.
    assert!(has(
        &|c| matches!(c, Change::Delete { entity, key } if entity == "loan" && key == "I1")
    ));
    // One change per key: the latest state only.
    let items: Vec<_> = all
        .iter()
        .filter_map(|c| match c {
            Change::Upsert {
                record: Record::Item(i),
            } => Some(i.barcode.clone()),
            _ => None,
        })
        .collect();
    let mut dedup = items.clone();
    dedup.sort();
    dedup.dedup();
    assert_eq!(items.len(), dedup.len());
    // Nothing new: an empty page, the same cursor.
    let page = st.changes(cursor.clone(), 3).await.unwrap();
    assert!(page.changes.is_empty() && !page.more);
    assert_eq!(page.cursor, cursor);
    // A change after the cursor is seen, and only it.
    st.import_patrons(vec![patron("P9", None)], Utc::now())
        .await
        .unwrap();
    let (new, _) = all_changes(st, &cursor, 3).await;
    assert_eq!(new.len(), 1);
    assert!(matches!(&new[0], Change::Upsert { record: Record::Patron(p) } if p.barcode == "P9"));
    assert!(st.changes("x".into(), 3).await.is_err());
}

async fn decide_online<S: Storage>(st: &S) {
    let k = "K3";
    let e = entry(k, 1, "checkout", Some("P2"), Some("I2"));
    let d = st
        .decide(
            DecideRequest {
                entry: e.clone(),
                parts_seen: None,
            },
            Utc::now(),
        )
        .await
        .unwrap();
    assert_eq!(d.decision, "accepted", "{d:?}");
    assert!(d.due.is_some());
    // Asked again: the same answer, nothing applied twice.
    let again = st
        .decide(
            DecideRequest {
                entry: e.clone(),
                parts_seen: None,
            },
            Utc::now(),
        )
        .await
        .unwrap();
    assert_eq!(again, d);
    // Someone else: refused by the domain's rules.
    let late = entry(k, 2, "checkout", Some("P1"), Some("I2"));
    let other = st
        .decide(
            DecideRequest {
                entry: late.clone(),
                parts_seen: None,
            },
            Utc::now(),
        )
        .await
        .unwrap();
    assert_eq!(other.decision, "refused");
    assert_eq!(other.reason.as_deref(), Some("item_on_loan_to_another"));
    let blocked = st
        .decide(
            DecideRequest {
                entry: entry(k, 3, "checkout", Some("P3"), Some("I6")),
                parts_seen: None,
            },
            Utc::now(),
        )
        .await
        .unwrap();
    assert_eq!(blocked.reason.as_deref(), Some("patron_blocked"));
    // The kiosk pushes what it journaled: duplicates, and the seq moves
    // on. Seq 2's answer came too late and the kiosk lent the book
    // offline under the same id: a conflict for staff.
    let mut offline = late;
    offline.offline = true;
    let res = st
        .push(batch(k, vec![e.clone(), offline.clone()]), Utc::now())
        .await
        .unwrap();
    assert_eq!(codes(&res), ["duplicate", "decision_mismatch"]);
    let res = st
        .push(batch(k, vec![e, offline]), Utc::now())
        .await
        .unwrap();
    assert_eq!(codes(&res), ["duplicate", "decision_mismatch"]);
    let listed = st.conflicts(Some(k.into())).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert!(listed[0]
        .message
        .contains("refused (item_on_loan_to_another)"));
    let res = st
        .push(
            batch(k, vec![entry(k, 4, "checkin", None, Some("I2"))]),
            Utc::now(),
        )
        .await
        .unwrap();
    assert_eq!(codes(&res), ["applied"]);
    let bad = st
        .decide(
            DecideRequest {
                entry: entry(k, 5, "feedback", None, None),
                parts_seen: None,
            },
            Utc::now(),
        )
        .await;
    assert!(matches!(bad, Err(central::CentralError::BadRequest(_))));
}

async fn concurrent_pushes<S: Storage>(a: Arc<S>, b: Arc<S>) {
    let k = "K4";
    let req = batch(
        k,
        (1..=6)
            .map(|n| {
                let (kind, item) = if n % 2 == 1 {
                    ("checkout", "I5")
                } else {
                    ("checkin", "I5")
                };
                entry(k, n, kind, Some("P2"), Some(item))
            })
            .collect(),
    );
    let (ra, rb) = tokio::join!(
        {
            let (a, r) = (a.clone(), req.clone());
            tokio::spawn(async move { a.push(r, Utc::now()).await.unwrap() })
        },
        {
            let (b, r) = (b.clone(), req.clone());
            tokio::spawn(async move { b.push(r, Utc::now()).await.unwrap() })
        }
    );
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    for (x, y) in ra.results.iter().zip(&rb.results) {
        let mut pair = [x.status, y.status];
        pair.sort_by_key(|s| format!("{s:?}"));
        assert_eq!(
            pair,
            [EntryStatus::Applied, EntryStatus::Duplicate],
            "each entry applied exactly once: {ra:?} {rb:?}"
        );
    }
    assert!(a
        .loans(Some("P2".into()))
        .await
        .unwrap()
        .iter()
        .all(|l| l.item != "I5"));
}

async fn reports_and_recommendations<S: Storage>(st: &S) {
    let day = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
    let s = st.stats(day, day).await.unwrap();
    assert!(s.loans >= 3, "{s:?}");
    assert!(s.returns >= 3);
    assert!(s.by_kiosk.iter().any(|b| b.key == "K2" && b.loans == 2));
    assert!(s.by_hour.iter().any(|b| b.key == "10"));
    assert!(s.top_titles.iter().any(|b| b.key == "Epsilon"));
    assert!(s.active_readers >= 2);
    assert!(s.refused >= 1);
    assert!(s
        .to_csv()
        .starts_with("dimension,key,loans,returns\ntotal,all,"));
    // P1 borrowed Alpha, Epsilon and Zeta; P2 Epsilon and Beta.
    let r = st
        .recommendations(Some("P2".into()), Some("I5".into()), 5)
        .await
        .unwrap();
    let titles: Vec<_> = r.items.iter().map(|i| i.title.as_str()).collect();
    assert!(
        titles.contains(&"Alpha") && titles.contains(&"Zeta"),
        "{r:?}"
    );
    assert!(
        !titles.contains(&"Epsilon") && !titles.contains(&"Beta"),
        "read already: {r:?}"
    );
    assert!(r.items.iter().all(|i| i.why == "also_borrowed"));
    let popular = st.recommendations(None, None, 3).await.unwrap();
    assert!(!popular.items.is_empty());
    assert_eq!(title_key(None, "Alpha ", "Author"), "title:alpha|author");
}

async fn tokens_and_heartbeat<S: Storage>(st: &S) {
    let t = central::new_token();
    // K1 exists (it pushed): the token is replaced, not a new kiosk.
    assert!(!st
        .set_token("K1".into(), central::token_hash(&t), false, Utc::now())
        .await
        .unwrap());
    assert!(st
        .set_token("K7".into(), central::token_hash("t7"), true, Utc::now())
        .await
        .unwrap());
    st.set_staff_token("Mei".into(), central::token_hash("s1"), Utc::now())
        .await
        .unwrap();
    assert_eq!(
        st.principal_for_token(t.clone()).await.unwrap(),
        Some(central::Principal::Kiosk {
            id: "K1".into(),
            offline_pins: false
        })
    );
    assert_eq!(
        st.principal_for_token("t7".into()).await.unwrap(),
        Some(central::Principal::Kiosk {
            id: "K7".into(),
            offline_pins: true
        })
    );
    assert_eq!(
        st.principal_for_token("s1".into()).await.unwrap(),
        Some(central::Principal::Staff { name: "Mei".into() })
    );
    assert!(st
        .principal_for_token("wrong".into())
        .await
        .unwrap()
        .is_none());
    let ack = st
        .heartbeat(
            Heartbeat {
                kiosk_id: "K1".into(),
                version: "0.1.0".into(),
                sent_at: Utc::now().to_rfc3339(),
                outbox: 2,
                conflicts: 1,
                last_sync: None,
                devices: vec![],
                paper: "ok".into(),
            },
            Utc::now(),
        )
        .await
        .unwrap();
    assert!(ack.clock_offset_ms.abs() < 60_000);
    let k = st.kiosks().await.unwrap();
    let k1 = k.iter().find(|k| k.kiosk_id == "K1").unwrap();
    assert_eq!(k1.heartbeat.as_ref().unwrap()["outbox"], 2);
    assert!(st.patron("P1".into()).await.unwrap().is_some());
    assert!(st.patron("nobody".into()).await.unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn storage_suite_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("central.db");
    let a = Arc::new(SqliteStorage::open(&path, Settings::default()).unwrap());
    let b = Arc::new(SqliteStorage::open(&path, Settings::default()).unwrap());
    suite(a, b).await;
    // Reopening keeps everything; a file that is not SQLite is refused.
    let again = SqliteStorage::open(&path, Settings::default()).unwrap();
    assert_eq!(again.conflicts(None).await.unwrap().len(), 15);
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, b"not a database at all, not at all, no").unwrap();
    assert!(SqliteStorage::open(&junk, Settings::default()).is_err());
}

// ---------------------------------------------------------------------------
// Reminders

/// A webhook that records what it receives.
async fn webhook() -> (String, Arc<std::sync::Mutex<Vec<serde_json::Value>>>) {
    let got = Arc::new(std::sync::Mutex::new(vec![]));
    let sink = got.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |axum::Json(v): axum::Json<serde_json::Value>| {
            let sink = sink.clone();
            async move {
                sink.lock().unwrap().push(v);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/hook"), got)
}

async fn reminders_suite<S: Storage>(st: &S) {
    use central::remind::{run_once, ReminderSection};
    seed(st).await;
    let due = |seq, patron, item, due: &str| {
        let mut e = entry(K1, seq, "checkout", Some(patron), Some(item));
        e.due = Some(due.to_string());
        e
    };
    let entries = vec![
        due(1, "P1", "I1", "2026-11-24"),
        due(2, "P1", "I2", "2026-11-01"),
        due(3, "P2", "I5", "2026-12-31"),
        entry(K1, 4, "hold_placed", Some("P2"), Some("I6")),
        due(5, "P1", "I6", "2026-12-31"),
        entry(K1, 6, "checkin", None, Some("I6")),
    ];
    let res = st.push(batch(K1, entries), Utc::now()).await.unwrap();
    assert_eq!(codes(&res), ["applied"; 6]);
    let today = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
    let (url, got) = webhook().await;
    let cfg = ReminderSection {
        webhook_url: url,
        ..ReminderSection::default()
    };
    // A dry run sends and claims nothing.
    assert_eq!(run_once(st, &cfg, today, true).await.unwrap().len(), 3);
    assert!(got.lock().unwrap().is_empty());
    // Sending fails: released, so the next run retries.
    let down = ReminderSection {
        webhook_url: "http://127.0.0.1:9/hook".into(),
        ..cfg.clone()
    };
    let failed = run_once(st, &down, today, false).await.unwrap();
    assert_eq!(failed.len(), 3);
    assert!(failed.iter().all(|s| s.error.is_some()));
    let sent = run_once(st, &cfg, today, false).await.unwrap();
    let mut kinds: Vec<_> = sent.iter().map(|s| s.kind.as_str()).collect();
    kinds.sort();
    assert_eq!(kinds, ["due_soon", "hold_ready", "overdue"]);
    assert!(sent.iter().all(|s| s.via == "webhook" && s.error.is_none()));
    {
        let got = got.lock().unwrap();
        assert_eq!(got.len(), 3);
        let ready = got.iter().find(|v| v["kind"] == "hold_ready").unwrap();
        assert_eq!(ready["patron"], "P2");
        assert_eq!(ready["pickup_code"].as_str().unwrap().len(), 6);
        let overdue = got.iter().find(|v| v["kind"] == "overdue").unwrap();
        assert_eq!(overdue["item"], "I2");
    }
    // Each is sent once.
    assert!(run_once(st, &cfg, today, false).await.unwrap().is_empty());
    assert_eq!(got.lock().unwrap().len(), 3);
    // The next day I1 is overdue: a new reminder, once.
    let tomorrow = today.succ_opt().unwrap().succ_opt().unwrap();
    let later = run_once(st, &cfg, tomorrow, false).await.unwrap();
    assert_eq!(later.len(), 1);
    assert_eq!(
        (
            later[0].kind.as_str(),
            got.lock().unwrap()[3]["item"].as_str()
        ),
        ("overdue", Some("I1"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reminders_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let st = SqliteStorage::open(&dir.path().join("c.db"), Settings::default()).unwrap();
    reminders_suite(&st).await;
}

// ---------------------------------------------------------------------------
// PostgreSQL: a throwaway cluster (tests/support/pg.rs)

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn storage_suite_postgres() {
    let Some(pg) = PgCluster::start_or_skip("PostgreSQL suite") else {
        return;
    };
    pg.create_db("suite").await;
    let a = Arc::new(
        PgStorage::connect(&pg.url("suite"), Settings::default())
            .await
            .unwrap(),
    );
    // A second connection plays a second server process.
    let b = Arc::new(
        PgStorage::connect(&pg.url("suite"), Settings::default())
            .await
            .unwrap(),
    );
    suite(a, b).await;
    let again = PgStorage::connect(&pg.url("suite"), Settings::default())
        .await
        .unwrap();
    assert_eq!(again.conflicts(None).await.unwrap().len(), 15);
    pg.create_db("remind").await;
    let r = PgStorage::connect(&pg.url("remind"), Settings::default())
        .await
        .unwrap();
    reminders_suite(&r).await;
    pg.create_db("reports").await;
    let r = PgStorage::connect(&pg.url("reports"), Settings::default())
        .await
        .unwrap();
    reports_suite(&r).await;
    // The server binary against PostgreSQL, too.
    pg.create_db("http").await;
    http_scenario(&["--postgres", &pg.url("http")]).await;
}

// ---------------------------------------------------------------------------
// HTTP against a real server process

fn write_csvs(dir: &Path) -> (PathBuf, PathBuf) {
    let p = dir.join("patrons.csv");
    std::fs::write(
        &p,
        "barcode,name,category,expires,pin,blocked\n\
         P1,Reader One,adult,2099-12-31,1234,\n\
         P2,Reader Two,adult,2099-12-31,,\n\
         P3,Reader Three,adult,2099-12-31,,card reported stolen\n\
         ,Nobody,adult,,,\n",
    )
    .unwrap();
    let i = dir.join("items.csv");
    std::fs::write(
        &i,
        "barcode,title,author,isbn,item_type,rfid_uid,parts,status\n\
         I1,Alpha,Author,,book,,1,\n\
         I2,Beta,Author,,book,,1,\n\
         I3,Gamma,Author,,book,,1,lost\n\
         I4,Delta,Author,,book,,1,\n\
         I5,Epsilon,Author,,book,,1,\n\
         I6,Zeta,Author,,book,,1,\n",
    )
    .unwrap();
    (p, i)
}

async fn http_scenario(db: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let (patrons, items) = write_csvs(dir.path());
    let out = centre::ok(
        db,
        &[
            "import",
            "--patrons",
            patrons.to_str().unwrap(),
            "--items",
            items.to_str().unwrap(),
        ],
    );
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["inserted"], 3);
    assert_eq!(lines[0]["errors"][0]["line"], 5);
    assert_eq!(lines[1]["inserted"], 6);
    let token = centre::token(db, K1);
    assert_eq!(token.len(), 64);
    let other = centre::token(db, "K9");
    let staff = format!(
        "Bearer {}",
        centre::ok(db, &["token", "create", "--staff", "desk"]).trim()
    );
    // A policy with one renewal, as in the storage suite.
    let cfg = dir.path().join("central.toml");
    std::fs::write(
        &cfg,
        "[policy]\nholidays = [\"2026-12-25\"]\n[policy.default]\nmax_renewals = 1\nfine_per_day = 0\nblock_fines = 0\n",
    )
    .unwrap();
    let server = centre::serve_with(db, &["--config", cfg.to_str().unwrap()], "127.0.0.1:0");
    let http = reqwest::Client::new();
    let url = |p: &str| format!("{}{p}", server.base);

    // Health is open; everything else needs the kiosk's token.
    let r = http.get(url("/v1/health")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    for path in [
        "/v1/changes",
        "/v1/conflicts",
        "/v1/patrons/P1",
        "/v1/reports/stats",
    ] {
        for auth in [None, Some("Bearer nope"), Some("Basic abc")] {
            let mut req = http.get(url(path));
            if let Some(a) = auth {
                req = req.header("Authorization", a);
            }
            let r = req.send().await.unwrap();
            assert_eq!(r.status(), 401, "{path} {auth:?}");
            let body: ApiError = r.json().await.unwrap();
            assert_eq!(body.error, "unauthorized");
        }
    }
    let r = http
        .post(url("/v1/push"))
        .json(&batch(K1, vec![]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let bearer = format!("Bearer {token}");

    // Another kiosk's token cannot push for K1.
    let r = http
        .post(url("/v1/push"))
        .header("Authorization", format!("Bearer {other}"))
        .json(&batch(K1, vec![]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(r.json::<ApiError>().await.unwrap().error, "forbidden");

    // Each conflict rule, then the same batch again.
    let (req, want) = conflict_batch(K1);
    let push = |body: &PushRequest| {
        http.post(url("/v1/push"))
            .header("Authorization", &bearer)
            .json(body)
            .send()
    };
    let r = push(&req).await.unwrap();
    assert_eq!(r.status(), 200);
    let res: PushResponse = r.json().await.unwrap();
    assert_eq!(codes(&res), want);
    let res: PushResponse = push(&req).await.unwrap().json().await.unwrap();
    assert!(codes(&res)
        .iter()
        .all(|c| c == "duplicate" || want.contains(&c.as_str())));
    assert_eq!(codes(&res).iter().filter(|c| *c == "duplicate").count(), 4);
    // Sequence order: a gap waits, then fills.
    let e13 = entry(K1, 13, "checkout", Some("P2"), Some("I6"));
    let e12 = entry(K1, 12, "checkin", None, Some("I1"));
    let res: PushResponse = push(&batch(K1, vec![e13.clone()]))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(codes(&res), ["sequence_gap"]);
    let res: PushResponse = push(&batch(K1, vec![e13, e12]))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        codes(&res),
        ["duplicate", "applied"],
        "13 was held, then applied after 12"
    );

    // Conflicts listed over HTTP and by the CLI.
    let listed: Vec<ConflictRecord> = http
        .get(url("/v1/conflicts?kiosk=K1"))
        .header("Authorization", &bearer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed.len(), 7);
    let cli = centre::ok(db, &["conflicts"]);
    assert_eq!(cli.lines().count(), 7);
    let loans = centre::ok(db, &["loans", "--patron", "P2"]);
    assert!(loans.contains("\"item\":\"I6\""), "{loans}");

    // Changes, page by page.
    let mut cursor = String::new();
    let mut seen = 0;
    loop {
        let page: ChangesPage = http
            .get(url(&format!("/v1/changes?cursor={cursor}&limit=4")))
            .header("Authorization", &bearer)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(page.changes.len() <= 4);
        seen += page.changes.len();
        cursor = page.cursor;
        if !page.more {
            break;
        }
    }
    assert!(seen >= 12, "{seen}");
    let r = http
        .get(url("/v1/changes?limit=lots"))
        .header("Authorization", &bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<ApiError>().await.unwrap().error, "bad_request");

    // Garbage and wrong shapes: 400 with a JSON body, never 5xx.
    for body in ["{not json", "{\"kiosk_id\": 5}", "[]", ""] {
        let r = http
            .post(url("/v1/push"))
            .header("Authorization", &bearer)
            .header("Content-Type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{body:?}");
        assert_eq!(r.json::<ApiError>().await.unwrap().error, "bad_request");
    }
    let mut bad_time = batch(K1, vec![entry(K1, 14, "checkin", None, Some("I2"))]);
    bad_time.entries[0].at = "yesterday".into();
    let r = push(&bad_time).await.unwrap();
    assert_eq!(r.status(), 400);
    // Too large: 413 with a JSON body.
    let huge = format!(
        "{{\"kiosk_id\":\"K1\",\"pad\":\"{}\"}}",
        "x".repeat(9 * 1024 * 1024)
    );
    // Its own client: the server answers early and closes that connection,
    // so the client may still be writing the body when it goes (a broken
    // pipe instead of the answer): asked again until the answer is read.
    let mut answer = None;
    for _ in 0..20 {
        match reqwest::Client::new()
            .post(url("/v1/push"))
            .header("Authorization", &bearer)
            .header("Content-Type", "application/json")
            .body(huge.clone())
            .send()
            .await
        {
            Ok(r) => {
                answer = Some(r);
                break;
            }
            Err(e) if e.is_request() => continue,
            Err(e) => panic!("{e}"),
        }
    }
    let r = answer.expect("an answer to the oversized push in 20 tries");
    assert_eq!(r.status(), 413);
    assert_eq!(r.json::<ApiError>().await.unwrap().error, "too_large");

    // Decide, patron lookup, heartbeat, recommendations, stats.
    let d: DecideResponse = http
        .post(url("/v1/decide"))
        .header("Authorization", &bearer)
        .json(&DecideRequest {
            entry: entry(K1, 14, "checkout", Some("P1"), Some("I2")),
            parts_seen: None,
        })
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(d.decision, "accepted");
    let p: PatronRecord = http
        .get(url("/v1/patrons/P1"))
        .header("Authorization", &bearer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // A token without --offline-pins: the reader has a PIN, its hash stays
    // on the server (tests/central_scopes.rs has the rest).
    assert_eq!(p.pin_hash.as_deref(), Some(PIN_WITHHELD));
    let r = http
        .get(url("/v1/patrons/NOBODY"))
        .header("Authorization", &bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = http
        .get(url("/v1/recommendations?patron=P2&item=I6"))
        .header("Authorization", &bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let _: Recommendations = r.json().await.unwrap();
    let csv = http
        .get(url(
            "/v1/reports/stats?from=2026-11-01&to=2026-11-30&format=csv",
        ))
        .header("Authorization", &staff)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(csv.starts_with("dimension,key,loans,returns"), "{csv}");
    let r = http
        .get(url("/v1/reports/stats?from=nope"))
        .header("Authorization", &staff)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let out = centre::ok(
        db,
        &[
            "report",
            "--what",
            "stats",
            "--from",
            "2026-11-01",
            "--to",
            "2026-11-30",
        ],
    );
    let s: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(s["loans"].as_u64().unwrap() >= 2);
    let r = http.get(url("/openapi.json")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = http.get(url("/v2/nothing")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_against_a_real_server_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("central.db");
    http_scenario(&["--db", db.to_str().unwrap()]).await;
}

#[test]
fn malformed_config_exits_2_naming_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("central.toml");
    std::fs::write(
        &cfg,
        "[server]\nlisten = \"127.0.0.1:0\"\nmax_body_bytes = \"big\"\n",
    )
    .unwrap();
    let out = centre::cmd(&["--db", dir.path().join("c.db").to_str().unwrap()])
        .args(["--config", cfg.to_str().unwrap(), "serve"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("central.toml:3: key server.max_body_bytes"),
        "{err}"
    );
}

#[test]
fn openapi_document_is_current() {
    let doc = central::openapi::document();
    let v: serde_json::Value = serde_json::from_str(&doc).unwrap();
    for path in [
        "/v1/push",
        "/v1/changes",
        "/v1/decide",
        "/v1/conflicts",
        "/v1/reports/stats",
    ] {
        assert!(v["paths"][path].is_object(), "{path}");
    }
    assert!(v["components"]["schemas"]["PushRequest"].is_object());
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/openapi.json");
    let current = std::fs::read_to_string(&file).unwrap_or_default();
    if current != doc {
        if std::env::var("KIOSK_CHECK_OPENAPI").as_deref() == Ok("1") {
            panic!("docs/openapi.json is stale: run cargo test --test central openapi");
        }
        std::fs::write(&file, &doc).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_close_conflicts_by_cli_and_api() {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("central.db");
    let db = ["--db", db_path.to_str().unwrap()];
    let (patrons, items) = write_csvs(dir.path());
    centre::ok(
        &db,
        &[
            "import",
            "--patrons",
            patrons.to_str().unwrap(),
            "--items",
            items.to_str().unwrap(),
        ],
    );
    let token = centre::token(&db, K1);
    let server = centre::serve(&db);
    let http = reqwest::Client::new();
    // Two conflicts: I3 is lost, I2 is not on loan.
    let entries = vec![
        entry(K1, 1, "checkout", Some("P1"), Some("I3")),
        entry(K1, 2, "checkin", None, Some("I2")),
    ];
    let ids: Vec<String> = entries.iter().map(|e| e.id.to_string()).collect();
    let r: PushResponse = http
        .post(format!("{}/v1/push", server.base))
        .bearer_auth(&token)
        .json(&batch(K1, entries))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(codes(&r), ["item_lost", "not_on_loan"]);
    let open = |db: &[&str]| centre::ok(db, &["conflicts"]).lines().count();
    assert_eq!(open(&db), 2);

    // By the command line: closed, hidden from the open list, listed
    // with its note under --resolved; a second close keeps the first note.
    let out = centre::ok(
        &db,
        &[
            "conflicts",
            "resolve",
            &ids[0],
            "--note",
            "item found, loan recorded by hand",
            "--by",
            "MJ",
        ],
    );
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["result"], "resolved");
    assert_eq!(open(&db), 1);
    let again = centre::ok(&db, &["conflicts", "resolve", &ids[0], "--note", "other"]);
    assert!(again.contains("already_resolved"), "{again}");
    let closed: Vec<serde_json::Value> = centre::ok(&db, &["conflicts", "--resolved"])
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(closed.len(), 1);
    assert_eq!(closed[0]["id"], ids[0].as_str());
    assert_eq!(closed[0]["code"], "item_lost");
    assert_eq!(closed[0]["note"], "item found, loan recorded by hand");
    assert_eq!(closed[0]["resolved_by"], "MJ");
    // An id that is not an open conflict: exit 1, nothing changes.
    let out = centre::cmd(&db)
        .args([
            "conflicts",
            "resolve",
            &uuid::Uuid::now_v7().to_string(),
            "--note",
            "x",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));

    // By the API, from the kiosk's staff screen.
    let url = format!("{}/v1/conflicts/{}/resolve", server.base, ids[1]);
    let r = http
        .post(&url)
        .bearer_auth(&token)
        .json(&json!({"note": ""}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = http
        .post(&url)
        .json(&json!({"note": "returned twice"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r: serde_json::Value = http
        .post(&url)
        .bearer_auth(&token)
        .json(&json!({"note": "returned twice", "by": "desk"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["result"], "resolved");
    let listed: Vec<ConflictRecord> = http
        .get(format!("{}/v1/conflicts", server.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(listed.is_empty(), "{listed:?}");
    let r = http
        .post(format!(
            "{}/v1/conflicts/{}/resolve",
            server.base,
            uuid::Uuid::now_v7()
        ))
        .bearer_auth(&token)
        .json(&json!({"note": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let closed = centre::ok(&db, &["conflicts", "--resolved"]);
    assert!(closed.contains("desk at kiosk K1"), "{closed}");
    // Feedback exported as CSV by the command line and the API.
    let mut fb = entry(K1, 3, "feedback", Some("P1"), None);
    fb.detail = json!({"rating": 4, "topics": ["quiet"], "comment": "more chairs"});
    let r: PushResponse = http
        .post(format!("{}/v1/push", server.base))
        .bearer_auth(&token)
        .json(&batch(K1, vec![fb.clone()]))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(codes(&r), ["applied"]);
    let row = format!("{},K1,2026-11-23T10:00:00+08:00,4,quiet,more chairs", fb.id);
    let cli = centre::ok(
        &db,
        &[
            "report",
            "--what",
            "feedback",
            "--from",
            "2026-11-23",
            "--to",
            "2026-11-23",
            "--format",
            "csv",
        ],
    );
    assert_eq!(
        cli,
        format!("id,kiosk_id,at,rating,topics,comment\n{row}\n")
    );
    let api = http
        .get(format!(
            "{}/v1/feedback?from=2026-11-23&to=2026-11-23&format=csv",
            server.base
        ))
        .bearer_auth(centre::ok(&db, &["token", "create", "--staff", "desk"]).trim())
        .send()
        .await
        .unwrap();
    assert_eq!(api.headers()["content-type"], "text/csv; charset=utf-8");
    assert_eq!(api.text().await.unwrap(), cli);
    // The entries themselves were never applied: I2 still not on loan.
    assert!(!centre::ok(&db, &["loans"]).contains("\"I3\""));
}

// ---------------------------------------------------------------------------
// Reports, feedback, recommendations and closing conflicts with known numbers

fn at(
    seq: i64,
    kiosk: &str,
    kind: &str,
    patron: Option<&str>,
    item: Option<&str>,
    when: &str,
) -> Entry {
    let mut e = entry(kiosk, seq, kind, patron, item);
    e.at = format!("2026-11-{when}:00+08:00");
    e
}

async fn reports_suite<S: Storage>(st: &S) {
    st.set_policies(policy(), vec![]).await.unwrap();
    let reader = |b: &str, category: &str| PatronRecord {
        category: category.into(),
        ..patron(b, None)
    };
    st.import_patrons(
        vec![
            reader("A1", "adult"),
            reader("A2", "adult"),
            reader("C1", "child"),
            reader("C2", "child"),
            reader("C3", "child"),
        ],
        Utc::now(),
    )
    .await
    .unwrap();
    let copy = |b: &str, title: &str, ty: &str, branch: Option<&str>| ItemRecord {
        item_type: ty.into(),
        location: branch.map(str::to_string),
        ..item(b, title, "available")
    };
    st.import_items(
        vec![
            copy("B1", "Alpha", "book", Some("Central")),
            copy("B2", "Beta", "book", Some("Central")),
            copy("B3", "Gamma", "dvd", Some("East")),
            copy("B4", "Delta", "book", Some("East")),
            copy("B5", "Epsilon", "book", Some("Central")),
            copy("B6", "Zeta", "dvd", None),
        ],
        Utc::now(),
    )
    .await
    .unwrap();
    let mut refused = at(7, "K1", "checkout", Some("C2"), Some("B4"), "21T11:00");
    refused.decision = "refused".into();
    refused.reason = Some("max_loans".into());
    let k1 = vec![
        at(1, "K1", "checkout", Some("A1"), Some("B1"), "20T09:15"),
        at(2, "K1", "checkout", Some("A1"), Some("B2"), "20T09:40"),
        at(3, "K1", "checkout", Some("C1"), Some("B3"), "20T15:05"),
        at(4, "K1", "checkin", None, Some("B1"), "21T10:00"),
        at(5, "K1", "renew", Some("A1"), Some("B2"), "21T10:05"),
        at(6, "K1", "checkout", Some("A2"), Some("B1"), "21T10:10"),
        refused,
    ];
    let mut feedback = at(5, "K2", "feedback", Some("C1"), None, "22T09:05");
    feedback.detail = json!({"rating": 5, "topics": ["staff", "quiet"], "comment": "很好, thanks"});
    let mut later = at(6, "K2", "feedback", Some("A1"), None, "23T12:00");
    later.detail = json!({"rating": 2, "topics": [], "comment": ""});
    let k2 = vec![
        at(1, "K2", "checkout", Some("C2"), Some("B4"), "21T16:30"),
        at(2, "K2", "checkin", None, Some("B3"), "21T17:00"),
        at(3, "K2", "checkout", Some("C1"), Some("B5"), "22T09:00"),
        // C3 borrowed Gamma and Epsilon too (for recommendations), on the 23rd.
        at(4, "K2", "checkout", Some("C3"), Some("B3"), "23T09:00"),
        feedback,
        later,
        at(7, "K2", "checkout", Some("C3"), Some("B6"), "23T09:01"),
    ];
    for b in [batch("K1", k1), batch("K2", k2)] {
        let r = st.push(b, Utc::now()).await.unwrap();
        assert!(codes(&r).iter().all(|c| c == "applied"), "{r:?}");
    }

    let d = |day| NaiveDate::from_ymd_opt(2026, 11, day).unwrap();
    let s = st.stats(d(20), d(22)).await.unwrap();
    let b = |key: &str, loans, returns| central::engine::Bucket {
        key: key.into(),
        loans,
        returns,
    };
    assert_eq!((s.loans, s.returns, s.renewals, s.refused), (6, 2, 1, 1));
    assert_eq!(
        s.by_day,
        [
            b("2026-11-20", 3, 0),
            b("2026-11-21", 2, 2),
            b("2026-11-22", 1, 0)
        ]
    );
    assert_eq!(
        s.by_hour,
        [
            b("09", 3, 0),
            b("10", 1, 1),
            b("15", 1, 0),
            b("16", 1, 0),
            b("17", 0, 1)
        ]
    );
    assert_eq!(s.by_kiosk, [b("K1", 4, 1), b("K2", 2, 1)]);
    assert_eq!(s.by_item_type, [b("book", 5, 1), b("dvd", 1, 1)]);
    // Returns count for the borrower's category.
    assert_eq!(s.by_category, [b("adult", 3, 1), b("child", 3, 1)]);
    assert_eq!(s.by_branch, [b("Central", 4, 1), b("East", 2, 1)]);
    assert_eq!(s.top_titles[0], b("Alpha", 2, 0));
    assert_eq!(s.top_titles.len(), 5);
    // A1, A2, C1, C2 borrowed or renewed; the refused try counts no one.
    assert_eq!(s.active_readers, 4);
    let csv = s.to_csv();
    for row in [
        "dimension,key,loans,returns",
        "total,all,6,2",
        "total,renewals,1,0",
        "total,refused,1,0",
        "total,active_readers,4,0",
        "day,2026-11-21,2,2",
        "hour,17,0,1",
        "kiosk,K2,2,1",
        "item_type,dvd,1,1",
        "category,child,3,1",
        "branch,East,2,1",
        "title,Alpha,2,0",
    ] {
        assert!(csv.lines().any(|l| l == row), "{row} not in\n{csv}");
    }
    // One day: the 23rd has C3's two loans, one of a copy with no branch.
    let s = st.stats(d(23), d(23)).await.unwrap();
    assert_eq!(s.by_branch, [b("East", 1, 0), b("unknown", 1, 0)]);
    assert_eq!(s.active_readers, 1);

    // Feedback: listed by day, no card numbers; CSV for a spreadsheet.
    let f = st.feedback(d(20), d(22)).await.unwrap();
    assert_eq!(f.len(), 1);
    assert_eq!(
        (f[0].kiosk_id.as_str(), f[0].detail["rating"].as_i64()),
        ("K2", Some(5))
    );
    let all = st.feedback(d(20), d(23)).await.unwrap();
    assert_eq!(all.len(), 2);
    assert!(!serde_json::to_string(&all).unwrap().contains("C1"));
    let csv = central::engine::feedback_csv(&all);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "id,kiosk_id,at,rating,topics,comment");
    assert!(
        lines[1].ends_with(",K2,2026-11-22T09:05:00+08:00,5,staff;quiet,\"很好, thanks\""),
        "{csv}"
    );
    assert!(
        lines[2].ends_with(",K2,2026-11-23T12:00:00+08:00,2,,"),
        "{csv}"
    );

    // Recommendations. Histories: A1 Alpha, Beta; A2 Alpha; C1 Gamma,
    // Epsilon; C2 Delta; C3 Gamma, Zeta.
    // Readers of Gamma (C1, C3) also borrowed Epsilon and Zeta.
    let r = st
        .recommendations(None, Some("B3".into()), 2)
        .await
        .unwrap();
    let got: Vec<(&str, &str)> = r
        .items
        .iter()
        .map(|i| (i.title.as_str(), i.why.as_str()))
        .collect();
    assert_eq!(
        got,
        [("Epsilon", "also_borrowed"), ("Zeta", "also_borrowed")]
    );
    // C1's own history: C3 shares Gamma, so Zeta; never Gamma or Epsilon
    // (read already); then the most borrowed (Alpha, twice).
    let r = st
        .recommendations(Some("C1".into()), None, 3)
        .await
        .unwrap();
    let got: Vec<(&str, &str)> = r
        .items
        .iter()
        .map(|i| (i.title.as_str(), i.why.as_str()))
        .collect();
    assert_eq!(got[0], ("Zeta", "your_history"));
    assert_eq!(got[1], ("Alpha", "popular"));
    assert!(
        got.iter().all(|(t, _)| *t != "Gamma" && *t != "Epsilon"),
        "{got:?}"
    );
    // A2 read Alpha; A1 also read Beta: Beta first, never Alpha.
    let r = st
        .recommendations(Some("A2".into()), None, 10)
        .await
        .unwrap();
    assert_eq!(r.items[0].title, "Beta");
    assert_eq!(r.items[0].why, "your_history");
    assert!(r.items.iter().all(|i| i.title != "Alpha"));

    // Closing a conflict on this backend: hidden from the open list.
    let c = st
        .push(
            batch(
                "K1",
                vec![at(8, "K1", "checkin", None, Some("B9"), "23T10:00")],
            ),
            Utc::now(),
        )
        .await
        .unwrap();
    assert_eq!(codes(&c), ["unknown_item"]);
    let id = c.results[0].id.to_string();
    assert_eq!(st.conflicts(Some("K1".into())).await.unwrap().len(), 1);
    use central::engine::Resolve;
    let close = |id: &str, note: &str| {
        st.resolve_conflict(id.into(), note.into(), "MJ".into(), None, Utc::now())
    };
    assert_eq!(close(&id, "shelved").await.unwrap(), Resolve::Resolved);
    assert_eq!(close(&id, "again").await.unwrap(), Resolve::AlreadyResolved);
    assert_eq!(
        close(&Uuid::now_v7().to_string(), "x").await.unwrap(),
        Resolve::NotAConflict
    );
    assert!(st.conflicts(Some("K1".into())).await.unwrap().is_empty());
    let closed = st.resolved_conflicts(None).await.unwrap();
    assert_eq!((closed.len(), closed[0].note.as_str()), (1, "shelved"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let st = SqliteStorage::open(&dir.path().join("c.db"), Settings::default()).unwrap();
    reports_suite(&st).await;
}

/// A database made by the first kiosk-central (schema version 1) gains
/// the version-2 tables on open and keeps its rows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn version_1_database_is_migrated() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v1.db");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            &include_str!("../src/central/schema.sql")
                .replace("@ID@", "INTEGER PRIMARY KEY AUTOINCREMENT"),
        )
        .unwrap();
        conn.execute(
            "INSERT INTO kiosks (kiosk_id, created) VALUES ('K1', '2026-11-01T00:00:00Z')",
            [],
        )
        .unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
    }
    let st = SqliteStorage::open(&path, Settings::default()).unwrap();
    assert!(st.conflicts(None).await.unwrap().is_empty());
    assert!(st.resolved_conflicts(None).await.unwrap().is_empty());
    assert_eq!(
        st.set_patron_languages(vec![("P1".into(), "en".into())])
            .await
            .unwrap(),
        1
    );
    assert_eq!(st.kiosks().await.unwrap()[0].kiosk_id, "K1");
    let conn = rusqlite::Connection::open(&path).unwrap();
    let v: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, 8);
    let indexes: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'index'
             AND name IN ('loans_open_patron', 'holds_ready_item')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(indexes, 2, "version 3's indexes");
    let once: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'index'
             AND name = 'entries_kiosk_seq_once'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(once, 1, "version 4's index");
}

/// PostgreSQL cannot store a NUL character (schemathesis found the 500):
/// every backend refuses one in a text field the server keeps, with 400;
/// in free-form `detail` (stored as JSON text, escaped) it is fine.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nul_in_text_is_400_not_500() {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("central.db");
    let db = ["--db", db_path.to_str().unwrap()];
    let token = centre::token(&db, K1);
    let server = centre::serve(&db);
    let http = reqwest::Client::new();
    let get = |path: &str| {
        http.get(format!("{}{path}", server.base))
            .bearer_auth(&token)
            .send()
    };
    for path in [
        "/v1/patrons/P%001",
        "/v1/conflicts?kiosk=K%001",
        "/v1/recommendations?patron=%00",
    ] {
        let r = get(path).await.unwrap();
        assert_eq!(r.status(), 400, "{path}");
        let e: ApiError = r.json().await.unwrap();
        assert_eq!(e.message, "text must not contain NUL characters");
    }
    // An unknown query parameter is ignored, NUL or not.
    assert_eq!(get("/v1/conflicts?x=%00").await.unwrap().status(), 200);
    let mut e = entry(K1, 1, "feedback", Some("P\u{0}1"), None);
    let r = http
        .post(format!("{}/v1/push", server.base))
        .bearer_auth(&token)
        .json(&batch(K1, vec![e.clone()]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    e.patron = None;
    e.detail = json!({"comment": "a\u{0}b"});
    let r: PushResponse = http
        .post(format!("{}/v1/push", server.base))
        .bearer_auth(&token)
        .json(&batch(K1, vec![e]))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(codes(&r), ["applied"]);
}

/// Issue 13 §5: the server's SQLite database and its -wal and -shm files
/// hold card numbers: created readable by their owner only (0600), whatever
/// the umask.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn central_database_files_are_created_0600() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("central.db");
    let db = ["--db", db_path.to_str().unwrap()];
    let token = centre::token(&db, K1);
    let server = centre::serve(&db);
    let r = reqwest::Client::new()
        .post(format!("{}/v1/push", server.base))
        .bearer_auth(&token)
        .json(&batch(K1, vec![entry(K1, 1, "checkin", None, Some("I1"))]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    for suffix in ["", "-wal", "-shm"] {
        let p = dir.path().join(format!("central.db{suffix}"));
        let mode = std::fs::metadata(&p)
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{}: {:o}", p.display(), mode & 0o777);
    }
}
