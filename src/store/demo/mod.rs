//! A deterministic, realistic demo library: readers, items, current and
//! past loans, holds and imported fines, all drawn from one seed, for trying
//! the kiosk, the benchmark and the crash test.
//!
//! It must never write journal entries (the demo is a starting state, not
//! decisions the kiosk took; statistics of past activity come from returned
//! loans) and never touch a row whose barcode already exists, so running it
//! again is harmless. The first ten readers share the PIN "1234" through ONE
//! argon2 hash computed once and reused (argon2 is slow on purpose, and this
//! is demo data); since the salt is random, `pin_hash` is the only column
//! that differs between two runs with the same seed.

mod draw;
mod fill;
mod words;

use draw::Draw;
use fill::*;
use words::*;

use super::{Result, Store, StoreError};
use crate::domain::barcode::{codabar_check_digit, ean13_check_digit};
use crate::domain::policy::DEFAULT;
use crate::domain::title_key;
use crate::domain::{Calendar, Due, PolicyTable, Rule};
use crate::privacy::hash_pin;
use chrono::{DateTime, Duration, FixedOffset, NaiveDate, NaiveTime, SecondsFormat, TimeZone};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rusqlite::{params, CachedStatement, Connection, ErrorCode, Transaction, TransactionBehavior};
use std::collections::{BTreeSet, HashSet};
use std::sync::OnceLock;
use std::time::Instant;

#[derive(Debug, Clone, serde::Serialize)]
pub struct DemoReport {
    /// Readers written by this call (existing barcodes are left alone).
    pub patrons: u64,
    /// Items written by this call.
    pub items: u64,
    /// Current loans written; returned loans (history) only count in
    /// `rows_per_sec`.
    pub loans: u64,
    pub overdue_loans: u64,
    pub holds_waiting: u64,
    pub holds_ready: u64,
    pub blocked_patrons: u64,
    pub seconds: f64,
    /// Every row written (readers, fees, items, loans, holds) per second.
    pub rows_per_sec: f64,
}

const PATRON_DIGIT: char = '2';
const ITEM_DIGIT: char = '3';
const INSTITUTION: &str = "0001";
/// Library barcodes carry an 8-digit serial.
const MAX_SERIAL: u32 = 99_999_999;
const DEMO_PIN: &str = "1234";
const PIN_PATRONS: u32 = 10;
/// Share of lendable copies out on loan, and of those, overdue.
const ON_LOAN: f64 = 0.08;
const OVERDUE: f64 = 0.15;
/// Share of lendable copies waiting on the hold shelf, missing, lost.
const READY: f64 = 0.003;
const MISSING: f64 = 0.002;
const LOST: f64 = 0.001;
/// Share of fully lent-out titles that readers queue for.
const QUEUED: f64 = 0.2;
/// Kept below every sensible policy so demo readers can still borrow.
const MAX_LOANS_EACH: u32 = 8;
const MAX_HOLDS_EACH: u32 = 3;
/// Returned loans per current loan, and how far back they go.
const HISTORY_PER_LOAN: u64 = 2;
const HISTORY_DAYS: i64 = 90;
/// Opening hours 9–20, busiest after school and after work.
const HOUR_WEIGHTS: [(u32, u32); 12] = [
    (9, 5),
    (10, 8),
    (11, 8),
    (12, 6),
    (13, 6),
    (14, 8),
    (15, 9),
    (16, 10),
    (17, 12),
    (18, 11),
    (19, 8),
    (20, 4),
];
/// 256 MiB of page cache while generating: the unique indexes of a million
/// items otherwise spill dirty pages to the WAL long before the commit.
const GENERATE_CACHE_KIB: i64 = 262_144;

/// What one draw of the generator decided about a title.
struct Title {
    title: String,
    author: String,
    isbn: Option<String>,
    item_type: &'static str,
    parts: u8,
    location: String,
    copies: u32,
}

/// What became of one copy.
enum Fate {
    Shelf,
    NotForLoan,
    Missing,
    Lost,
    OnLoan {
        reader: usize,
        out: DateTime<FixedOffset>,
        due: NaiveDate,
        renewals: u32,
        overdue: bool,
    },
    Ready {
        reader: usize,
        placed: DateTime<FixedOffset>,
        pickup_by: NaiveDate,
        code: u32,
    },
}

