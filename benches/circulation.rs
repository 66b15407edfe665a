//! Criterion benchmarks of circulation on a demo library.
//!
//! Full size (the target): 100 000 readers and 1 000 000 items,
//! built once into target/bench-kiosk-*.db and reused. Under `cargo test
//! --all-targets` (no `--bench` flag) the library is small so CI stays fast.
//! Sizes can be set with KIOSK_BENCH_PATRONS / KIOSK_BENCH_ITEMS.
//! For p50/p99 of durable checkouts see `kiosk bench` (README, Performance).

use chrono::{Local, NaiveDateTime};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use kiosk::domain::{self, CheckoutContext, ItemHolds, LoanCounts, Rule, Settings};
use kiosk::store::{self, Store};
use std::path::PathBuf;

fn size() -> (u32, u32) {
    let full = std::env::args().any(|a| a == "--bench");
    let env = |k: &str, d: u32| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    if full {
        (
            env("KIOSK_BENCH_PATRONS", 100_000),
            env("KIOSK_BENCH_ITEMS", 1_000_000),
        )
    } else {
        (
            env("KIOSK_BENCH_PATRONS", 200),
            env("KIOSK_BENCH_ITEMS", 2_000),
        )
    }
}

fn open_library() -> Store {
    let (patrons, items) = size();
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let path = dir.join(format!("bench-kiosk-{patrons}-{items}.db"));
    let mut s = Store::open(&path, "bench").expect("open bench db");
    if s.counts().unwrap().patrons == 0 {
        let r = store::demo::generate(&mut s, patrons, items, 42, Local::now().fixed_offset())
            .expect("demo data");
        eprintln!("demo library: {r:?}");
    }
    s
}

fn decision(c: &mut Criterion) {
    let now = NaiveDateTime::parse_from_str("2026-11-22 10:00", "%Y-%m-%d %H:%M").unwrap();
    let patron = domain::Patron {
        id: 1,
        category: "adult".into(),
        expires: None,
        blocked: None,
        fines_owed: 0,
    };
    let item = domain::Item {
        id: 2,
        item_type: "book".into(),
        parts: 1,
        status: domain::ItemStatus::Available,
    };
    let rule = Rule::default();
    let settings = Settings::default();
    let holds = ItemHolds::default();
    c.bench_function("decide_checkout (pure)", |b| {
        b.iter(|| {
            domain::decide_checkout(
                &CheckoutContext {
                    patron: &patron,
                    item: &item,
                    rule: &rule,
                    settings: &settings,
                    loan: None,
                    patron_loans: LoanCounts {
                        total: 3,
                        overdue: 0,
                    },
                    holds: &holds,
                    parts_seen: None,
                },
                std::hint::black_box(now),
            )
        })
    });
}

fn durable(c: &mut Criterion) {
    let mut s = open_library();
    let (patrons, items) = store::demo::loanable_pairs(&s, 200).unwrap();
    let mut k = 0usize;
    let mut g = c.benchmark_group("durable");
    g.sample_size(50);
    g.bench_function("checkout + checkin, synchronous=FULL", |b| {
        b.iter_batched(
            || {
                k += 1;
                (
                    patrons[k % patrons.len()].clone(),
                    items[k % items.len()].clone(),
                )
            },
            |(p, i)| {
                let now = Local::now().fixed_offset();
                let o = s.checkout(&p, &i, None, now).unwrap();
                assert!(o.result.is_ok(), "{:?}", o.result);
                s.checkin(&i, None, now).unwrap();
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

criterion_group!(benches, decision, durable);
criterion_main!(benches);
