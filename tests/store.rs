//! The store against real SQLite files: circulation end to end, the
//! journal's guarantees, refusing bad databases, PINs, retention, and
//! property tests of the invariants.

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, Weekday};
use kiosk::domain::{Calendar, Rule, Settings};
use kiosk::store::{HoldLevel, Store, StoreError, SyncStatus};
use proptest::prelude::*;
use rusqlite::params;
use std::collections::{HashMap, HashSet};

fn at(s: &str) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(s).unwrap()
}

/// Sunday 2026-11-22 10:00 in Beijing.
fn now() -> DateTime<FixedOffset> {
    at("2026-11-22T10:00:00+08:00")
}

fn rule(max_loans: u32) -> Rule {
    Rule {
        loan_days: 14,
        max_loans,
        max_renewals: 1,
        renewal_days: 14,
        fine_per_day: 10,
        fine_cap: 500,
        block_fines: 1000,
        block_overdue: 0,
        max_holds: 3,
        ..Rule::default()
    }
}

fn library(store: &mut Store, max_loans: u32) {
    let settings = Settings {
        calendar: Calendar::new([Weekday::Sun], []),
        ..Settings::default()
    };
    let rows = vec![
        (
            "default".to_string(),
            "default".to_string(),
            rule(max_loans),
        ),
        (
            "default".to_string(),
            "reference".to_string(),
            Rule {
                loanable: false,
                ..rule(max_loans)
            },
        ),
    ];
    store
        .configure(
            rows,
            settings,
            &[NaiveDate::from_ymd_opt(2026, 12, 7).unwrap()],
        )
        .unwrap();
    let c = store.conn();
    for (b, name, blocked) in [
        ("P1", "张伟", None),
        ("P2", "Emma Smith", None),
        ("P3", "李娜", Some("lost card")),
    ] {
        c.execute(
            "INSERT INTO patrons (barcode, name, category, expires, blocked_reason, updated_at)
             VALUES (?1, ?2, 'adult', '2030-01-01', ?3, 'x')",
            params![b, name, blocked],
        )
        .unwrap();
    }
    for (b, title, isbn, ty, parts) in [
        ("I1", "三体", Some("9787536692930"), "book", 1),
        ("I2", "三体", Some("9787536692930"), "book", 1),
        ("I3", "The Silent River", None, "book", 1),
        ("I4", "Dictionary", None, "reference", 1),
        ("I5", "Language kit", None, "kit", 3),
        ("I6", "A History of Tea", None, "book", 1),
    ] {
        c.execute(
            "INSERT INTO items (barcode, title, author, isbn, item_type, parts, rfid_uid, updated_at)
             VALUES (?1, ?2, 'A', ?3, ?4, ?5, ?6, 'x')",
            params![b, title, isbn, ty, parts, format!("E00401000000000{}", &b[1..])],
        )
        .unwrap();
    }
}

fn fresh(max_loans: u32) -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(&dir.path().join("kiosk.db"), "k1").unwrap();
    library(&mut s, max_loans);
    (dir, s)
}

fn code<T: std::fmt::Debug>(r: &Result<T, kiosk::domain::Refusal>) -> &'static str {
    r.as_ref().err().map(|r| r.code()).unwrap_or("ok")
}

#[test]
fn checkout_return_cycle_with_due_date_fine_and_journal() {
    let (_d, mut s) = fresh(5);
    let o = s.checkout("P1", "I1", None, now()).unwrap();
    let ok = o.result.unwrap();
    // +14 days = Sun 6 Dec (closed) → Mon 7 Dec (holiday) → Tue 8 Dec.
    assert_eq!(ok.due.to_string(), "2026-12-08");
    assert_eq!(o.entry.seq, 1);

    let again = s.checkout("P1", "I1", None, now()).unwrap();
    assert_eq!(code(&again.result), "already_on_loan_to_you");
    let other = s.checkout("P2", "I1", None, now()).unwrap();
    assert_eq!(code(&other.result), "item_on_loan_to_another");

    // Returned 3 open days late (Wed 9, Thu 10, Fri 11).
    let back = s
        .checkin("I1", None, at("2026-12-11T12:00:00+08:00"))
        .unwrap();
    let back = back.result.unwrap();
    assert!(back.was_on_loan);
    assert_eq!(back.overdue_days, 3);
    assert_eq!(back.fine_cents, 30);
    assert_eq!(
        s.account("P1", now()).unwrap().unwrap().fines_owed_cents,
        30
    );

    let j = s.journal(None).unwrap();
    let kinds: Vec<_> = j
        .iter()
        .map(|e| (e.kind.as_str(), e.decision.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("checkout", "accepted"),
            ("checkout", "refused"),
            ("checkout", "refused"),
            ("checkin", "accepted")
        ]
    );
    assert_eq!(j.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2, 3, 4]);
    assert!(j.iter().all(|e| e.sync_status == "pending"));
    assert_eq!(j[0].due.as_deref(), Some("2026-12-08"));
    assert_eq!(j[1].reason.as_deref(), Some("already_on_loan_to_you"));
}