impl Fate {
    fn status(&self) -> &'static str {
        match self {
            Fate::Shelf => "available",
            Fate::NotForLoan => "not_for_loan",
            Fate::Missing => "missing",
            Fate::Lost => "lost",
            Fate::OnLoan { .. } => "on_loan",
            Fate::Ready { .. } => "on_hold_shelf",
        }
    }
}

/// A reader who may borrow (not blocked, card valid).
struct Reader {
    id: i64,
    category: String,
    loans: u32,
    holds: u32,
}

/// A lendable copy written by this run, for the loan history.
struct Copy {
    id: i64,
    item_type: &'static str,
    /// Days ago of its earliest loan so far: history must end before it.
    busy_since: i64,
}

#[derive(Default)]
struct Tally {
    patrons: u64,
    fees: u64,
    items: u64,
    loans: u64,
    overdue: u64,
    history: u64,
    waiting: u64,
    ready: u64,
    blocked: u64,
}

/// Fixed inputs of one run.
struct Job {
    patrons: u32,
    items: u32,
    now: DateTime<FixedOffset>,
    stamp: String,
    pin_hash: Option<String>,
    policies: PolicyTable,
    pickup_days: u32,
}

fn stamp(t: DateTime<FixedOffset>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, false)
}

fn day_text(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// `type digit + institution + 8-digit serial + check digit`.
fn library_barcode(type_digit: char, serial: u32) -> String {
    let body = format!("{type_digit}{INSTITUTION}{serial:08}");
    let check = codabar_check_digit(&body).expect("the body is 13 digits");
    format!("{body}{check}")
}

/// Day loans only: an hour-loan rule still gets at least one day here.
fn loan_days(rule: &Rule) -> i64 {
    i64::from(rule.loan_days.max(1))
}

fn may_borrow(reader: &Reader, rule: &Rule) -> bool {
    rule.loanable && reader.loans < rule.max_loans.min(MAX_LOANS_EACH)
}

/// One argon2 hash for the process: every demo card with a PIN shares it.
fn demo_pin_hash() -> String {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| hash_pin(DEMO_PIN)).clone()
}

/// Up to a dozen tries for a reader of `pool` that `fits`; None when the
/// pool is (nearly) exhausted, and the copy simply stays on the shelf.
fn pick_reader(
    d: &mut Draw,
    pool: &[usize],
    readers: &[Reader],
    fits: impl Fn(usize, &Reader) -> bool,
) -> Option<usize> {
    if pool.is_empty() {
        return None;
    }
    (0..12).find_map(|_| {
        let i = pool[d.rng.random_range(0..pool.len())];
        fits(i, &readers[i]).then_some(i)
    })
}

/// Fills the database; same seed + same counts + same `now` date give the
/// same rows (barcodes, names, titles, loans, holds; only `pin_hash` differs,
/// its salt being random). Readers and items whose barcode already exists
/// are left alone, and nothing is attached to them, so a re-run is harmless.
/// The first ten readers get the PIN "1234" (one hash, reused) and are kept
/// in good standing so demos can always log in with them.
pub fn generate(
    store: &mut Store,
    patrons: u32,
    items: u32,
    seed: u64,
    now: DateTime<FixedOffset>,
) -> Result<DemoReport> {
    if patrons > MAX_SERIAL || items > MAX_SERIAL {
        return Err(StoreError::Input(format!(
            "a demo library has at most {MAX_SERIAL} readers and {MAX_SERIAL} items (8-digit serial numbers)"
        )));
    }
    let started = Instant::now();
    let job = Job {
        patrons,
        items,
        now,
        stamp: stamp(now),
        pin_hash: (patrons > 0).then(demo_pin_hash),
        policies: store.policies().clone(),
        pickup_days: store.settings().hold_pickup_days.max(1),
    };
    let mut draw = Draw {
        rng: ChaCha8Rng::seed_from_u64(seed),
        today: now.date_naive(),
        offset: *now.offset(),
        calendar: store.settings().calendar.clone(),
    };
    let old_cache: i64 = store
        .conn
        .query_row("PRAGMA cache_size", [], |r| r.get(0))?;
    store
        .conn
        .pragma_update(None, "cache_size", -GENERATE_CACHE_KIB)?;
    let filled = fill(&mut store.conn, &job, &mut draw);
    // Give the memory back even when generation failed.
    let restored = store.conn.pragma_update(None, "cache_size", old_cache);
    let t = filled?;
    restored?;
    let seconds = started.elapsed().as_secs_f64();
    let rows = t.patrons + t.fees + t.items + t.loans + t.history + t.waiting + t.ready;
    Ok(DemoReport {
        patrons: t.patrons,
        items: t.items,
        loans: t.loans,
        overdue_loans: t.overdue,
        holds_waiting: t.waiting,
        holds_ready: t.ready,
        blocked_patrons: t.blocked,
        seconds,
        rows_per_sec: if seconds > 0.0 {
            rows as f64 / seconds
        } else {
            0.0
        },
    })
}

