//! The kiosk-side sync engine: the outbox drain against an in-memory
//! central with injected faults (every entry acknowledged exactly once,
//! same ids on every resend, crashes at any point), the pull into the cache
//! (pages, cursor, atomicity), online/offline decisions, and the
//! `kiosk sync` command line. No timed assertions: deadlines only cut
//! hanging calls short.

use chrono::{DateTime, FixedOffset};
use kiosk::config::OfflinePolicy;
use kiosk::protocol::{
    Change, HoldRecord, ItemRecord, LoanRecord, PatronRecord, PolicyRecord, Record,
};
use kiosk::store::{cache, HoldLevel, Store, SyncStatus as EntryState};
use kiosk::sync::memory::{Fault, MemoryUpstream};
use kiosk::sync::{Circulation, Engine, Mode, OfflineRules, SyncStatus};
use serde_json::Value;
use std::collections::HashSet;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

fn now() -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339("2026-11-23T10:00:00+08:00").unwrap()
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn configured(mut store: Store) -> Store {
    let (rows, settings, holidays) = kiosk::config::circulation(&kiosk::config::Config::default());
    store.configure(rows, settings, &holidays).unwrap();
    store
}

fn store() -> Store {
    configured(Store::open_in_memory("k1").unwrap())
}

/// `n` journal entries that need no cached data (reader feedback).
fn feedback(store: &mut Store, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            store
                .record_feedback(None, 1 + (i % 5) as u8, &[], Some("ok"), now())
                .unwrap()
                .id
                .to_string()
        })
        .collect()
}

fn statuses(store: &Store) -> Vec<(String, String)> {
    store
        .journal(None)
        .unwrap()
        .into_iter()
        .map(|e| (e.id, e.sync_status))
        .collect()
}

fn assert_all_acknowledged_once(store: &Store, up: &MemoryUpstream, ids: &[String]) {
    for (id, st) in statuses(store) {
        assert_eq!(st, "acknowledged", "entry {id}");
    }
    for id in ids {
        let id = Uuid::parse_str(id).unwrap();
        assert_eq!(up.applications(id), 1, "entry {id} applied once upstream");
    }
    assert_eq!(store.counts().unwrap().outbox, 0);
}

#[test]
fn every_entry_is_acknowledged_exactly_once_whatever_fails() {
    let mut store = store();
    let ids = feedback(&mut store, 23);
    let up = Arc::new(MemoryUpstream::new());
    for f in [
        Fault::Unreachable,
        Fault::ServerError,
        Fault::LostAnswer,
        Fault::Timeout,
        Fault::LostAnswer,
    ] {
        up.inject("push", f);
    }
    let engine = Engine::new(up.clone(), 4);
    let rt = rt();
    let mut failures = 0;
    loop {
        match rt.block_on(engine.push(&mut store, now())) {
            Ok(_) => break,
            Err(e) => {
                assert!(e.is_offline(), "{e}");
                failures += 1;
                assert!(failures <= 5, "more failures than injected");
                // Nothing is lost in between: every entry is still there.
                assert_eq!(store.journal(None).unwrap().len(), 23);
            }
        }
    }
    assert_eq!(failures, 5);
    assert_all_acknowledged_once(&store, &up, &ids);
    // A resend carries the ids of the lost batch again, unchanged.
    let pushes = up.pushes();
    let sent: HashSet<Uuid> = pushes.iter().flatten().copied().collect();
    assert_eq!(sent.len(), 23, "no invented ids");
    assert!(
        pushes.windows(2).any(|w| w[0] == w[1]),
        "a batch was resent as it was"
    );
    // In seq order overall.
    let first_seen: Vec<Uuid> = {
        let mut seen = HashSet::new();
        pushes
            .iter()
            .flatten()
            .filter(|id| seen.insert(**id))
            .copied()
            .collect()
    };
    let journal: Vec<Uuid> = ids.iter().map(|i| Uuid::parse_str(i).unwrap()).collect();
    assert_eq!(first_seen, journal);
}

#[test]
fn a_crash_between_marking_sent_and_the_answer_resends_the_same_ids() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kiosk.db");
    let ids = {
        let mut s = configured(Store::open(&db, "k1").unwrap());
        feedback(&mut s, 6)
    };
    let up = Arc::new(MemoryUpstream::new());
    let rt = rt();
    // 1: the request hangs after the entries were marked sent; the
    // process "dies" (the future is dropped, the connection closed).
    up.inject("push", Fault::Hang);
    {
        let mut s = Store::open(&db, "k1").unwrap();
        let engine = Engine::new(up.clone(), 3);
        let r = rt.block_on(async {
            tokio::time::timeout(Duration::from_millis(200), engine.push(&mut s, now())).await
        });
        assert!(r.is_err(), "the push was cut off");
        let sent: Vec<_> = statuses(&s)
            .into_iter()
            .filter(|(_, st)| st == "sent")
            .map(|(id, _)| id)
            .collect();
        // The batch in flight (and the next one, prepared while it was on
        // its way) were committed as sent before any request.
        assert!(
            ids[..3].iter().all(|id| sent.contains(id)),
            "the batch was committed as sent first: {sent:?}"
        );
        assert!(sent.len() <= 6, "{sent:?}");
    }
    // 2: the server applies the next batch but the kiosk dies before the
    // answer is recorded.
    up.inject("push", Fault::LostAnswer);
    {
        let mut s = Store::open(&db, "k1").unwrap();
        let engine = Engine::new(up.clone(), 3);
        assert!(rt.block_on(engine.push(&mut s, now())).is_err());
    }
    // 3: restart; everything is delivered and acknowledged exactly once.
    let mut s = Store::open(&db, "k1").unwrap();
    let engine = Engine::new(up.clone(), 3);
    let report = rt.block_on(engine.push(&mut s, now())).unwrap();
    assert!(report.resent >= 3, "{report:?}");
    assert_all_acknowledged_once(&s, &up, &ids);
    assert_eq!(s.integrity_check().unwrap(), "ok");
}