#[test]
fn rfid_uid_finds_the_item_and_sets_must_be_complete() {
    let (_d, mut s) = fresh(5);
    let o = s.checkout("P1", "e004010000000003", None, now()).unwrap();
    assert_eq!(o.result.unwrap().item, "I3");
    let kit = s.checkout("P1", "I5", Some(2), now()).unwrap();
    assert_eq!(code(&kit.result), "incomplete_set");
    let kit = s.checkout("P1", "I5", Some(3), now()).unwrap();
    assert_eq!(code(&kit.result), "ok");
    assert_eq!(
        code(&s.checkin("I5", Some(1), now()).unwrap().result),
        "incomplete_set"
    );
}

#[test]
fn refusals_from_the_store() {
    let (_d, mut s) = fresh(1);
    assert_eq!(
        code(&s.checkout("NOPE", "I1", None, now()).unwrap().result),
        "unknown_patron"
    );
    assert_eq!(
        code(&s.checkout("P1", "NOPE", None, now()).unwrap().result),
        "unknown_item"
    );
    assert_eq!(
        code(&s.checkout("P3", "I1", None, now()).unwrap().result),
        "patron_blocked"
    );
    assert_eq!(
        code(&s.checkout("P1", "I4", None, now()).unwrap().result),
        "item_not_for_loan"
    );
    assert_eq!(
        code(&s.checkout("P1", "I1", None, now()).unwrap().result),
        "ok"
    );
    assert_eq!(
        code(&s.checkout("P1", "I2", None, now()).unwrap().result),
        "max_loans_reached"
    );
    assert_eq!(
        code(&s.checkin("NOPE", None, now()).unwrap().result),
        "unknown_item"
    );
    // Refusals change nothing but the journal.
    assert_eq!(s.counts().unwrap().current_loans, 1);
    assert_eq!(s.counts().unwrap().journal, 7);
}

#[test]
fn renewals_limits_and_holds() {
    let (_d, mut s) = fresh(5);
    s.checkout("P1", "I1", None, now()).unwrap().result.unwrap();
    // Too soon: renewing today gives the same due date.
    assert_eq!(
        code(&s.renew("P1", "I1", now()).unwrap().result),
        "too_soon_to_renew"
    );
    let later = at("2026-12-01T10:00:00+08:00");
    let r = s.renew("P1", "I1", later).unwrap().result.unwrap();
    assert_eq!(r.due.to_string(), "2026-12-15");
    assert_eq!(r.renewals, 1);
    let later2 = at("2026-12-10T10:00:00+08:00");
    assert_eq!(
        code(&s.renew("P1", "I1", later2).unwrap().result),
        "max_renewals_reached"
    );
    assert_eq!(
        code(&s.renew("P2", "I1", later2).unwrap().result),
        "not_on_loan_to_you"
    );

    // P2 reserves the title (both copies: I1 on loan, I2 on the shelf).
    s.checkout("P1", "I2", None, now()).unwrap().result.unwrap();
    let h = s
        .place_hold("P2", "I1", HoldLevel::Title, now())
        .unwrap()
        .result
        .unwrap();
    assert_eq!(h.queue_position, 1);
    assert_eq!(
        code(
            &s.place_hold("P2", "I2", HoldLevel::Title, now())
                .unwrap()
                .result
        ),
        "hold_already_placed"
    );
    assert_eq!(
        code(
            &s.place_hold("P1", "I1", HoldLevel::Title, now())
                .unwrap()
                .result
        ),
        "already_on_loan_to_you"
    );
    assert_eq!(
        code(&s.renew("P1", "I2", later).unwrap().result),
        "renewal_blocked_by_hold"
    );

    // A return fills the hold: hold shelf, pickup code, item reserved.
    let back = s.checkin("I2", None, later).unwrap().result.unwrap();
    let pickup = back.pickup_code.clone().expect("pickup code");
    assert_eq!(pickup.len(), 6);
    assert!(matches!(back.route, kiosk::domain::Route::HoldShelf { .. }));
    let acct = s.account("P2", later).unwrap().unwrap();
    assert_eq!(acct.holds.len(), 1);
    assert_eq!(acct.holds[0].status, "ready");
    assert_eq!(acct.holds[0].pickup_code.as_deref(), Some(pickup.as_str()));
    assert_eq!(acct.holds[0].title, "三体");
    // The return's journal entry names the returning reader in its patron
    // column only (which retention blanks), never the waiting reader's
    // card inside its free-text detail, which nothing blanks.
    let ret = s
        .journal(None)
        .unwrap()
        .into_iter()
        .rev()
        .find(|e| e.kind == "checkin")
        .unwrap();
    assert!(!ret.detail.to_string().contains("P2"), "{}", ret.detail);
    assert_eq!(ret.detail["pickup_code"], pickup.as_str());
    assert_eq!(
        code(&s.checkout("P1", "I2", None, later).unwrap().result),
        "item_on_hold_for_another"
    );
    let picked = s.checkout("P2", "I2", None, later).unwrap().result.unwrap();
    assert!(picked.hold_picked_up);
    assert!(s.account("P2", later).unwrap().unwrap().holds.is_empty());
}