/// Everything in one transaction: a half-built demo library is never seen.
fn fill(conn: &mut Connection, job: &Job, d: &mut Draw) -> Result<Tally> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut t = Tally::default();
    add_patrons(&tx, job, d, &mut t)?;
    let mut readers = load_readers(&tx, d.today)?;
    // About half the readers borrow at all: realistic, and it leaves plenty
    // of readers without loans for load tests.
    let everyone: Vec<usize> = (0..readers.len()).collect();
    let mut borrowers: Vec<usize> = everyone.iter().copied().filter(|_| d.chance(0.5)).collect();
    if borrowers.is_empty() {
        borrowers = everyone.clone();
    }
    let copies = add_items(&tx, job, d, &mut readers, &borrowers, &everyone, &mut t)?;
    add_history(&tx, job, d, &readers, copies, &mut t)?;
    tx.commit()?;
    Ok(t)
}

/// Up to `n` reader barcodes in good standing (not blocked, card valid, no
/// fines, no loans, and allowed to borrow every item type returned) and up
/// to `n` available single-part items of a loanable type on no open hold,
/// in id order: any reader of the first list can borrow any item of the
/// second (for load tests and the crash test).
pub fn loanable_pairs(store: &Store, n: usize) -> Result<(Vec<String>, Vec<String>)> {
    if n == 0 {
        return Ok((Vec::new(), Vec::new()));
    }
    let conn = &store.conn;
    let policies = store.policies();
    // Open holds are few: compare title keys in Rust with the one key rule
    // rather than re-deriving it in SQL.
    let (held_titles, held_items) = {
        let mut st = conn.prepare(
            "SELECT title_key, item_id, ready_item_id FROM holds WHERE status IN ('waiting','ready')",
        )?;
        let mut titles = HashSet::new();
        let mut ids = HashSet::new();
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            titles.insert(r.get::<_, String>(0)?);
            ids.extend(r.get::<_, Option<i64>>(1)?);
            ids.extend(r.get::<_, Option<i64>>(2)?);
        }
        (titles, ids)
    };
    let mut items = Vec::new();
    let mut types = BTreeSet::new();
    {
        let mut st = conn.prepare(
            "SELECT i.id, i.barcode, i.title, i.author, i.isbn, i.item_type FROM items i
             WHERE i.status = 'available' AND i.parts = 1
               AND NOT EXISTS (SELECT 1 FROM loans l WHERE l.item_id = i.id AND l.returned IS NULL)
             ORDER BY i.id",
        )?;
        let mut rows = st.query([])?;
        while items.len() < n {
            let Some(r) = rows.next()? else { break };
            let id: i64 = r.get(0)?;
            let item_type: String = r.get(5)?;
            if held_items.contains(&id) || !policies.rule(DEFAULT, &item_type).loanable {
                continue;
            }
            let isbn: Option<String> = r.get(4)?;
            let key = title_key(
                isbn.as_deref(),
                &r.get::<_, String>(2)?,
                &r.get::<_, String>(3)?,
            );
            if held_titles.contains(&key) {
                continue;
            }
            items.push(r.get::<_, String>(1)?);
            types.insert(item_type);
        }
    }
    // A card valid both today and on the day the rows were written: tests
    // and demos may run with a `now` other than the clock's.
    let written: Option<String> = conn.query_row(
        "SELECT max(substr(updated_at, 1, 10)) FROM patrons",
        [],
        |r| r.get(0),
    )?;
    let today = chrono::Local::now().date_naive();
    let cutoff = written
        .and_then(|w| NaiveDate::parse_from_str(&w, "%Y-%m-%d").ok())
        .map_or(today, |w| w.max(today));
    let mut patrons = Vec::new();
    let mut st = conn.prepare(
        "SELECT p.barcode, p.category FROM patrons p
         WHERE (p.blocked_reason IS NULL OR p.blocked_reason = '')
           AND p.fines_owed_cents = 0
           AND (p.expires IS NULL OR p.expires >= ?1)
           AND NOT EXISTS (SELECT 1 FROM loans l WHERE l.patron_id = p.id AND l.returned IS NULL)
         ORDER BY p.id",
    )?;
    let mut rows = st.query([day_text(cutoff)])?;
    while patrons.len() < n {
        let Some(r) = rows.next()? else { break };
        let category: String = r.get(1)?;
        let fits = types.iter().all(|ty| {
            let rule = policies.rule(&category, ty);
            rule.loanable && rule.max_loans > 0
        });
        if fits {
            patrons.push(r.get::<_, String>(0)?);
        }
    }
    Ok((patrons, items))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::barcode::{is_valid_codabar14, is_valid_ean13};
    use rusqlite::types::Value;

    fn now() -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339("2026-11-22T10:00:00+08:00").unwrap()
    }

    fn demo(seed: u64, patrons: u32, items: u32) -> (Store, DemoReport) {
        let mut store = Store::open_in_memory("t").unwrap();
        let report = generate(&mut store, patrons, items, seed, now()).unwrap();
        (store, report)
    }

    fn dump(store: &Store, sql: &str) -> Vec<Vec<Value>> {
        let mut st = store.conn().prepare(sql).unwrap();
        let n = st.column_count();
        st.query_map([], |r| (0..n).map(|i| r.get::<_, Value>(i)).collect())
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    }

    fn one(store: &Store, sql: &str) -> i64 {
        store.conn().query_row(sql, [], |r| r.get(0)).unwrap()
    }

    const TABLES: [&str; 5] = [
        "SELECT id, barcode, name, category, expires, pin_hash IS NOT NULL, email, blocked_reason,
                fines_owed_cents, updated_at FROM patrons ORDER BY id",
        "SELECT * FROM items ORDER BY id",
        "SELECT * FROM loans ORDER BY id",
        "SELECT * FROM holds ORDER BY id",
        "SELECT * FROM fees ORDER BY id",
    ];

    #[test]
    fn the_same_seed_gives_the_same_library() {
        let (a, ra) = demo(7, 300, 3000);
        let (b, rb) = demo(7, 300, 3000);
        for sql in TABLES {
            let rows = dump(&a, sql);
            assert!(!rows.is_empty(), "{sql}");
            assert_eq!(rows, dump(&b, sql), "{sql}");
        }
        assert_eq!((ra.patrons, ra.items, ra.loans), (300, 3000, rb.loans));
        assert_eq!(one(&a, "SELECT count(*) FROM journal"), 0);
        let (c, _) = demo(8, 300, 3000);
        assert_ne!(dump(&a, TABLES[0]), dump(&c, TABLES[0]));
    }

    #[test]
    fn a_second_run_leaves_existing_rows_alone() {
        let (mut store, _) = demo(7, 100, 800);
        let before: Vec<_> = TABLES.iter().map(|sql| dump(&store, sql)).collect();
        let again = generate(&mut store, 100, 800, 7, now()).unwrap();
        assert_eq!((again.patrons, again.items, again.loans), (0, 0, 0));
        let after: Vec<_> = TABLES.iter().map(|sql| dump(&store, sql)).collect();
        assert_eq!(before, after);
        // Growing the library adds only the new serials.
        let more = generate(&mut store, 120, 900, 9, now()).unwrap();
        assert_eq!((more.patrons, more.items), (20, 100));
        assert_eq!(one(&store, "SELECT count(*) FROM items"), 900);
    }

    #[test]
    fn barcodes_are_valid_and_unique() {
        let (store, _) = demo(1, 300, 3000);
        let patrons = dump(&store, "SELECT barcode FROM patrons ORDER BY id");
        let items = dump(&store, "SELECT barcode FROM items ORDER BY id");
        let text = |v: &Value| match v {
            Value::Text(s) => s.clone(),
            other => panic!("{other:?}"),
        };
        // Hand-computed: 2 0001 00000001 → doubled odd positions 4+2+2 = 8.
        assert_eq!(text(&patrons[0][0]), "20001000000012");
        assert_eq!(text(&items[0][0]), "30001000000010");
        for (rows, prefix) in [(&patrons, "20001"), (&items, "30001")] {
            let codes: HashSet<String> = rows.iter().map(|r| text(&r[0])).collect();
            assert_eq!(codes.len(), rows.len());
            for c in &codes {
                assert!(c.starts_with(prefix) && is_valid_codabar14(c), "{c}");
            }
        }
        let uids = dump(
            &store,
            "SELECT rfid_uid FROM items WHERE rfid_uid IS NOT NULL",
        );
        let share = uids.len() as f64 / items.len() as f64;
        assert!((0.55..0.65).contains(&share), "{share}");
        let uids: HashSet<String> = uids.iter().map(|r| text(&r[0])).collect();
        for u in &uids {
            assert!(u.len() == 16 && u.starts_with("E004"), "{u}");
            assert!(
                u.chars()
                    .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase()),
                "{u}"
            );
        }
        for r in dump(&store, "SELECT isbn FROM items WHERE isbn IS NOT NULL") {
            let isbn = text(&r[0]);
            assert!(isbn.starts_with("978") && is_valid_ean13(&isbn), "{isbn}");
        }
        assert!(
            one(
                &store,
                "SELECT count(*) FROM items WHERE isbn IS NULL AND item_type = 'magazine'"
            ) > 0
        );
        // Copies share their title's ISBN, one to four of them.
        let most = one(&store, "SELECT max(n) FROM (SELECT count(*) n FROM items WHERE isbn IS NOT NULL GROUP BY isbn)");
        assert!((2..=4).contains(&most), "{most}");
        let books = one(
            &store,
            "SELECT count(*) FROM items WHERE item_type = 'book'",
        );
        assert!((2200..2600).contains(&books), "{books}");
        assert_eq!(one(&store, "SELECT count(*) FROM items WHERE item_type = 'reference' AND status <> 'not_for_loan'"), 0);
        assert_eq!(
            one(
                &store,
                "SELECT count(*) FROM items WHERE item_type = 'kit' AND parts <> 3"
            ),
            0
        );
        assert!(
            one(
                &store,
                "SELECT count(*) FROM patrons WHERE name GLOB '*[a-z]*'"
            ) > 0
        );
        assert!(
            one(
                &store,
                "SELECT count(*) FROM patrons WHERE name NOT GLOB '*[a-z]*'"
            ) > 0
        );
    }

    #[test]
    fn loans_and_holds_are_consistent() {
        let (store, r) = demo(3, 300, 3000);
        assert!(
            r.loans > 100 && r.overdue_loans > 0 && r.holds_waiting > 0,
            "{r:?}"
        );
        assert_eq!(
            one(&store, "SELECT count(*) FROM loans WHERE returned IS NULL"),
            r.loans as i64
        );
        assert_eq!(
            one(
                &store,
                "SELECT count(*) FROM items WHERE status = 'on_loan'"
            ),
            r.loans as i64
        );
        let most = one(&store, "SELECT COALESCE(max(n), 0) FROM (SELECT count(*) n FROM loans WHERE returned IS NULL GROUP BY patron_id)");
        assert!(most <= 8, "{most}");
        let doubled = one(&store, "SELECT count(*) FROM (SELECT item_id FROM loans WHERE returned IS NULL GROUP BY item_id HAVING count(*) > 1)");
        assert_eq!(doubled, 0);
        let overdue = one(
            &store,
            "SELECT count(*) FROM loans WHERE returned IS NULL AND due < '2026-11-22'",
        );
        assert_eq!(overdue, r.overdue_loans as i64);
        assert_eq!(
            one(
                &store,
                "SELECT count(*) FROM loans WHERE checked_out >= '2026-11-22T10'"
            ),
            0
        );
        // No loan to a blocked or expired reader.
        assert_eq!(
            one(&store, "SELECT count(*) FROM loans l JOIN patrons p ON p.id = l.patron_id
                         WHERE l.returned IS NULL AND (p.blocked_reason IS NOT NULL OR p.expires < '2026-11-22')"),
            0
        );
        // History: about twice the current loans, within 90 days, returned
        // after they went out, during opening hours.
        let history = one(
            &store,
            "SELECT count(*) FROM loans WHERE returned IS NOT NULL",
        );
        assert!(history > r.loans as i64 * 3 / 2, "{history}");
        assert_eq!(one(&store, "SELECT count(*) FROM loans WHERE returned IS NOT NULL AND (returned <= checked_out OR checked_out < '2026-08-24')"), 0);
        assert_eq!(one(&store, "SELECT count(*) FROM loans WHERE CAST(substr(checked_out, 12, 2) AS INTEGER) NOT BETWEEN 9 AND 20"), 0);
        // Ready holds sit on the shelf with unique codes and a future date.
        let ready = one(
            &store,
            "SELECT count(*) FROM holds h JOIN items i ON i.id = h.ready_item_id
                                 WHERE h.status = 'ready' AND i.status = 'on_hold_shelf'
                                   AND length(h.pickup_code) = 6 AND h.pickup_by > '2026-11-22'",
        );
        assert_eq!(ready, r.holds_ready as i64);
        assert_eq!(
            one(
                &store,
                "SELECT count(DISTINCT pickup_code) FROM holds WHERE status = 'ready'"
            ),
            ready
        );
        assert_eq!(
            one(
                &store,
                "SELECT count(*) FROM items WHERE status = 'on_hold_shelf'"
            ),
            ready
        );
        // Fines owed match their imported fee rows.
        assert_eq!(
            one(&store, "SELECT count(*) FROM patrons p WHERE fines_owed_cents <>
                         (SELECT COALESCE(sum(amount_cents), 0) FROM fees f WHERE f.patron_id = p.id)"),
            0
        );
        assert!(one(&store, "SELECT count(*) FROM fees WHERE kind = 'imported'") > 0);
        assert!(r.blocked_patrons > 0);
        assert_eq!(
            one(
                &store,
                "SELECT count(*) FROM patrons WHERE pin_hash IS NOT NULL"
            ),
            10
        );
    }

    #[test]
    fn loanable_pairs_can_borrow() {
        let (mut store, _) = demo(5, 300, 3000);
        let (patrons, items) = loanable_pairs(&store, 20).unwrap();
        assert_eq!((patrons.len(), items.len()), (20, 20));
        for (p, i) in patrons.iter().zip(&items) {
            let o = store.checkout(p, i, None, now()).unwrap();
            assert!(o.result.is_ok(), "{p} {i}: {:?}", o.result);
        }
    }

    #[test]
    fn loanable_pairs_respect_the_policy() {
        let mut store = Store::open_in_memory("t").unwrap();
        let rows = vec![
            (
                "default".to_string(),
                "default".to_string(),
                Rule::default(),
            ),
            (
                "child".to_string(),
                "default".to_string(),
                Rule {
                    loanable: false,
                    ..Rule::default()
                },
            ),
            (
                "default".to_string(),
                "dvd".to_string(),
                Rule {
                    loanable: false,
                    ..Rule::default()
                },
            ),
        ];
        store
            .configure(rows, crate::domain::Settings::default(), &[])
            .unwrap();
        generate(&mut store, 200, 1500, 11, now()).unwrap();
        let (patrons, items) = loanable_pairs(&store, 40).unwrap();
        assert_eq!((patrons.len(), items.len()), (40, 40));
        for (p, i) in patrons.iter().zip(&items) {
            let o = store.checkout(p, i, None, now()).unwrap();
            assert!(o.result.is_ok(), "{p} {i}: {:?}", o.result);
        }
        assert_eq!(
            one(&store, "SELECT count(*) FROM loans l JOIN items i ON i.id = l.item_id JOIN patrons p ON p.id = l.patron_id
                         WHERE l.returned IS NULL AND (i.item_type = 'dvd' OR p.category = 'child')"),
            0
        );
    }

    #[test]
    fn empty_and_tiny_libraries_work() {
        let (store, r) = demo(1, 0, 50);
        assert_eq!((r.patrons, r.items, r.loans), (0, 50, 0));
        assert_eq!(loanable_pairs(&store, 5).unwrap().0.len(), 0);
        let (_, r) = demo(1, 3, 0);
        assert_eq!((r.patrons, r.items), (3, 0));
    }
}
