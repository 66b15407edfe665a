//! The stats report against the straightforward computation over the
//! entries, on both backends (issue 13 §2): random histories pushed by
//! three kiosks over three months (across a year's end), with titles
//! several items share (ties), titles that differ only in case or by a
//! letter outside ASCII (ties broken by bytes, whatever PostgreSQL's
//! locale), refusals, renewals and returns; random ranges and ranges
//! across month edges; every way the report can read titles and readers
//! (`engine::Plan`) must give exactly the computation from the entries.
//! PostgreSQL also comes up from version 7 (schema 8 counted from the
//! per-day figures it finds) with the same reports.
//!
//! PostgreSQL runs in a throwaway cluster (tests/support/pg.rs): without
//! it the PostgreSQL test prints `SKIPPED: …` and passes, unless
//! `KIOSK_REQUIRE_PG=1` (CI).

use chrono::{Duration, NaiveDate, Utc};
use kiosk::central::engine::{self, Plan, Stats};
use kiosk::central::sql::Sql;
use kiosk::central::{Backend, PgStorage, SqliteStorage, Storage};
use kiosk::domain::Settings;
use kiosk::protocol::*;
use rand::{Rng, SeedableRng};

// pg.rs reports a missing PostgreSQL through support::peer.
#[path = "support/pg.rs"]
mod pg;
mod support;

/// Titles: a few shared by many items (ties), some equal but for case or
/// a letter outside ASCII (ranked by bytes: "Apple" < "Zebra" < "apple"
/// < "Äpfel").
const TITLES: [&str; 10] = [
    "Shared A", "Shared B", "Shared C", "Apple", "apple", "Äpfel", "Zebra", "zebra", "Éclair",
    "eclair",
];

fn day(n: i64) -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 12, 1).unwrap() + Duration::days(n)
}

/// Readers, items and 3 × 400 random entries from 2025-12-01 to
/// 2026-03-02, each kiosk's pushed second half first (held for the gap,
/// applied when it fills).
async fn random_history<S: Storage>(st: &S, seed: u64) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let cats = ["adult", "child", "senior"];
    let patrons = (0..30)
        .map(|n| PatronRecord {
            barcode: format!("P{n}"),
            name: format!("Reader {n}"),
            category: cats[rng.random_range(0..3)].into(),
            expires: None,
            pin_hash: None,
            email: None,
            blocked: None,
            fines_owed_cents: 0,
            language: None,
        })
        .collect();
    st.import_patrons(patrons, Utc::now()).await.unwrap();
    let items = (0..80)
        .map(|n| ItemRecord {
            barcode: format!("I{n}"),
            rfid_uid: None,
            // Half the items share the ten titles, half have their own.
            title: if n % 2 == 0 {
                TITLES[rng.random_range(0..TITLES.len())].to_string()
            } else {
                format!("Own {n}")
            },
            author: "Author".into(),
            isbn: None,
            item_type: ["book", "dvd"][n % 2].into(),
            parts: 1,
            status: "available".into(),
            location: [Some("Central"), Some("East"), None][n % 3].map(str::to_string),
        })
        .collect();
    st.import_items(items, Utc::now()).await.unwrap();
    for k in 1..=3 {
        let kiosk = format!("K{k}");
        let entries: Vec<Entry> = (1..=400)
            .map(|seq| {
                let kind = match rng.random_range(0..10) {
                    0..=4 => EntryKind::Checkout,
                    5..=7 => EntryKind::Checkin,
                    8 => EntryKind::Renew,
                    _ => EntryKind::Feedback,
                };
                let refused = rng.random_range(0..8) == 0;
                let at = format!(
                    "{}T{:02}:{:02}:00+08:00",
                    day(rng.random_range(0..92)),
                    rng.random_range(8..20),
                    rng.random_range(0..60)
                );
                Entry {
                    id: uuid::Uuid::now_v7(),
                    kiosk_id: kiosk.clone(),
                    seq,
                    at,
                    patron: (kind != EntryKind::Checkin)
                        .then(|| format!("P{}", rng.random_range(0..30))),
                    // Now and then an item the server does not know.
                    item: (kind != EntryKind::Feedback)
                        .then(|| format!("I{}", rng.random_range(0..84))),
                    kind,
                    decision: if refused { "refused" } else { "accepted" }.into(),
                    reason: refused.then(|| "max_loans".into()),
                    due: None,
                    detail: serde_json::json!({}),
                    offline: true,
                }
            })
            .collect();
        let (a, b) = entries.split_at(200);
        for part in [b, a] {
            let req = PushRequest {
                kiosk_id: kiosk.clone(),
                sent_at: "2026-03-02T12:00:00+08:00".into(),
                entries: part.to_vec(),
            };
            st.push(req, Utc::now()).await.unwrap();
        }
    }
}