#[test]
fn holds_on_available_items_cancel_and_limits() {
    let (_d, mut s) = fresh(5);
    assert_eq!(
        code(
            &s.place_hold("P2", "I6", HoldLevel::Title, now())
                .unwrap()
                .result
        ),
        "item_available"
    );
    s.checkout("P1", "I6", None, now()).unwrap().result.unwrap();
    s.place_hold("P2", "I6", HoldLevel::Item, now())
        .unwrap()
        .result
        .unwrap();
    assert_eq!(
        code(&s.cancel_hold("P2", "I6", now()).unwrap().result),
        "ok"
    );
    assert_eq!(
        code(&s.cancel_hold("P2", "I6", now()).unwrap().result),
        "hold_not_found"
    );
    let back = s.checkin("I6", None, now()).unwrap().result.unwrap();
    assert_eq!(
        back.route,
        kiosk::domain::Route::SortBin { bin: "1".into() }
    );
}

#[test]
fn pin_is_checked_counted_and_locks_the_card() {
    let (_d, mut s) = fresh(5);
    let hash = kiosk::privacy::hash_pin("4321");
    assert!(!hash.contains("4321"));
    s.conn()
        .execute(
            "UPDATE patrons SET pin_hash = ?1 WHERE barcode = 'P1'",
            [&hash],
        )
        .unwrap();
    let mut settings = s.settings().clone();
    settings.require_pin = true;
    settings.pin_attempts = 3;
    let rows = s.policies().rows();
    s.configure(rows, settings, &[]).unwrap();

    assert_eq!(
        s.check_pin("P1", None, now()).unwrap().unwrap_err().code(),
        "pin_required"
    );
    assert_eq!(s.check_pin("P1", Some("4321"), now()).unwrap(), Ok(()));
    let wrong = s.check_pin("P1", Some("0000"), now()).unwrap().unwrap_err();
    assert_eq!(wrong, kiosk::domain::Refusal::WrongPin { attempts_left: 2 });
    s.check_pin("P1", Some("0000"), now()).unwrap().unwrap_err();
    let locked = s.check_pin("P1", Some("0000"), now()).unwrap().unwrap_err();
    assert_eq!(locked.code(), "pin_locked");
    // Even the right PIN is refused while locked…
    let soon = now() + Duration::minutes(5);
    assert_eq!(
        s.check_pin("P1", Some("4321"), soon)
            .unwrap()
            .unwrap_err()
            .code(),
        "pin_locked"
    );
    // …and accepted after the lock (30 minutes by default).
    let later = now() + Duration::minutes(31);
    assert_eq!(s.check_pin("P1", Some("4321"), later).unwrap(), Ok(()));
    // Cards without a PIN pass.
    assert_eq!(s.check_pin("P2", None, now()).unwrap(), Ok(()));
}

#[test]
fn journal_is_append_only_and_sync_status_only_moves_forward() {
    let (_d, mut s) = fresh(5);
    let id = s
        .checkout("P1", "I1", None, now())
        .unwrap()
        .entry
        .id
        .to_string();
    let c = s.conn();
    assert!(c.execute("DELETE FROM journal", []).is_err());
    assert!(c
        .execute("UPDATE journal SET due = '2099-01-01'", [])
        .is_err());
    assert!(c.execute("UPDATE journal SET seq = 5", []).is_err());
    assert!(
        c.execute("UPDATE journal SET patron = NULL", []).is_err(),
        "not yet acknowledged"
    );

    let t = now();
    assert_eq!(
        s.mark_synced(&[(id.clone(), SyncStatus::Sent, None)], t)
            .unwrap(),
        1
    );
    assert_eq!(s.outbox(10).unwrap().len(), 1);
    assert_eq!(
        s.mark_synced(&[(id.clone(), SyncStatus::Acknowledged, None)], t)
            .unwrap(),
        1
    );
    // Final: neither sent again nor turned into a conflict.
    assert_eq!(
        s.mark_synced(&[(id.clone(), SyncStatus::Sent, None)], t)
            .unwrap(),
        0
    );
    assert_eq!(
        s.mark_synced(&[(id.clone(), SyncStatus::Conflict, Some("x".into()))], t)
            .unwrap(),
        0
    );
    assert!(s
        .mark_synced(&[(id.clone(), SyncStatus::Pending, None)], t)
        .is_err());
    assert!(s.outbox(10).unwrap().is_empty());
    assert_eq!(s.journal(Some(SyncStatus::Acknowledged)).unwrap().len(), 1);
}