#[test]
fn conflicts_keep_the_servers_code_and_message() {
    let mut store = store();
    // A return of an item the kiosk does not know: journaled (refused).
    let o = store.checkin("3009", None, now()).unwrap();
    let ok = feedback(&mut store, 2);
    let up = Arc::new(MemoryUpstream::new());
    up.conflict_on_item("3009", "unknown_item");
    let engine = Engine::new(up.clone(), 10);
    let mut status = engine.status();
    let rt = rt();
    let r = rt.block_on(engine.push(&mut store, now())).unwrap();
    assert_eq!((r.acknowledged, r.conflicts), (2, 1));
    let conflicts = store.journal(Some(EntryState::Conflict)).unwrap();
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0].id, o.entry.id.to_string());
    let reason = conflicts[0].sync_reason.as_deref().unwrap();
    assert!(reason.starts_with("unknown_item: "), "{reason}");
    // Conflicts leave the outbox and are never pushed again.
    let r = rt.block_on(engine.push(&mut store, now())).unwrap();
    assert_eq!(r.sent, 0);
    let s: SyncStatus = status.borrow_and_update().clone();
    assert_eq!((s.outbox, s.conflicts, s.online), (0, 1, Some(true)));
    assert_eq!(ok.len(), 2);
}

fn patron(barcode: &str) -> Record {
    Record::Patron(PatronRecord {
        barcode: barcode.into(),
        name: format!("Reader {barcode}"),
        category: "default".into(),
        expires: Some("2030-01-01".into()),
        pin_hash: None,
        email: None,
        blocked: None,
        fines_owed_cents: 0,
        language: None,
    })
}

fn item(barcode: &str, status: &str) -> Record {
    Record::Item(ItemRecord {
        barcode: barcode.into(),
        rfid_uid: Some(format!("e0{barcode}")),
        title: format!("Title {barcode}"),
        author: "Author".into(),
        isbn: None,
        item_type: "default".into(),
        parts: 1,
        status: status.into(),
        location: None,
    })
}