/// Ranges across month and year edges, single days, the whole history,
/// an empty one, and random ones.
fn ranges(seed: u64) -> Vec<(NaiveDate, NaiveDate)> {
    let d = |y, m, n| NaiveDate::from_ymd_opt(y, m, n).unwrap();
    let mut out = vec![
        (day(0), day(91)),
        (d(2025, 12, 31), d(2026, 1, 1)),
        (d(2025, 12, 15), d(2026, 2, 14)),
        (d(2026, 1, 1), d(2026, 1, 31)),
        (d(2026, 2, 28), d(2026, 2, 28)),
        (d(2020, 1, 1), d(2030, 12, 31)),
        (d(2027, 1, 1), d(2027, 12, 31)),
    ];
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed ^ 0x5eed);
    for _ in 0..8 {
        let a = rng.random_range(-3..95);
        out.push((day(a), day(a + rng.random_range(0..60))));
    }
    out
}

/// The report each way, and the computation from the entries.
fn plans() -> Vec<Plan> {
    let d = Plan::default();
    let bounded = |reads, batch| Plan {
        summed_rows: 0,
        bounded_reads: reads,
        first_batch: batch,
        ..d
    };
    vec![
        d,
        bounded(usize::MAX, 1),
        bounded(usize::MAX, 7),
        bounded(3, 1),
        Plan {
            readers_by_lookup: Some(true),
            ..d
        },
        Plan {
            readers_by_lookup: Some(false),
            ..d
        },
    ]
}

async fn by_plan<B: Backend>(st: &B, from: NaiveDate, to: NaiveDate, plan: Plan) -> Stats {
    st.read(move |t| Box::pin(async move { engine::stats_by(t, from, to, plan).await }))
        .await
        .unwrap()
}

async fn scan<B: Backend>(st: &B, from: NaiveDate, to: NaiveDate) -> Stats {
    st.read(move |t| Box::pin(async move { engine::stats_scan(t, from, to).await }))
        .await
        .unwrap()
}

/// Every plan over every range equals the computation; returns how many
/// ranges had top titles tied on their count (the test must meet ties).
async fn every_plan_agrees<B: Backend>(st: &B, seed: u64, what: &str) -> usize {
    let mut ties = 0;
    for (from, to) in ranges(seed) {
        let want = scan(st, from, to).await;
        if want.top_titles.windows(2).any(|w| w[0].loans == w[1].loans) {
            ties += 1;
        }
        assert_eq!(
            st.stats(from, to).await.unwrap(),
            want,
            "{what}, {from}..{to}"
        );
        for plan in plans() {
            let got = by_plan(st, from, to, plan).await;
            assert_eq!(got, want, "{what}, {from}..{to}, {plan:?}");
        }
    }
    ties
}

#[tokio::test(flavor = "multi_thread")]
async fn sqlite_reports_equal_the_computation_from_the_entries() {
    for seed in [11, 12] {
        let dir = tempfile::tempdir().unwrap();
        let st = SqliteStorage::open(&dir.path().join("central.db"), Settings::default()).unwrap();
        random_history(&st, seed).await;
        let whole = scan(&st, day(0), day(91)).await;
        assert!(
            whole.loans > 150 && whole.top_titles.len() == 20,
            "{whole:?}"
        );
        let ties = every_plan_agrees(&st, seed, &format!("SQLite, seed {seed}")).await;
        assert!(ties > 0, "no range had tied titles");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_reports_equal_the_computation_from_the_entries() {
    let Some(pg) = pg::PgCluster::start_or_skip("stats report on PostgreSQL") else {
        return;
    };
    pg.create_db("stats").await;
    let url = pg.url("stats");
    let st = PgStorage::connect(&url, Settings::default()).await.unwrap();
    random_history(&st, 13).await;
    let ties = every_plan_agrees(&st, 13, "PostgreSQL").await;
    assert!(ties > 0, "no range had tied titles");
    // Back to version 7: schema 8 counts its bounds from the per-day
    // figures it finds, and the reports stay the same.
    st.tx(|t| {
        Box::pin(async move {
            for sql in [
                "DROP TABLE stats_titles",
                "DROP TABLE stats_patrons",
                "DROP INDEX stats_days_dims",
                "DROP INDEX stats_days_titles",
                "DROP INDEX stats_readers_patron",
                "ALTER TABLE stats_days ALTER COLUMN key TYPE TEXT COLLATE \"default\"",
                "DELETE FROM schema_version",
                "INSERT INTO schema_version (version) VALUES (7)",
            ] {
                t.exec(sql, &[]).await?;
            }
            Ok(())
        })
    })
    .await
    .unwrap();
    drop(st);
    let st = PgStorage::connect(&url, Settings::default()).await.unwrap();
    every_plan_agrees(&st, 13, "PostgreSQL from version 7").await;
}