#[test]
fn retention_drops_old_history_but_not_current_loans_or_fees() {
    let (_d, mut s) = fresh(5);
    let long_ago = at("2025-01-10T10:00:00+08:00");
    s.checkout("P1", "I1", None, long_ago)
        .unwrap()
        .result
        .unwrap();
    s.checkin("I1", None, at("2025-03-10T10:00:00+08:00"))
        .unwrap()
        .result
        .unwrap();
    s.checkout("P1", "I2", None, now()).unwrap().result.unwrap();
    let ids: Vec<_> = s
        .journal(None)
        .unwrap()
        .iter()
        .map(|e| (e.id.clone(), SyncStatus::Acknowledged, None))
        .collect();
    s.mark_synced(&ids, now()).unwrap();
    let r = s.apply_retention(365, now()).unwrap();
    assert_eq!(r.loans_deleted, 1);
    assert_eq!(r.journal_anonymized, 2);
    let j = s.journal(None).unwrap();
    assert_eq!(j[0].patron, None);
    assert_eq!(j[2].patron.as_deref(), Some("P1"));
    assert_eq!(s.counts().unwrap().current_loans, 1);
    let fees: i64 = s
        .conn()
        .query_row("SELECT count(*) FROM fees", [], |r| r.get(0))
        .unwrap();
    assert_eq!(fees, 1, "the late return's fine stays");
}