fn count(store: &Store, sql: &str) -> i64 {
    store.conn().query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn pull_pages_through_the_feed_and_advances_the_cursor_with_each_page() {
    let mut store = store();
    let up = Arc::new(MemoryUpstream::new());
    up.publish_records([
        patron("2001"),
        patron("2002"),
        item("3001", "available"),
        item("3002", "on_loan"),
        Record::Loan(LoanRecord {
            item: "3002".into(),
            patron: "2001".into(),
            checked_out: "2026-11-20T10:00:00+08:00".into(),
            due: "2026-12-04".into(),
            renewals: 0,
        }),
        Record::Hold(HoldRecord {
            id: 77,
            patron: "2002".into(),
            item: None,
            title_key: "title:title 3002|author".into(),
            status: "waiting".into(),
            placed: "2026-11-21T10:00:00+08:00".into(),
            ready_item: None,
            pickup_code: None,
            pickup_by: None,
        }),
        Record::Policy(PolicyRecord {
            category: "default".into(),
            item_type: "dvd".into(),
            loan_days: 3,
            loan_hours: 0,
            max_loans: 2,
            max_renewals: 0,
            renewal_days: 3,
            fine_per_day_cents: 50,
            fine_cap_cents: 500,
            block_fines_cents: 0,
            block_overdue: 0,
            max_holds: 1,
            loanable: true,
        }),
        Record::ClosedDay {
            day: "2026-12-25".into(),
        },
        // A loan of an item the feed has not sent (yet): kept aside until
        // it comes, not fatal, not dropped.
        Record::Loan(LoanRecord {
            item: "3999".into(),
            patron: "2001".into(),
            checked_out: "2026-11-20T10:00:00+08:00".into(),
            due: "2026-12-04".into(),
            renewals: 0,
        }),
    ]);
    let engine = Engine::new(up.clone(), 2).with_page_size(2);
    let rt = rt();
    // The third page does not arrive: the first two stay, with their cursor.
    for f in [Fault::Pass, Fault::Pass, Fault::Unreachable] {
        up.inject("changes", f);
    }
    let mut status = engine.status();
    let e = rt.block_on(engine.pull(&mut store, now())).unwrap_err();
    assert!(e.is_offline());
    assert_eq!(
        store.sync_state(cache::CURSOR_KEY).unwrap().as_deref(),
        Some("4")
    );
    assert_eq!(count(&store, "SELECT count(*) FROM patrons"), 2);
    assert_eq!(count(&store, "SELECT count(*) FROM items"), 2);
    assert_eq!(store.sync_state(cache::PULLED_AT_KEY).unwrap(), None);
    assert_eq!(status.borrow_and_update().online, Some(false));
    // The next pull resumes from there.
    up.inject("changes", Fault::ServerError);
    assert!(rt.block_on(engine.pull(&mut store, now())).is_err());
    let report = rt.block_on(engine.pull(&mut store, now())).unwrap();
    assert_eq!(report.pages, 3);
    assert_eq!(report.skipped, 0);
    assert_eq!(report.parked, 1);
    assert_eq!(
        store.sync_state(cache::CURSOR_KEY).unwrap().as_deref(),
        Some("9")
    );
    assert!(store.sync_state(cache::PULLED_AT_KEY).unwrap().is_some());
    assert!(status.has_changed().unwrap());
    let st = status.borrow_and_update().clone();
    assert_eq!(st.pull, None, "progress cleared at the end");
    assert_eq!(st.online, Some(true));
    assert_eq!(count(&store, "SELECT count(*) FROM patrons"), 2);
    assert_eq!(count(&store, "SELECT count(*) FROM items"), 2);
    assert_eq!(
        count(&store, "SELECT count(*) FROM loans WHERE returned IS NULL"),
        1
    );
    assert_eq!(count(&store, "SELECT count(*) FROM holds WHERE id = 77"), 1);
    assert_eq!(store.policies().rule("default", "dvd").loan_days, 3);
    assert!(!store
        .settings()
        .calendar
        .is_open(chrono::NaiveDate::from_ymd_opt(2026, 12, 25).unwrap()));
    // The RFID UID is stored as the store looks it up (upper case).
    assert_eq!(
        count(
            &store,
            "SELECT count(*) FROM items WHERE rfid_uid = 'E03001'"
        ),
        1
    );

    // Later changes: updates and deletes, from the stored cursor only.
    up.publish([
        Change::Upsert {
            record: item("3001", "lost"),
        },
        Change::Delete {
            entity: "loan".into(),
            key: "3002".into(),
        },
        Change::Delete {
            entity: "hold".into(),
            key: "77".into(),
        },
        Change::Delete {
            entity: "patron".into(),
            key: "2002".into(),
        },
        Change::Delete {
            entity: "policy".into(),
            key: "default|dvd".into(),
        },
        Change::Delete {
            entity: "closed_day".into(),
            key: "2026-12-25".into(),
        },
    ]);
    let report = rt.block_on(engine.pull(&mut store, now())).unwrap();
    assert_eq!((report.pages, report.upserts, report.deletes), (3, 1, 5));
    assert_eq!(
        count(&store, "SELECT count(*) FROM items WHERE status = 'lost'"),
        1
    );
    assert_eq!(
        count(&store, "SELECT count(*) FROM loans WHERE returned IS NULL"),
        0
    );
    assert_eq!(count(&store, "SELECT count(*) FROM holds"), 0);
    assert_eq!(count(&store, "SELECT count(*) FROM patrons"), 1);
    assert_eq!(store.policies().rule("default", "dvd").loan_days, 14);
    assert_eq!(
        store.sync_state(cache::CURSOR_KEY).unwrap().as_deref(),
        Some("15")
    );
    assert_eq!(
        report.parked, 1,
        "the loan of 3999 still waits for its item"
    );

    // The item comes at last: the loan kept aside is applied.
    up.publish_records([item("3999", "on_loan")]);
    let report = rt.block_on(engine.pull(&mut store, now())).unwrap();
    assert_eq!((report.upserts, report.parked), (2, 0));
    assert_eq!(
        count(
            &store,
            "SELECT count(*) FROM loans l JOIN items i ON i.id = l.item_id
             WHERE l.returned IS NULL AND i.barcode = '3999'"
        ),
        1
    );
}

#[test]
fn a_page_and_its_cursor_commit_together() {
    let mut store = store();
    let page = kiosk::protocol::ChangesPage {
        changes: vec![
            Change::Upsert {
                record: patron("2001"),
            },
            Change::Upsert {
                record: item("3001", "available"),
            },
        ],
        cursor: "c1".into(),
        more: true,
        remaining: Some(1),
    };
    let a = store.apply_changes(&page, now()).unwrap();
    assert_eq!((a.upserts, a.deletes, a.skipped), (2, 0, 0));
    assert_eq!(
        store.sync_state(cache::CURSOR_KEY).unwrap().as_deref(),
        Some("c1")
    );
    assert_eq!(
        store.sync_state(cache::PULLED_AT_KEY).unwrap(),
        None,
        "more to come"
    );
    // Applying the same page again (a crash before the next fetch) is harmless.
    store.apply_changes(&page, now()).unwrap();
    assert_eq!(count(&store, "SELECT count(*) FROM patrons"), 1);
    // A page that cannot be applied leaves neither records nor cursor.
    let bad = kiosk::protocol::ChangesPage {
        changes: vec![Change::Upsert {
            record: patron("2002"),
        }],
        cursor: "c2".into(),
        more: false,
        remaining: None,
    };
    store
        .conn()
        .execute_batch(
            "CREATE TEMP TRIGGER fail_2002 BEFORE INSERT ON patrons WHEN NEW.barcode = '2002'
             BEGIN SELECT RAISE(ABORT, 'disk trouble'); END;",
        )
        .unwrap();
    assert!(store.apply_changes(&bad, now()).is_err());
    assert_eq!(
        store.sync_state(cache::CURSOR_KEY).unwrap().as_deref(),
        Some("c1")
    );
    assert_eq!(count(&store, "SELECT count(*) FROM patrons"), 1);
}

/// A store with two readers and three items pulled from `up`.
fn cached(up: &Arc<MemoryUpstream>, rt: &tokio::runtime::Runtime) -> Store {
    let mut store = store();
    up.publish_records([
        patron("2001"),
        patron("2002"),
        item("3001", "available"),
        item("3002", "available"),
        item("3003", "available"),
    ]);
    let engine = Engine::new(up.clone(), 50);
    rt.block_on(engine.pull(&mut store, now())).unwrap();
    store
}

fn rules(policy: OfflinePolicy) -> OfflineRules {
    OfflineRules {
        policy,
        max_loans_per_reader: 1,
        max_cache_age_hours: 24,
    }
}

fn journal_entry(store: &Store, id: Uuid) -> kiosk::store::JournalEntry {
    store
        .journal(None)
        .unwrap()
        .into_iter()
        .find(|e| e.id == id.to_string())
        .expect("journaled under the offered id")
}

#[test]
fn an_online_decision_is_journaled_under_its_id_and_acknowledged() {
    let rt = rt();
    let up = Arc::new(MemoryUpstream::new());
    let mut store = cached(&up, &rt);
    let circ = Circulation::new(
        Some(up.clone()),
        Duration::from_millis(1500),
        rules(OfflinePolicy::ReturnsAndCheckouts),
    );
    let d = rt
        .block_on(circ.checkout(&mut store, "2001", "3001", None, now()))
        .unwrap();
    assert_eq!(d.mode, Mode::Online);
    assert!(d.accepted);
    assert_eq!(d.due.as_deref(), Some("2026-12-07"));
    assert!(
        up.decision(d.entry.id).is_some(),
        "decided upstream under the same id"
    );
    let e = journal_entry(&store, d.entry.id);
    assert_eq!(
        (e.sync_status.as_str(), e.offline, e.decision.as_str()),
        ("acknowledged", false, "accepted")
    );
    // The cache mirrors the loan until the next pull confirms it.
    assert_eq!(
        count(
            &store,
            "SELECT count(*) FROM items WHERE barcode = '3001' AND status = 'on_loan'"
        ),
        1
    );
    // An online refusal is journaled too, with its code.
    up.refuse_item("3002", "item_on_hold_for_another");
    let d = rt
        .block_on(circ.checkout(&mut store, "2001", "3002", None, now()))
        .unwrap();
    assert_eq!(
        (d.mode, d.accepted, d.reason.as_deref()),
        (Mode::Online, false, Some("item_on_hold_for_another"))
    );
    // Holds go online with their level; offline they are refused.
    let d = rt
        .block_on(circ.place_hold(&mut store, "2002", "3001", HoldLevel::Item, now()))
        .unwrap();
    assert_eq!((d.mode, d.accepted), (Mode::Online, true));
    assert_eq!(journal_entry(&store, d.entry.id).detail["level"], "item");
    up.inject("decide", Fault::Unreachable);
    let d = rt
        .block_on(circ.cancel_hold(&mut store, "2002", "3001", now()))
        .unwrap();
    assert_eq!(
        (d.mode, d.reason.as_deref()),
        (Mode::Offline, Some("offline_unavailable"))
    );
    assert_eq!(
        store.counts().unwrap().outbox,
        1,
        "the offline refusal waits"
    );
    let engine = Engine::new(up.clone(), 10);
    rt.block_on(engine.push(&mut store, now())).unwrap();
    // Nothing left to push: the server has everything.
    assert_eq!(store.counts().unwrap().outbox, 0);
    // A request the server refuses outright is an error, not an offline decision.
    up.inject("decide", Fault::Rejected);
    let err = rt
        .block_on(circ.checkin(&mut store, "3001", None, now()))
        .unwrap_err();
    assert!(!err.is_offline(), "{err}");
}

#[test]
fn offline_the_kiosk_decides_under_its_policy_and_journals_offline() {
    let rt = rt();
    let up = Arc::new(MemoryUpstream::new());
    let mut store = cached(&up, &rt);
    let engine = Engine::new(up.clone(), 10);
    let mut status = engine.status();
    let circ = Circulation::new(
        Some(up.clone()),
        Duration::from_millis(100),
        rules(OfflinePolicy::ReturnsAndCheckouts),
    )
    .with_status(engine.status_sender());

    // Unreachable: the kiosk lends on its own, under the offered id.
    up.inject("decide", Fault::Unreachable);
    let d = rt
        .block_on(circ.checkout(&mut store, "2001", "3001", None, now()))
        .unwrap();
    assert_eq!((d.mode, d.accepted), (Mode::Offline, true));
    assert!(matches!(d.local, Some(Ok(_))));
    let e = journal_entry(&store, d.entry.id);
    assert_eq!((e.offline, e.sync_status.as_str()), (true, "pending"));
    assert_eq!(status.borrow_and_update().online, Some(false));

    // The offline loan limit (1 here) is per reader.
    up.inject("decide", Fault::Timeout);
    let d2 = rt
        .block_on(circ.checkout(&mut store, "2001", "3002", None, now()))
        .unwrap();
    assert_eq!(
        (d2.mode, d2.accepted, d2.reason.as_deref()),
        (Mode::Offline, false, Some("offline_limit_reached"))
    );
    let e2 = journal_entry(&store, d2.entry.id);
    assert_eq!((e2.offline, e2.decision.as_str()), (true, "refused"));

    // A decision that hangs past the deadline is decided offline too.
    up.inject("decide", Fault::Hang);
    let d3 = rt
        .block_on(circ.checkout(&mut store, "2002", "3002", None, now()))
        .unwrap();
    assert_eq!((d3.mode, d3.accepted), (Mode::Offline, true));

    // Renewals are decided offline by the same rules (here: too soon, the
    // loan is minutes old); holds need the upstream's queue.
    up.inject("decide", Fault::Unreachable);
    let d4 = rt
        .block_on(circ.renew(&mut store, "2001", "3001", now()))
        .unwrap();
    assert_eq!(
        (d4.mode, d4.reason.as_deref()),
        (Mode::Offline, Some("too_soon_to_renew"))
    );
    up.inject("decide", Fault::Unreachable);
    let d4 = rt
        .block_on(circ.place_hold(&mut store, "2001", "3002", HoldLevel::Title, now()))
        .unwrap();
    assert_eq!(
        (d4.mode, d4.reason.as_deref()),
        (Mode::Offline, Some("offline_unavailable"))
    );

    // The upstream applied a decision whose answer was lost: the offline
    // decision went under the same id, so the push is a duplicate.
    up.inject("decide", Fault::LostAnswer);
    let d5 = rt
        .block_on(circ.checkin(&mut store, "3001", None, now()))
        .unwrap();
    assert_eq!((d5.mode, d5.accepted), (Mode::Offline, true));
    assert_eq!(up.applications(d5.entry.id), 1);

    // Back online: everything is delivered, each id applied once.
    let r = rt.block_on(engine.push(&mut store, now())).unwrap();
    // Five decisions above plus the refused offline renewal.
    assert_eq!(r.acknowledged, 6);
    for d in [
        d.entry.id,
        d2.entry.id,
        d3.entry.id,
        d4.entry.id,
        d5.entry.id,
    ] {
        assert_eq!(up.applications(d), 1, "{d}");
        assert_eq!(journal_entry(&store, d).sync_status, "acknowledged");
    }
    assert_eq!(status.borrow_and_update().online, Some(true));
}

#[test]
fn offline_policies_and_the_cache_age_rule() {
    let rt = rt();
    let up = Arc::new(MemoryUpstream::new());
    let mut store = cached(&up, &rt);
    let offline =
        |policy| Circulation::new(Some(up.clone()), Duration::from_millis(100), rules(policy));
    let try_checkout = |store: &mut Store, circ: &Circulation, item: &str, at| {
        up.inject("decide", Fault::Unreachable);
        rt.block_on(circ.checkout(store, "2002", item, None, at))
            .unwrap()
    };
    let try_checkin = |store: &mut Store, circ: &Circulation, item: &str| {
        up.inject("decide", Fault::Unreachable);
        rt.block_on(circ.checkin(store, item, None, now())).unwrap()
    };
    let only_returns = offline(OfflinePolicy::ReturnsOnly);
    let d = try_checkout(&mut store, &only_returns, "3003", now());
    assert_eq!(d.reason.as_deref(), Some("offline_returns_only"));
    let d = try_checkin(&mut store, &only_returns, "3003");
    assert!(d.accepted && d.mode == Mode::Offline);
    let off = offline(OfflinePolicy::Off);
    let d = try_checkin(&mut store, &off, "3003");
    assert_eq!(d.reason.as_deref(), Some("offline_unavailable"));
    // The cache was pulled at now(); two days later it is too old for a loan.
    let full = offline(OfflinePolicy::ReturnsAndCheckouts);
    let later = now() + chrono::Duration::hours(48);
    let d = try_checkout(&mut store, &full, "3003", later);
    assert_eq!(d.reason.as_deref(), Some("offline_unavailable"));
    let d = try_checkout(&mut store, &full, "3003", now());
    assert!(d.accepted);
    // Every one of these is journaled offline, for the push.
    let offline_entries = store
        .journal(None)
        .unwrap()
        .into_iter()
        .filter(|e| e.offline)
        .count();
    assert_eq!(offline_entries, 5);
    // Without an upstream the kiosk decides alone and nothing is "offline".
    let standalone = Circulation::new(None, Duration::from_millis(100), rules(OfflinePolicy::Off));
    let d = rt
        .block_on(standalone.checkin(&mut store, "3003", None, now()))
        .unwrap();
    assert_eq!((d.mode, d.accepted), (Mode::Standalone, true));
    assert!(!journal_entry(&store, d.entry.id).offline);
}

// ---- the command line ----

struct Kiosk {
    dir: tempfile::TempDir,
}

impl Kiosk {
    fn new(upstream: &str) -> Kiosk {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("kiosk.toml"),
            format!(
                "[kiosk]\nid = \"test-kiosk\"\n[store]\npath = \"kiosk.db\"\n[barcode]\nmode = \"off\"\n{upstream}"
            ),
        )
        .unwrap();
        Kiosk { dir }
    }

    fn run(&self, args: &[&str]) -> (i32, Vec<Value>, String) {
        let out = Command::new(env!("CARGO_BIN_EXE_kiosk"))
            .current_dir(self.dir.path())
            .env_remove("KIOSK_CONFIG")
            .env("KIOSK_NOW", "2026-11-23T10:00:00+08:00")
            .args(args)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let json = stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
            .collect();
        (
            out.status.code().unwrap_or(-1),
            json,
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

#[test]
fn sync_once_without_an_upstream() {
    let k = Kiosk::new("[upstream]\nkind = \"none\"\n");
    let (code, out, err) = k.run(&["sync", "--once"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out[0]["outbox"], 0);
    let (code, _, _) = k.run(&["circ", "feedback", "--rating", "5"]);
    assert_eq!(code, 0);
    let (code, out, _) = k.run(&["sync", "--once"]);
    assert_eq!(code, 1, "an entry is left in the outbox");
    assert_eq!(out[0]["outbox"], 1);
    let (code, out, _) = k.run(&["sync", "status"]);
    assert_eq!(code, 0);
    assert_eq!(out[0]["outbox"], 1);
    assert_eq!(out[0]["upstream"], Value::Null);
}

#[test]
fn sync_once_with_an_unreachable_upstream_loses_nothing() {
    // Port 9 (discard) on localhost: nothing listens there in a test box.
    let k = Kiosk::new(
        "[upstream]\nkind = \"http\"\nurl = \"http://127.0.0.1:9\"\ntoken = \"secret-token\"\ntimeout_secs = 1\n",
    );
    for _ in 0..3 {
        assert_eq!(k.run(&["circ", "feedback", "--rating", "4"]).0, 0);
    }
    let (code, out, err) = k.run(&["sync", "--once"]);
    assert_eq!(code, 1, "{out:?} {err}");
    assert_eq!(out[0]["offline"], true);
    assert_eq!(out[0]["outbox"], 3);
    assert!(!format!("{out:?}{err}").contains("secret-token"));
    let (_, journal, _) = k.run(&["journal"]);
    assert_eq!(journal.len(), 3);
    assert!(journal
        .iter()
        .all(|e| e["sync_status"] == "sent" || e["sync_status"] == "pending"));
    let (code, out, _) = k.run(&["sync", "status"]);
    assert_eq!(code, 0);
    assert_eq!(out[0]["outbox"], 3);
    assert_eq!(out[0]["upstream"], "http http://127.0.0.1:9");
}

#[test]
fn sync_once_over_sip2_with_an_empty_outbox_has_nothing_to_pull() {
    // SIP2 has no change feed: the pull is "unsupported", not a failure,
    // and with nothing to push the run succeeds even with the ILS down.
    let k = Kiosk::new("[upstream]\nkind = \"sip2\"\nhost = \"127.0.0.1\"\nport = 9\n");
    let (code, out, err) = k.run(&["sync", "--once"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out[0]["pull"]["unsupported"], true);
    assert_eq!(out[0]["upstream"], "sip2 127.0.0.1:9");
    assert_eq!(out[0]["outbox"], 0);
}

// ---- HttpUpstream against a local HTTP server ----

mod http {
    use super::*;
    use axum::extract::{Path, Query, State};
    use axum::http::{HeaderMap, StatusCode};
    use axum::routing::{get, post};
    use axum::{Json, Router};
    use kiosk::protocol::{
        ApiError, ChangesPage, DecideRequest, Entry, EntryResult, EntryStatus, PushRequest,
        PushResponse,
    };
    use kiosk::sync::http::{HttpSettings, HttpUpstream};
    use kiosk::sync::{Upstream, UpstreamError};
    use std::collections::HashMap;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Seen {
        auth: Vec<Option<String>>,
        pushes: Vec<Vec<Uuid>>,
        decides: u32,
        queries: Vec<HashMap<String, String>>,
        fail_pushes: u32,
        slow_heartbeat: bool,
    }

    type Shared = Arc<Mutex<Seen>>;

    async fn push(
        State(s): State<Shared>,
        headers: HeaderMap,
        Json(req): Json<PushRequest>,
    ) -> Result<Json<PushResponse>, (StatusCode, Json<ApiError>)> {
        let mut s = s.lock().unwrap();
        s.auth.push(
            headers
                .get("authorization")
                .map(|v| v.to_str().unwrap().to_string()),
        );
        s.pushes.push(req.entries.iter().map(|e| e.id).collect());
        if s.fail_pushes > 0 {
            s.fail_pushes -= 1;
            return Err((
                StatusCode::SERVICE_UNAVAILABLE,
                Json(ApiError {
                    error: "internal".into(),
                    message: "database restarting".into(),
                }),
            ));
        }
        Ok(Json(PushResponse {
            results: req
                .entries
                .iter()
                .map(|e| EntryResult {
                    id: e.id,
                    status: EntryStatus::Applied,
                    code: None,
                    message: None,
                })
                .collect(),
            server_time: "2026-11-23T02:00:00Z".into(),
            clock_offset_ms: 0,
        }))
    }

    async fn decide(
        State(s): State<Shared>,
        Json(_req): Json<DecideRequest>,
    ) -> (StatusCode, Json<ApiError>) {
        s.lock().unwrap().decides += 1;
        (
            StatusCode::UNAUTHORIZED,
            Json(ApiError {
                error: "unauthorized".into(),
                message: "unknown kiosk token".into(),
            }),
        )
    }

    async fn changes(
        State(s): State<Shared>,
        Query(q): Query<HashMap<String, String>>,
    ) -> Json<ChangesPage> {
        s.lock().unwrap().queries.push(q);
        Json(ChangesPage {
            changes: vec![Change::Upsert {
                record: patron("2001"),
            }],
            cursor: "c9".into(),
            more: false,
            remaining: Some(0),
        })
    }

    async fn patron_route(Path(barcode): Path<String>) -> Result<Json<PatronRecord>, StatusCode> {
        match barcode.as_str() {
            "2001" => match patron("2001") {
                Record::Patron(p) => Ok(Json(p)),
                _ => unreachable!(),
            },
            _ => Err(StatusCode::NOT_FOUND),
        }
    }

    async fn heartbeat(State(s): State<Shared>) -> Json<kiosk::protocol::HeartbeatAck> {
        let slow = s.lock().unwrap().slow_heartbeat;
        if slow {
            tokio::time::sleep(Duration::from_secs(30)).await;
        }
        Json(kiosk::protocol::HeartbeatAck {
            server_time: "2026-11-23T02:00:00Z".into(),
            clock_offset_ms: 0,
            max_seq: None,
        })
    }

    async fn serve(state: Shared) -> String {
        let app = Router::new()
            .route("/api/v1/push", post(push))
            .route("/api/v1/decide", post(decide))
            .route("/api/v1/changes", get(changes))
            .route("/api/v1/patrons/{barcode}", get(patron_route))
            .route("/api/v1/heartbeat", post(heartbeat))
            .with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        format!("http://{addr}/api/")
    }

    fn settings() -> HttpSettings {
        HttpSettings {
            timeout: Duration::from_millis(300),
            retries: 3,
            min_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
            tls_ca: None,
        }
    }

    fn entry(seq: i64) -> Entry {
        Entry {
            id: Uuid::now_v7(),
            kiosk_id: "k1".into(),
            seq,
            at: "2026-11-23T10:00:00.000+08:00".into(),
            kind: "feedback".into(),
            patron: None,
            item: None,
            decision: "accepted".into(),
            reason: None,
            due: None,
            detail: serde_json::json!({"rating": 5}),
            offline: false,
        }
    }

    /// A newer server's feed: a record of a type this kiosk has never
    /// heard of (`"type": "bookmobile_stop"`) between two readers. The
    /// page is read, both readers applied, the stranger skipped and
    /// counted, and the cursor moves past it (a kiosk that failed the
    /// page would ask for it again forever).
    #[tokio::test]
    async fn a_record_type_from_a_newer_server_is_skipped_not_fatal() {
        let page = serde_json::json!({
            "changes": [
                {"op": "upsert", "record": serde_json::to_value(patron("2001")).unwrap()},
                {"op": "upsert", "record": {"type": "bookmobile_stop", "id": 7, "stop": "Market Square"}},
                {"op": "upsert", "record": serde_json::to_value(patron("2002")).unwrap()},
                {"op": "delete", "entity": "bookmobile_stop", "key": "7"},
            ],
            "cursor": "c42",
            "more": false,
            "remaining": 0,
        });
        let app = Router::new().route(
            "/api/v1/changes",
            get(move || {
                let page = page.clone();
                async move { Json(page) }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let up = HttpUpstream::new(&format!("http://{addr}/api/"), "tok-1", settings()).unwrap();
        let mut store = store();
        let engine = Engine::new(Arc::new(up), 2);
        let report = engine.pull(&mut store, now()).await.unwrap();
        assert_eq!(report.pages, 1);
        assert_eq!(report.upserts, 2, "{report:?}");
        assert_eq!(report.unknown, 1, "{report:?}");
        assert_eq!(report.skipped, 2, "the stranger and its delete: {report:?}");
        for p in ["2001", "2002"] {
            assert_eq!(
                store.patron_name(p).unwrap().as_deref(),
                Some(format!("Reader {p}").as_str())
            );
        }
        assert_eq!(
            store.sync_state(cache::CURSOR_KEY).unwrap().as_deref(),
            Some("c42")
        );
        // A malformed record of a known type is still an error: the
        // tolerance is for new types, not for broken ones.
        let bad: Result<Change, _> = serde_json::from_value(serde_json::json!(
            {"op": "upsert", "record": {"type": "patron", "barcode": 7}}
        ));
        assert!(bad.is_err());
    }

    #[tokio::test]
    async fn retries_5xx_with_the_same_ids_and_the_token() {
        let seen: Shared = Arc::default();
        seen.lock().unwrap().fail_pushes = 2;
        let base = serve(seen.clone()).await;
        let up = HttpUpstream::new(&base, "tok-1", settings()).unwrap();
        let entries = vec![entry(1), entry(2)];
        let results = up.push("k1", &entries).await.unwrap();
        assert_eq!(results.len(), 2);
        let s = seen.lock().unwrap();
        assert_eq!(s.pushes.len(), 3, "two 503s, then the answer");
        assert!(s
            .pushes
            .iter()
            .all(|p| *p == vec![entries[0].id, entries[1].id]));
        assert!(s.auth.iter().all(|a| a.as_deref() == Some("Bearer tok-1")));
    }

    #[tokio::test]
    async fn gives_up_on_5xx_after_the_retries_as_offline() {
        let seen: Shared = Arc::default();
        seen.lock().unwrap().fail_pushes = 100;
        let base = serve(seen.clone()).await;
        let up = HttpUpstream::new(&base, "tok-1", settings()).unwrap();
        let e = up.push("k1", &[entry(1)]).await.unwrap_err();
        assert!(
            matches!(e, UpstreamError::Server { status: 503, .. }),
            "{e}"
        );
        assert!(e.is_offline());
        assert_eq!(seen.lock().unwrap().pushes.len(), 4, "1 + 3 retries");
    }

    #[tokio::test]
    async fn never_retries_a_4xx() {
        let seen: Shared = Arc::default();
        let base = serve(seen.clone()).await;
        let up = HttpUpstream::new(&base, "wrong", settings()).unwrap();
        let req = DecideRequest {
            entry: entry(1),
            parts_seen: None,
        };
        let e = up.decide(&req).await.unwrap_err();
        match &e {
            UpstreamError::Rejected { status, code, .. } => {
                assert_eq!((status, code.as_str()), (&401, "unauthorized"))
            }
            other => panic!("{other}"),
        }
        assert!(!e.is_offline());
        assert_eq!(seen.lock().unwrap().decides, 1);
        assert!(!e.to_string().contains("wrong"), "the token is never shown");
    }

    #[tokio::test]
    async fn changes_patrons_timeouts_and_unreachable() {
        let seen: Shared = Arc::default();
        seen.lock().unwrap().slow_heartbeat = true;
        let base = serve(seen.clone()).await;
        let up = HttpUpstream::new(&base, "tok-1", settings()).unwrap();
        let page = up.changes("c1", 50).await.unwrap();
        assert_eq!(page.cursor, "c9");
        {
            let s = seen.lock().unwrap();
            assert_eq!(s.queries[0]["cursor"], "c1");
            assert_eq!(s.queries[0]["limit"], "50");
        }
        assert!(up.patron("2001").await.unwrap().is_some());
        assert_eq!(up.patron("2999").await.unwrap(), None);
        let no_retry = HttpSettings {
            retries: 0,
            ..settings()
        };
        let up = HttpUpstream::new(&base, "tok-1", no_retry.clone()).unwrap();
        let hb = kiosk::protocol::Heartbeat {
            kiosk_id: "k1".into(),
            version: "0".into(),
            sent_at: "2026-11-23T10:00:00+08:00".into(),
            outbox: 0,
            conflicts: 0,
            last_sync: None,
            devices: vec![],
            paper: "none".into(),
        };
        let e = up.heartbeat(&hb).await.unwrap_err();
        assert!(matches!(e, UpstreamError::Timeout { .. }), "{e}");
        let gone = HttpUpstream::new("http://127.0.0.1:9", "t", no_retry).unwrap();
        let e = gone.changes("", 10).await.unwrap_err();
        assert!(matches!(e, UpstreamError::Unreachable { .. }), "{e}");
        assert!(e.is_offline());
    }

    /// `kiosk sync --once` against a server speaking the protocol: the
    /// outbox empties, the cache fills, exit 0.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sync_once_delivers_everything_and_exits_0() {
        let seen: Shared = Arc::default();
        seen.lock().unwrap().fail_pushes = 1;
        let base = serve(seen.clone()).await;
        let k = Kiosk::new(&format!(
            "[upstream]\nkind = \"http\"\nurl = \"{base}\"\ntoken = \"tok-1\"\n[sync]\nbatch_size = 2\n"
        ));
        let (code, out, err) = tokio::task::block_in_place(|| {
            for _ in 0..3 {
                assert_eq!(k.run(&["circ", "feedback", "--rating", "5"]).0, 0);
            }
            k.run(&["sync", "--once"])
        });
        assert_eq!(code, 0, "{out:?} {err}");
        assert_eq!(out[0]["outbox"], 0);
        assert_eq!(out[0]["push"]["acknowledged"], 3);
        assert_eq!(out[0]["pull"]["upserts"], 1);
        let (_, journal, _) = tokio::task::block_in_place(|| k.run(&["journal"]));
        assert!(journal.iter().all(|e| e["sync_status"] == "acknowledged"));
        let (_, status, _) = tokio::task::block_in_place(|| k.run(&["sync", "status"]));
        assert_eq!(status[0]["cursor"], "c9");
        assert!(status[0]["last_sync"].is_string());
        let s = seen.lock().unwrap();
        // 2 + 1 entries in two batches, the first sent twice (one 503).
        assert_eq!(s.pushes.len(), 3);
        assert_eq!(s.pushes[0], s.pushes[1]);
    }
}

#[test]
fn pull_progress_is_visible_while_pages_arrive() {
    let rt = rt();
    let mut store = store();
    let up = Arc::new(MemoryUpstream::new());
    up.publish_records((1..=9).map(|i| patron(&format!("20{i:02}"))));
    for f in [Fault::Pass, Fault::Pass, Fault::Hang] {
        up.inject("changes", f);
    }
    let engine = Engine::new(up.clone(), 2).with_page_size(2);
    let status = engine.status();
    let cut = rt.block_on(async {
        tokio::time::timeout(Duration::from_millis(200), engine.pull(&mut store, now())).await
    });
    assert!(cut.is_err(), "the third page hangs");
    let p = status.borrow().pull.expect("a pull in progress");
    assert_eq!(
        (p.pages, p.records, p.remaining),
        (2, 4, Some(5)),
        "pages, records, remaining"
    );
}

#[test]
fn the_nightly_full_sync_pulls_everything_again_and_is_remembered() {
    let rt = rt();
    let up = Arc::new(MemoryUpstream::new());
    let mut store = cached(&up, &rt);
    // Local damage the feed would never repeat: the full pull repairs it.
    store
        .conn()
        .execute(
            "UPDATE items SET title = 'garbled' WHERE barcode = '3001'",
            [],
        )
        .unwrap();
    feedback(&mut store, 2);
    let engine = Engine::new(up.clone(), 2);
    let report = rt.block_on(engine.full_sync(&mut store, now())).unwrap();
    assert_eq!(report.push.acknowledged, 2);
    assert_eq!(report.pull.upserts, 5);
    assert_eq!(report.outbox, 0);
    assert_eq!(
        count(&store, "SELECT count(*) FROM items WHERE title = 'garbled'"),
        0
    );
    assert_eq!(
        store
            .sync_state(kiosk::sync::schedule::NIGHTLY_KEY)
            .unwrap()
            .as_deref(),
        Some("2026-11-23T10:00:00.000+08:00")
    );
    assert!(store
        .sync_state(kiosk::sync::engine::LAST_SYNC_KEY)
        .unwrap()
        .is_some());
    assert!(up.heartbeats() >= 1);
    let cron = kiosk::sync::schedule::parse_cron("0 30 2 * * *").unwrap();
    let last = store
        .sync_state(kiosk::sync::schedule::NIGHTLY_KEY)
        .unwrap();
    assert!(!kiosk::sync::schedule::nightly_due(
        &cron,
        last.as_deref(),
        now()
    ));
    let tomorrow = now() + chrono::Duration::days(1);
    assert!(kiosk::sync::schedule::nightly_due(
        &cron,
        last.as_deref(),
        tomorrow
    ));
}

#[test]
fn the_schedules_run_on_a_task_and_stop_when_asked() {
    let rt = rt();
    let up = Arc::new(MemoryUpstream::new());
    up.publish_records([patron("2001")]);
    let mut store = store();
    let ids = feedback(&mut store, 3);
    let engine = Arc::new(Engine::new(up.clone(), 10));
    let cron = kiosk::sync::schedule::parse_cron("0 30 2 * * *").unwrap();
    let store = rt.block_on(async {
        let mut bg = kiosk::sync::schedule::spawn(engine, store, Duration::from_secs(3600), cron);
        // The first exchange runs at once (a missed nightly: a full sync).
        bg.status
            .wait_for(|s| s.last_sync.is_some() && s.outbox == 0)
            .await
            .unwrap();
        bg.stop.send(true).unwrap();
        bg.task.await.unwrap()
    });
    assert_all_acknowledged_once(&store, &up, &ids);
    assert!(store
        .sync_state(kiosk::sync::schedule::NIGHTLY_KEY)
        .unwrap()
        .is_some());
    assert_eq!(count(&store, "SELECT count(*) FROM patrons"), 1);
}

// ---- end to end against a real kiosk-central ----

/// The `kiosk-central` binary (`KIOSK_CENTRAL_BIN` overrides, e.g. to try
/// a server built elsewhere).
fn central() -> Command {
    let bin = std::env::var("KIOSK_CENTRAL_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_kiosk-central").to_string());
    let mut c = Command::new(bin);
    c.env("RUST_LOG", "warn").env_remove("KIOSK_CENTRAL_CONFIG");
    c
}

struct Central {
    child: std::process::Child,
    base: String,
}

impl Drop for Central {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn end_to_end_with_kiosk_central() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("central.db");
    let db = db.to_str().unwrap();
    let token = central()
        .args(["--db", db, "token", "create", "--kiosk", "test-kiosk"])
        .output()
        .unwrap();
    // kiosk-central is built with the kiosk: not a peer that may be
    // missing, so a failure here fails the test (it used to pass silently).
    assert!(
        token.status.success(),
        "kiosk-central cannot create tokens: {}",
        String::from_utf8_lossy(&token.stderr)
    );
    let token = String::from_utf8(token.stdout).unwrap().trim().to_string();
    let patrons = dir.path().join("patrons.csv");
    std::fs::write(
        &patrons,
        "barcode,name,category,expires,pin,blocked\nP1,Reader One,adult,2099-12-31,,\n",
    )
    .unwrap();
    let items = dir.path().join("items.csv");
    std::fs::write(
        &items,
        "barcode,title,author,isbn,item_type,rfid_uid,parts,status\n\
         I1,Alpha,Author,,book,,1,\nI2,Beta,Author,,book,,1,\nI3,Gamma,Author,,book,,1,\n",
    )
    .unwrap();
    let imported = central()
        .args(["--db", db, "import", "--patrons"])
        .arg(&patrons)
        .arg("--items")
        .arg(&items)
        .output()
        .unwrap();
    assert!(imported.status.success(), "{imported:?}");
    let mut child = central()
        .args(["--db", db, "serve", "--listen", "127.0.0.1:0"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let server = Central {
        base: line
            .trim()
            .strip_prefix("kiosk-central listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_string(),
        child,
    };

    let k = Kiosk::new(&format!(
        "[upstream]\nkind = \"http\"\nurl = \"{}\"\ntoken = \"{token}\"\n[sync]\nbatch_size = 2\n",
        server.base
    ));
    // First contact: the cache fills from the feed.
    let (code, out, err) = k.run(&["sync", "--once"]);
    assert_eq!(code, 0, "{out:?} {err}");
    assert!(out[0]["pull"]["upserts"].as_u64().unwrap() >= 4, "{out:?}");
    // The server is up, so it decides, and its answers are journaled
    // already acknowledged.
    let (code, out, _) = k.run(&["circ", "checkout", "--patron", "P1", "--item", "I1"]);
    assert_eq!(code, 0, "{out:?}");
    assert_eq!(out[0]["mode"], "online");
    // A return of an item the server has not lent: accepted online, and it
    // says so (offline, the same return becomes a conflict: tests/kiosk_online.rs).
    let (code, out, _) = k.run(&["circ", "checkin", "--item", "I2"]);
    assert_eq!(code, 0);
    assert_eq!(out[0]["mode"], "online");
    assert_eq!(out[0]["was_on_loan"], false);
    let (code, out, err) = k.run(&["sync", "--once"]);
    assert_eq!(code, 0, "{out:?} {err}");
    assert_eq!(out[0]["outbox"], 0);
    let (_, journal, _) = k.run(&["journal"]);
    let by_kind = |kind: &str| {
        journal
            .iter()
            .find(|e| e["kind"] == kind)
            .unwrap_or_else(|| panic!("no {kind} in {journal:?}"))
            .clone()
    };
    assert_eq!(by_kind("checkout")["sync_status"], "acknowledged");
    let checkin = by_kind("checkin");
    assert_eq!(checkin["sync_status"], "acknowledged", "{checkin}");
    assert_eq!(checkin["detail"]["was_on_loan"], false, "{checkin}");
    // The server has the loan, once.
    let loans = central().args(["--db", db, "loans"]).output().unwrap();
    let loans = String::from_utf8_lossy(&loans.stdout);
    assert_eq!(
        loans.lines().filter(|l| l.contains("I1")).count(),
        1,
        "{loans}"
    );
    // Syncing again sends nothing twice.
    let (code, out, _) = k.run(&["sync", "--once"]);
    assert_eq!(code, 0);
    assert_eq!(out[0]["push"]["sent"], 0);
    drop(server);
}

#[test]
fn a_batch_too_large_for_the_server_is_split() {
    let mut store = store();
    let ids = feedback(&mut store, 8);
    let up = Arc::new(MemoryUpstream::new());
    up.inject("push", Fault::TooLarge);
    up.inject("push", Fault::TooLarge);
    let engine = Engine::new(up.clone(), 8);
    let r = rt().block_on(engine.push(&mut store, now())).unwrap();
    assert_eq!(r.acknowledged, 8);
    let sizes: Vec<usize> = up.pushes().iter().map(Vec::len).collect();
    assert_eq!(&sizes[..3], &[8, 4, 2], "{sizes:?}");
    assert_all_acknowledged_once(&store, &up, &ids);
    // A single entry the server refuses is an error for staff, not a loop.
    feedback(&mut store, 1);
    up.inject("push", Fault::TooLarge);
    let e = rt().block_on(engine.push(&mut store, now())).unwrap_err();
    assert!(!e.is_offline(), "{e}");
    assert_eq!(store.counts().unwrap().outbox, 1, "kept for the next try");
}