/// Issue 13 §5: retention takes the reader out of past entries' details
/// and messages too (a return's borrower, a card in the server's conflict
/// message or a staff note), not only out of the reader column.
#[test]
fn retention_scrubs_readers_out_of_details_and_messages() {
    let (_d, mut s) = fresh(5);
    let card = "20001234567";
    s.conn()
        .execute(
            "INSERT INTO patrons (barcode, name, category, expires, updated_at)
             VALUES (?1, 'Old Reader', 'adult', '2030-01-01', 'x')",
            [card],
        )
        .unwrap();
    let long_ago = at("2025-01-10T10:00:00+08:00");
    s.checkout(card, "I3", None, long_ago)
        .unwrap()
        .result
        .unwrap();
    s.checkin("I3", None, at("2025-01-20T10:00:00+08:00"))
        .unwrap()
        .result
        .unwrap();
    s.checkout("P2", "I6", None, long_ago)
        .unwrap()
        .result
        .unwrap();
    s.checkout("P1", "I1", None, now()).unwrap().result.unwrap();
    let j = s.journal(None).unwrap();
    let (out, back, clash, recent) = (&j[0].id, &j[1].id, &j[2].id, &j[3].id);
    let t = now();
    s.mark_synced(
        &[
            (out.clone(), SyncStatus::Acknowledged, None),
            (back.clone(), SyncStatus::Acknowledged, None),
            (
                clash.clone(),
                SyncStatus::Conflict,
                Some(format!("item I6 is on loan to reader {card}")),
            ),
            (recent.clone(), SyncStatus::Acknowledged, None),
        ],
        t,
    )
    .unwrap();
    // What an older server (or SIP2 ILS) put into the details, kept by an
    // older kiosk; and the note staff wrote when they closed the conflict.
    let told = serde_json::json!({
        "title": "The Silent River", "borrower": card, "hold_for": "P2",
        "comment": format!("card {card} was at the desk"), "fine_cents": 0,
    })
    .to_string();
    for id in [back, recent] {
        s.conn()
            .execute(
                "UPDATE journal SET detail = ?2 WHERE id = ?1",
                params![id, told],
            )
            .unwrap();
    }
    s.conn()
        .execute(
            "INSERT INTO conflict_resolutions (entry_id, resolved, resolved_by, note)
             VALUES (?1, 'x', 'staff', ?2)",
            params![clash, format!("phoned {card}, sorted")],
        )
        .unwrap();

    let r = s.apply_retention(365, now()).unwrap();
    assert_eq!(r.journal_anonymized, 3, "{r:?}");
    let row = |id: &str| -> (Option<String>, String, Option<String>) {
        s.conn()
            .query_row(
                "SELECT patron, detail, sync_reason FROM journal WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap()
    };
    let (patron, detail, _) = row(out);
    assert_eq!(patron, None);
    assert!(!detail.contains(card), "{detail}");
    let (patron, detail, _) = row(back);
    assert_eq!(patron, None);
    let detail: serde_json::Value = serde_json::from_str(&detail).unwrap();
    assert_eq!(
        detail,
        serde_json::json!({"title": "The Silent River",
                           "comment": "card …4567 was at the desk", "fine_cents": 0})
    );
    // In conflict: the reader column stays, the texts lose the card.
    let (patron, _, reason) = row(clash);
    assert_eq!(patron.as_deref(), Some("P2"));
    assert_eq!(
        reason.as_deref(),
        Some("item I6 is on loan to reader …4567")
    );
    let note: String = s
        .conn()
        .query_row(
            "SELECT note FROM conflict_resolutions WHERE entry_id = ?1",
            [clash],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(note, "phoned …4567, sorted");
    // Within the year: untouched.
    let (patron, detail, _) = row(recent);
    assert_eq!(
        (patron.as_deref(), detail.as_str()),
        (Some("P1"), told.as_str())
    );
    // A second run has nothing left to do.
    assert_eq!(s.apply_retention(365, now()).unwrap().journal_anonymized, 0);
    // An entry the upstream does not have yet keeps its detail, whatever
    // asks.
    s.checkout("P1", "I2", None, now()).unwrap().result.unwrap();
    let pending = s.journal(Some(SyncStatus::Pending)).unwrap()[0].id.clone();
    let e = s
        .conn()
        .execute("UPDATE journal SET detail = '{}' WHERE id = ?1", [&pending])
        .unwrap_err();
    assert!(e.to_string().contains("only be scrubbed"), "{e}");
}

#[test]
fn refuses_databases_it_must_not_touch() {
    let dir = tempfile::tempdir().unwrap();
    // Not a database: refused, and the bytes are left alone.
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, b"this is not a database, it is a note").unwrap();
    let e = Store::open(&junk, "k").err().expect("refused");
    assert!(matches!(e, StoreError::Unreadable { .. }), "{e}");
    assert_eq!(
        std::fs::read(&junk).unwrap(),
        b"this is not a database, it is a note"
    );

    // A damaged database (header intact, pages garbage) is refused too.
    let good = dir.path().join("good.db");
    drop(Store::open(&good, "k").unwrap());
    let mut bytes = std::fs::read(&good).unwrap();
    for b in bytes.iter_mut().skip(100).take(4000) {
        *b = 0xA5;
    }
    std::fs::write(&good, &bytes).unwrap();
    let _ = std::fs::remove_file(good.with_extension("db-wal"));
    let before = std::fs::read(&good).unwrap();
    assert!(Store::open(&good, "k").is_err());
    assert_eq!(std::fs::read(&good).unwrap(), before);

    // Newer than this build: refused with the versions named.
    let newer = dir.path().join("newer.db");
    drop(Store::open(&newer, "k").unwrap());
    rusqlite::Connection::open(&newer)
        .unwrap()
        .pragma_update(None, "user_version", 99)
        .unwrap();
    let e = Store::open(&newer, "k").err().expect("refused");
    assert!(matches!(e, StoreError::TooNew { found: 99, .. }), "{e}");
    assert!(e.to_string().contains("newer"));
}

#[test]
fn opens_with_the_promised_pragmas_and_schema_version() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("k.db");
    let s = Store::open(&p, "k").unwrap();
    let c = s.conn();
    let mode: String = c
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    let sync: i64 = c.query_row("PRAGMA synchronous", [], |r| r.get(0)).unwrap();
    let fk: i64 = c
        .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
        .unwrap();
    let v: i64 = c
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!((mode.as_str(), sync, fk, v), ("wal", 2, 1, 3));
    drop(s);
    // Reopening an up-to-date database changes nothing.
    let s = Store::open(&p, "k").unwrap();
    assert_eq!(s.integrity_check().unwrap(), "ok");
}

#[derive(Debug, Clone)]
enum Op {
    Checkout(usize, usize),
    Checkin(usize),
    Renew(usize, usize),
    Hold(usize, usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..3usize, 0..6usize).prop_map(|(p, i)| Op::Checkout(p, i)),
        2 => (0..6usize).prop_map(Op::Checkin),
        1 => (0..3usize, 0..6usize).prop_map(|(p, i)| Op::Renew(p, i)),
        1 => (0..3usize, 0..6usize).prop_map(|(p, i)| Op::Hold(p, i)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Whatever readers do: nobody exceeds max loans, no item is on two
    /// loans, items on loan say so, and the journal's sequence has no gaps.
    #[test]
    fn circulation_invariants(ops in proptest::collection::vec(op(), 1..40), hours in 1i64..200) {
        let mut s = Store::open_in_memory("k1").unwrap();
        library(&mut s, 2);
        let patrons = ["P1", "P2", "P3"];
        let items = ["I1", "I2", "I3", "I4", "I5", "I6"];
        let mut t = now();
        for op in &ops {
            t += Duration::hours(hours);
            match *op {
                Op::Checkout(p, i) => { s.checkout(patrons[p], items[i], Some(3), t).unwrap(); }
                Op::Checkin(i) => { s.checkin(items[i], Some(3), t).unwrap(); }
                Op::Renew(p, i) => { s.renew(patrons[p], items[i], t).unwrap(); }
                Op::Hold(p, i) => { s.place_hold(patrons[p], items[i], HoldLevel::Title, t).unwrap(); }
            }
            let c = s.conn();
            let per_patron: Vec<i64> = c.prepare("SELECT count(*) FROM loans WHERE returned IS NULL GROUP BY patron_id").unwrap()
                .query_map([], |r| r.get(0)).unwrap().map(|r| r.unwrap()).collect();
            prop_assert!(per_patron.iter().all(|n| *n <= 2), "{per_patron:?}");
            let per_item: HashMap<i64, i64> = c.prepare("SELECT item_id, count(*) FROM loans WHERE returned IS NULL GROUP BY item_id").unwrap()
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(|r| r.unwrap()).collect();
            prop_assert!(per_item.values().all(|n| *n == 1));
            let mismatched: i64 = c.query_row(
                "SELECT count(*) FROM items i WHERE (i.status = 'on_loan') <> EXISTS(SELECT 1 FROM loans l WHERE l.item_id = i.id AND l.returned IS NULL)",
                [], |r| r.get(0)).unwrap();
            prop_assert_eq!(mismatched, 0);
        }
        let seqs: Vec<i64> = s.journal(None).unwrap().iter().map(|e| e.seq).collect();
        prop_assert_eq!(seqs.clone(), (1..=ops.len() as i64).collect::<Vec<_>>());
        let ids: HashSet<String> = s.journal(None).unwrap().into_iter().map(|e| e.id).collect();
        prop_assert_eq!(ids.len(), ops.len());
    }
}

/// kiosk.toml's policies go in at start; once the central server has sent
/// its own, a restart keeps the server's until the kiosk is standalone again.
#[test]
fn pulled_policies_survive_a_restart_until_the_kiosk_is_standalone() {
    use kiosk::protocol::{Change, ChangesPage, PolicyRecord, Record};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k.db");
    let toml_rows = || vec![("default".to_string(), "default".to_string(), rule(5))];
    let mut store = Store::open(&path, "K1").unwrap();
    store
        .configure(toml_rows(), Settings::default(), &[])
        .unwrap();
    assert_eq!(store.policies().rule("default", "default").max_loans, 5);
    let page = ChangesPage {
        changes: vec![Change::Upsert {
            record: Record::Policy(PolicyRecord {
                category: "default".into(),
                item_type: "default".into(),
                loan_days: 21,
                loan_hours: 0,
                max_loans: 12,
                max_renewals: 2,
                renewal_days: 21,
                fine_per_day_cents: 20,
                fine_cap_cents: 1000,
                block_fines_cents: 2000,
                block_overdue: 3,
                max_holds: 4,
                loanable: true,
            }),
        }],
        cursor: "c1".into(),
        more: false,
        remaining: Some(0),
    };
    store.apply_changes(&page, now()).unwrap();
    assert_eq!(store.policies().rule("default", "default").max_loans, 12);
    drop(store);

    // Restart with an upstream: kiosk.toml's table must not come back.
    let mut store = Store::open(&path, "K1").unwrap();
    store
        .configure(toml_rows(), Settings::default(), &[])
        .unwrap();
    let r = store.policies().rule("default", "default");
    assert_eq!((r.max_loans, r.loan_days), (12, 21));
    drop(store);

    // Standalone again: kiosk.toml is the only source.
    let mut store = Store::open(&path, "K1").unwrap();
    store.forget_pulled_policies().unwrap();
    store
        .configure(toml_rows(), Settings::default(), &[])
        .unwrap();
    assert_eq!(store.policies().rule("default", "default").max_loans, 5);
}

/// The current loan of `item`: (due, renewals).
fn loan_of(s: &Store, item: &str) -> (String, i64) {
    s.conn()
        .query_row(
            "SELECT l.due, l.renewals FROM loans l JOIN items i ON i.id = l.item_id
             WHERE i.barcode = ?1 AND l.returned IS NULL",
            [item],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap()
}

#[test]
fn a_renewal_the_upstream_refuses_is_undone_in_the_cache() {
    let (_d, mut s) = fresh(5);
    s.checkout("P1", "I1", None, now()).unwrap().result.unwrap();
    s.checkout("P1", "I3", None, now()).unwrap().result.unwrap();
    assert_eq!(loan_of(&s, "I1"), ("2026-12-08".into(), 0));
    let later = at("2026-12-01T10:00:00+08:00");
    s.renew("P1", "I1", later).unwrap().result.unwrap();
    s.renew("P1", "I3", later).unwrap().result.unwrap();
    assert_eq!(loan_of(&s, "I1"), ("2026-12-15".into(), 1));
    let outbox = s.outbox_wire(10).unwrap();
    let renewal = |item: &str| {
        outbox
            .iter()
            .map(|(e, _)| e)
            .find(|e| e.kind == "renew" && e.item.as_deref() == Some(item))
            .unwrap()
            .clone()
    };
    let refused = renewal("I1");
    assert_eq!(refused.detail["previous_due"], "2026-12-08");
    // The upstream answered a conflict for I1's renewal only.
    assert_eq!(s.forget_refused_loans(&[&refused], later).unwrap(), 1);
    assert_eq!(loan_of(&s, "I1"), ("2026-12-08".into(), 0));
    assert_eq!(loan_of(&s, "I3"), ("2026-12-15".into(), 1));
    // Again (the answer came twice): nothing more changes.
    assert_eq!(s.forget_refused_loans(&[&refused], later).unwrap(), 0);
    assert_eq!(loan_of(&s, "I1"), ("2026-12-08".into(), 0));
    // The loan the centre says it is (pulled since) is left alone.
    s.conn()
        .execute(
            "UPDATE loans SET due = '2026-12-20', renewals = 1
             WHERE item_id = (SELECT id FROM items WHERE barcode = 'I3')",
            [],
        )
        .unwrap();
    assert_eq!(s.forget_refused_loans(&[&renewal("I3")], later).unwrap(), 0);
    assert_eq!(loan_of(&s, "I3"), ("2026-12-20".into(), 1));
}

#[test]
fn a_conflict_closed_at_the_centre_is_shown_resolved() {
    use kiosk::protocol::{Change, ChangesPage, Record, ResolutionRecord};
    let (_d, mut s) = fresh(5);
    let a = s.checkout("P1", "I1", None, now()).unwrap().entry.id;
    let b = s.checkout("P1", "I3", None, now()).unwrap().entry.id;
    let t = now();
    s.mark_synced(
        &[
            (
                a.to_string(),
                SyncStatus::Conflict,
                Some("item_lost: lost".into()),
            ),
            (
                b.to_string(),
                SyncStatus::Conflict,
                Some("item_lost: lost".into()),
            ),
        ],
        t,
    )
    .unwrap();
    assert_eq!(s.conflict_count().unwrap(), 2);
    let closed = |entry, note: &str| Change::Upsert {
        record: Record::Resolution(ResolutionRecord {
            entry,
            kiosk_id: "k1".into(),
            resolved: "2026-11-23T09:00:00.000Z".into(),
            resolved_by: "MJ".into(),
            note: note.into(),
        }),
    };
    let page = ChangesPage {
        changes: vec![
            closed(a, "found, loan recorded by hand"),
            // Another kiosk's conflict: not ours, ignored.
            closed(uuid::Uuid::now_v7(), "elsewhere"),
        ],
        cursor: "7".into(),
        more: false,
        remaining: Some(0),
    };
    let applied = s.apply_changes(&page, t).unwrap();
    assert_eq!(applied.skipped, 0);
    assert_eq!(s.conflict_count().unwrap(), 1);
    let conflicts = s.journal(Some(SyncStatus::Conflict)).unwrap();
    assert_eq!(conflicts.len(), 2, "the entries themselves stay conflicts");
    let r = conflicts
        .iter()
        .find(|e| e.id == a.to_string())
        .unwrap()
        .resolution
        .clone()
        .unwrap();
    assert_eq!(
        (r.resolved.as_str(), r.resolved_by.as_str(), r.note.as_str()),
        (
            "2026-11-23T09:00:00.000Z",
            "MJ",
            "found, loan recorded by hand"
        )
    );
    assert!(conflicts
        .iter()
        .find(|e| e.id == b.to_string())
        .unwrap()
        .resolution
        .is_none());
    // The nightly full pull brings it again: the first note stands.
    let again = ChangesPage {
        changes: vec![closed(a, "another note")],
        ..page
    };
    s.apply_changes(&again, t).unwrap();
    let e = s.journal(None).unwrap();
    let r = e.iter().find(|e| e.id == a.to_string()).unwrap();
    assert_eq!(
        r.resolution.as_ref().unwrap().note,
        "found, loan recorded by hand"
    );
    assert_eq!(s.conflict_count().unwrap(), 1);
}

#[test]
fn import_keeps_the_readers_language() {
    let (dir, mut s) = fresh(5);
    let csv = dir.path().join("patrons.csv");
    std::fs::write(
        &csv,
        "barcode,name,category,expires,pin,language\n\
         P10,王芳,adult,2099-12-31,,zh-CN\n\
         P11,Li Lei,adult,2099-12-31,,en\n\
         P12,No Preference,adult,2099-12-31,,\n\
         P13,Klingon,adult,2099-12-31,,tlh\n",
    )
    .unwrap();
    let r = kiosk::store::import::patrons(&mut s, &csv, now()).unwrap();
    assert_eq!(r.inserted, 3);
    assert_eq!(r.errors.len(), 1);
    assert_eq!(r.errors[0].line, 5);
    assert!(r.errors[0].error.contains("use zh-CN or en"), "{r:?}");
    use kiosk::domain::Lang;
    assert_eq!(s.patron_language("P10").unwrap(), Some(Lang::ZhCn));
    assert_eq!(s.patron_language("P11").unwrap(), Some(Lang::En));
    assert_eq!(s.patron_language("P12").unwrap(), None);
    assert_eq!(s.patron_language("P13").unwrap(), None);
    // A later file without the column keeps what the reader chose.
    std::fs::write(
        &csv,
        "barcode,name,category,expires,pin\nP10,王芳,adult,2099-12-31,\n",
    )
    .unwrap();
    let r = kiosk::store::import::patrons(&mut s, &csv, now()).unwrap();
    assert_eq!(r.updated, 1);
    assert_eq!(s.patron_language("P10").unwrap(), Some(Lang::ZhCn));
    // kiosk-central reads the same file the same way.
    std::fs::write(
        &csv,
        "barcode,name,category,expires,pin,language\nP10,王芳,adult,2099-12-31,,en\nP13,K,adult,,,tlh\n",
    )
    .unwrap();
    let (rows, bad) = kiosk::central::import::patrons(&csv).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(bad.len(), 1);
    let (langs, _) = kiosk::central::import::patron_languages(&csv).unwrap();
    assert_eq!(langs, [("P10".to_string(), "en".to_string())]);
}

/// Processes opening a new database at the same moment (the kiosk and a
/// `kiosk sync status` beside it) all get it, migrated once.
#[test]
fn a_new_database_opened_at_once_by_several_is_migrated_once() {
    for round in 0..5 {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join(format!("kiosk-{round}.db"));
        let start = std::sync::Arc::new(std::sync::Barrier::new(4));
        let opened: Vec<_> = (0..4)
            .map(|_| {
                let (db, start) = (db.clone(), start.clone());
                std::thread::spawn(move || {
                    start.wait();
                    kiosk::store::Store::open(&db, "k1").map(|_| ())
                })
            })
            .collect();
        for t in opened {
            t.join().unwrap().expect("every opener gets the database");
        }
        let conn = rusqlite::Connection::open(&db).unwrap();
        let v: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v as usize, kiosk::store::schema_version());
    }
}

/// Issue 13 §1: a kiosk whose token lacks `--offline-pins` receives
/// `pin_hash: "withheld"` for a reader with a PIN. The kiosk must not let
/// the card in without its PIN, nor count a typed PIN as wrong: it answers
/// `pin_unavailable`.
#[test]
fn a_withheld_pin_hash_from_the_feed_is_pin_unavailable() {
    use kiosk::protocol::{Change, ChangesPage, PatronRecord, Record, PIN_WITHHELD};
    let (_d, mut s) = fresh(5);
    let page = ChangesPage {
        changes: vec![Change::Upsert {
            record: Record::Patron(PatronRecord {
                barcode: "P9".into(),
                name: "Reader Nine".into(),
                category: "adult".into(),
                expires: Some("2099-12-31".into()),
                pin_hash: Some(PIN_WITHHELD.into()),
                email: None,
                blocked: None,
                fines_owed_cents: 0,
                language: None,
            }),
        }],
        cursor: "1".into(),
        more: false,
        remaining: None,
    };
    s.apply_changes(&page, now()).unwrap();
    for pin in ["1234", "0000", "0000", "0000"] {
        let r = s.check_pin("P9", Some(pin), now()).unwrap();
        assert_eq!(r.unwrap_err().code(), "pin_unavailable", "{pin}");
    }
}
