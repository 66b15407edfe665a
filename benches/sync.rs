//! Sync benchmarks (issue 4), against a real `kiosk-central serve` process
//! on loopback, printing figures:
//!
//! - drain: a backlog of offline transactions pushed by the kiosk's sync
//!   engine (`Engine::push` over `HttpUpstream`, as `kiosk sync --once`);
//!   goal 100 000 in ≤ 5 s.
//! - pull: the first pull of the whole catalogue into an empty kiosk cache
//!   (`Engine::pull`); goal 1 000 000 items + 100 000 readers in ≤ 20 s.
//! - kiosks: 50 simulated kiosks pushing at once, SQLite and PostgreSQL
//!   backends (transactions/s); goal ≥ 20 000/s on SQLite.
//! - stall: one kiosk's push p99 over HTTPS while stats reports run back
//!   to back and 100 idle TLS sockets are held open, against its push p99
//!   with neither, in one run (the ratio; issue 13 §2). Needs Python's
//!   cryptography for the throwaway certificates (skipped without it).
//! - stats: `/v1/reports/stats` (staff token, JSON) over two years of
//!   history, 1 400 000 entries by default (`KIOSK_BENCH_STATS_ENTRIES`):
//!   loans each returned the same minute, every loan a different title
//!   ("distinct"), and the same number over 30 000 items borrowed the way
//!   libraries see (a few titles often, most rarely: "repeats"); p50 of 7
//!   reports for one month, two years and a range across month edges;
//!   goal well under 1 s (≤ 0.3 s). The histories are built once through
//!   the storage's push and kept in target/ (reused; delete
//!   `bench-stats-*.db` there to build them again).
//!
//! `cargo bench --bench sync` runs full size (release); under `cargo test
//! --all-targets` (no `--bench` flag) the sizes are tiny so CI stays fast
//! and the run is a smoke test of the same code. The seeded central
//! database of the pull is kept in target/ and reused. PostgreSQL runs when
//! a throwaway cluster can be started (KIOSK_REQUIRE_PG=1 makes it
//! mandatory).

// pg.rs reports a missing PostgreSQL through the tests' support::peer.
#[path = "../tests/support/pg.rs"]
mod pg;
#[path = "../tests/support/mod.rs"]
mod support;

use chrono::{DateTime, Duration as Days, FixedOffset, Local};
use kiosk::central::{self, PgStorage, SqliteStorage, Storage};
use kiosk::domain::Settings;
use kiosk::protocol::{Entry, EntryStatus, ItemRecord, PatronRecord};
use kiosk::store::Store;
use kiosk::sync::http::{HttpSettings, HttpUpstream};
use kiosk::sync::{Engine, Upstream};
use rand::SeedableRng;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Instant;
use uuid::Uuid;

struct Size {
    backlog: u64,
    pull_items: u32,
    pull_patrons: u32,
    kiosks: u32,
    per_kiosk: u64,
    stats_entries: u64,
    full: bool,
}

fn size() -> Size {
    let full = std::env::args().any(|a| a == "--bench");
    let env = |k: &str, d: u64| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let (backlog, items, patrons, kiosks, per_kiosk) = if full {
        (100_000, 1_000_000, 100_000, 50, 2_000)
    } else {
        (400, 2_000, 200, 3, 100)
    };
    Size {
        backlog: env("KIOSK_BENCH_BACKLOG", backlog),
        pull_items: env("KIOSK_BENCH_ITEMS", items) as u32,
        pull_patrons: env("KIOSK_BENCH_PATRONS", patrons) as u32,
        kiosks: env("KIOSK_BENCH_KIOSKS", kiosks) as u32,
        per_kiosk: env("KIOSK_BENCH_PER_KIOSK", per_kiosk),
        stats_entries: env(
            "KIOSK_BENCH_STATS_ENTRIES",
            if full { 1_400_000 } else { 2_000 },
        ),
        full,
    }
}

fn now() -> DateTime<FixedOffset> {
    Local::now().fixed_offset()
}

fn patron(n: u32) -> PatronRecord {
    PatronRecord {
        barcode: format!("P{n:07}"),
        name: format!("Reader {n}"),
        category: "adult".into(),
        expires: Some("2099-12-31".into()),
        pin_hash: None,
        email: None,
        blocked: None,
        fines_owed_cents: 0,
        language: None,
    }
}

fn item(n: u32) -> ItemRecord {
    ItemRecord {
        barcode: format!("I{n:08}"),
        rfid_uid: None,
        title: format!("Title {}", n / 3),
        author: format!("Author {}", n % 997),
        isbn: None,
        item_type: "book".into(),
        parts: 1,
        status: "available".into(),
        location: None,
    }
}

/// Patrons and items in one transaction each, through the storage trait
/// (what `kiosk-central import` does after reading its CSV files).
async fn seed<S: Storage>(st: &S, patrons: u32, items: u32) {
    let t = Utc::now();
    st.import_patrons((1..=patrons).map(patron).collect(), t)
        .await
        .unwrap();
    for chunk in (1..=items).collect::<Vec<_>>().chunks(100_000) {
        st.import_items(chunk.iter().map(|&n| item(n)).collect(), t)
            .await
            .unwrap();
    }
}

use chrono::Utc;

/// Tokens for kiosks `K1..=Kn`, stored as the server keeps them.
async fn tokens<S: Storage>(st: &S, n: u32) -> Vec<(String, String)> {
    let mut out = vec![];
    for k in 1..=n {
        let (id, token) = (format!("K{k}"), central::new_token());
        st.set_token(id.clone(), central::token_hash(&token), false, Utc::now())
            .await
            .unwrap();
        out.push((id, token));
    }
    out
}

/// A running `kiosk-central serve`, stopped when dropped.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(db: &[String]) -> Server {
        use std::io::BufRead;
        let mut child = Command::new(env!("CARGO_BIN_EXE_kiosk-central"))
            .args(db)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env("RUST_LOG", "error")
            .stdout(Stdio::piped())
            .spawn()
            .expect("kiosk-central");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let base = line
            .trim()
            .strip_prefix("kiosk-central listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_string();
        Server { child, base }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn upstream(base: &str, token: &str) -> Arc<dyn Upstream> {
    Arc::new(
        HttpUpstream::new(
            base,
            token,
            HttpSettings {
                timeout: std::time::Duration::from_secs(120),
                ..HttpSettings::default()
            },
        )
        .unwrap(),
    )
}

/// Checkout/checkin pairs over `items` (a slice of item numbers), as a
/// kiosk offline for a day would journal them.
fn offline_entries(
    kiosk: &str,
    count: u64,
    items: std::ops::Range<u32>,
    patrons: u32,
) -> Vec<Entry> {
    let start = Local::now().fixed_offset() - Days::hours(30);
    let span = (items.end - items.start) as u64;
    (0..count)
        .map(|i| {
            let pair = i / 2;
            let item = items.start + (pair % span) as u32;
            let at = start + Days::milliseconds(i as i64 * 500);
            let checkout = i % 2 == 0;
            Entry {
                id: Uuid::now_v7(),
                kiosk_id: kiosk.into(),
                seq: i as i64 + 1,
                at: at.to_rfc3339(),
                kind: if checkout { "checkout" } else { "checkin" }.into(),
                patron: checkout.then(|| patron(1 + (pair % patrons as u64) as u32).barcode),
                item: Some(format!("I{item:08}")),
                decision: "accepted".into(),
                reason: None,
                due: checkout.then(|| (at + Days::days(28)).format("%Y-%m-%d").to_string()),
                detail: serde_json::json!({}),
                offline: true,
            }
        })
        .collect()
}

/// (a) The backlog, journaled in the kiosk's store, drained by the engine.
async fn drain(s: &Size, dir: &Path, batch: u32) {
    let db = dir.join(format!("drain-{batch}.db"));
    let st = SqliteStorage::open(&db, Settings::default()).unwrap();
    let items = (s.backlog / 10).clamp(10, 10_000) as u32;
    seed(&st, 1_000, items).await;
    let (kiosk, token) = tokens(&st, 1).await.remove(0);
    drop(st);
    let server = Server::start(&["--db".into(), db.display().to_string()]);

    let mut store = Store::open(&dir.join(format!("kiosk-{batch}.db")), &kiosk).unwrap();
    {
        let tx = store.conn().unchecked_transaction().unwrap();
        let mut ins = tx
            .prepare(
                "INSERT INTO journal (id, kiosk_id, seq, at, kind, patron, item, decision, due, detail, offline)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, '{}', 1)",
            )
            .unwrap();
        for e in offline_entries(&kiosk, s.backlog, 1..items + 1, 1_000) {
            ins.execute(rusqlite::params![
                e.id.to_string(),
                e.kiosk_id,
                e.seq,
                e.at,
                e.kind.as_str(),
                e.patron,
                e.item,
                e.decision,
                e.due
            ])
            .unwrap();
        }
        drop(ins);
        tx.commit().unwrap();
    }
    let engine = Engine::new(upstream(&server.base, &token), batch);
    let t = Instant::now();
    let r = engine.push(&mut store, now()).await.unwrap();
    let secs = t.elapsed().as_secs_f64();
    assert_eq!(r.acknowledged, s.backlog, "{r:?}");
    assert_eq!(store.counts().unwrap().outbox, 0);
    println!(
        "sync drain: {} offline entries kiosk -> kiosk-central (SQLite) in {:.2} s = {:.0} entries/s ({} batches of {batch}){}",
        s.backlog,
        secs,
        s.backlog as f64 / secs,
        r.batches,
        goal(s.full && s.backlog >= 100_000, secs <= 5.0, "<= 5 s"),
    );
}

fn goal(measured: bool, met: bool, what: &str) -> String {
    match (measured, met) {
        (false, _) => String::new(),
        (true, true) => format!("; goal {what}: met"),
        (true, false) => format!("; goal {what}: MISSED"),
    }
}

/// (b) The first pull into an empty cache.
async fn pull(s: &Size, dir: &Path, page: u32) {
    let cached = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "bench-central-{}-{}.db",
        s.pull_patrons, s.pull_items
    ));
    let token = {
        let fresh = !cached.exists();
        let st = SqliteStorage::open(&cached, Settings::default()).unwrap();
        if fresh {
            let t = Instant::now();
            seed(&st, s.pull_patrons, s.pull_items).await;
            eprintln!(
                "seeded {} readers + {} items in {:.1} s",
                s.pull_patrons,
                s.pull_items,
                t.elapsed().as_secs_f64()
            );
        }
        tokens(&st, 1).await.remove(0).1
    };
    let server = Server::start(&["--db".into(), cached.display().to_string()]);
    let mut store = Store::open(&dir.join(format!("pull-{page}.db")), "K1").unwrap();
    let engine = Engine::new(upstream(&server.base, &token), 200).with_page_size(page);
    let t = Instant::now();
    let r = engine.pull(&mut store, now()).await.unwrap();
    let secs = t.elapsed().as_secs_f64();
    let c = store.counts().unwrap();
    assert_eq!(c.items as u32, s.pull_items);
    assert_eq!(c.patrons as u32, s.pull_patrons);
    let records = (s.pull_items + s.pull_patrons) as f64;
    println!(
        "sync pull: {} items + {} readers into an empty kiosk cache in {:.2} s = {:.0} records/s ({} pages of {page}){}",
        s.pull_items,
        s.pull_patrons,
        secs,
        records / secs,
        r.pages,
        goal(s.full && s.pull_items >= 1_000_000, secs <= 20.0, "<= 20 s"),
    );
}

/// The kiosk's default `[sync] batch_size`.
fn kiosk_batch() -> usize {
    kiosk::config::SyncSection::default().batch_size as usize
}

/// (c) Simulated kiosks pushing their backlogs at once, each in batches.
async fn kiosks<S: Storage>(s: &Size, st: S, db: Vec<String>, backend: &str, batch: usize) {
    let per_item = 50u32;
    seed(&st, 1_000, s.kiosks * per_item).await;
    let tokens = tokens(&st, s.kiosks).await;
    drop(st);
    let server = Server::start(&db);
    let t = Instant::now();
    let mut tasks = vec![];
    for (k, (kiosk, token)) in tokens.into_iter().enumerate() {
        let up = upstream(&server.base, &token);
        let first = 1 + k as u32 * per_item;
        let entries = offline_entries(&kiosk, s.per_kiosk, first..first + per_item, 1_000);
        tasks.push(tokio::spawn(async move {
            let mut applied = 0u64;
            for chunk in entries.chunks(batch) {
                let r = up.push(&kiosk, chunk).await.unwrap();
                applied += r
                    .iter()
                    .filter(|r| r.status == EntryStatus::Applied)
                    .count() as u64;
            }
            applied
        }));
    }
    let mut applied = 0;
    for t in tasks {
        applied += t.await.unwrap();
    }
    let secs = t.elapsed().as_secs_f64();
    let total = s.kiosks as u64 * s.per_kiosk;
    assert_eq!(applied, total);
    println!(
        "sync kiosks: {} kiosks x {} entries pushed at once to kiosk-central ({backend}) in {:.2} s = {:.0} transactions/s (batches of {batch}){}",
        s.kiosks,
        s.per_kiosk,
        secs,
        total as f64 / secs,
        goal(
            s.full && backend == "SQLite" && s.kiosks >= 50,
            total as f64 / secs >= 20_000.0,
            ">= 20000/s"
        ),
    );
}

/// Pushes of one entry each (seqs from `first`) by `kiosk` over `http`;
/// the latencies, sorted.
async fn timed_pushes(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    kiosk: &str,
    entries: &[Entry],
) -> Vec<std::time::Duration> {
    let mut lat = Vec::with_capacity(entries.len());
    for e in entries {
        let body = kiosk::protocol::PushRequest {
            kiosk_id: kiosk.into(),
            sent_at: Local::now().fixed_offset().to_rfc3339(),
            entries: vec![e.clone()],
        };
        let t = Instant::now();
        let r = http
            .post(format!("{base}/v1/push"))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "push: {}", r.status());
        r.bytes().await.unwrap();
        lat.push(t.elapsed());
    }
    lat.sort();
    lat
}

fn p99(lat: &[std::time::Duration]) -> f64 {
    let i = ((lat.len() as f64 * 0.99).ceil() as usize).clamp(1, lat.len()) - 1;
    lat[i].as_secs_f64() * 1000.0
}

/// (d) Push p99 with stats reports running and 100 idle TLS sockets open,
/// against push p99 with neither.
async fn stall(s: &Size, dir: &Path) {
    if !support::require(support::Peer::Cryptography) {
        return;
    }
    let certs = dir.join("stall-certs");
    std::fs::create_dir_all(&certs).unwrap();
    let made = Command::new("python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/sip2/make_certs.py"
        ))
        .arg(&certs)
        .status()
        .unwrap();
    assert!(made.success());
    let (history, pushes) = if s.full {
        (200_000u64, 1_000u64)
    } else {
        (400, 40)
    };
    let db = dir.join("stall.db");
    let st = SqliteStorage::open(&db, Settings::default()).unwrap();
    seed(&st, 1_000, 2_000).await;
    let tokens = tokens(&st, 2).await;
    // Reports are staff work: a staff token asks for them.
    let staff = central::new_token();
    st.set_staff_token("bench".into(), central::token_hash(&staff), Utc::now())
        .await
        .unwrap();
    // The history the reports read: K1's entries, pushed directly.
    let past = offline_entries(&tokens[0].0, history, 1..1_001, 1_000);
    for chunk in past.chunks(1_000) {
        let req = kiosk::protocol::PushRequest {
            kiosk_id: tokens[0].0.clone(),
            sent_at: Local::now().fixed_offset().to_rfc3339(),
            entries: chunk.to_vec(),
        };
        st.push(req, Utc::now()).await.unwrap();
    }
    drop(st);
    let conf = dir.join("stall.toml");
    std::fs::write(
        &conf,
        format!(
            "[server]\ntls_cert = \"{}\"\ntls_key = \"{}\"\n",
            certs.join("server.pem").display(),
            certs.join("server.key").display()
        ),
    )
    .unwrap();
    let server = Server::start(&[
        "--db".into(),
        db.display().to_string(),
        "--config".into(),
        conf.display().to_string(),
    ]);
    let ca = std::fs::read(certs.join("ca.pem")).unwrap();
    let http = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap())
        .tls_built_in_root_certs(false)
        .timeout(std::time::Duration::from_secs(120))
        .build()
        .unwrap();
    let (kiosk, token) = tokens[1].clone();
    let mine = offline_entries(&kiosk, 2 * pushes, 1_001..2_001, 1_000);
    let (quiet, busy) = mine.split_at(pushes as usize);
    let before = timed_pushes(&http, &server.base, &token, &kiosk, quiet).await;

    let addr = server.base.trim_start_matches("https://").to_string();
    let idle: Vec<std::net::TcpStream> = (0..100)
        .map(|_| std::net::TcpStream::connect(&addr).unwrap())
        .collect();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reports = {
        let (http, base, token, stop) = (
            http.clone(),
            server.base.clone(),
            staff.clone(),
            stop.clone(),
        );
        tokio::spawn(async move {
            let mut n = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let r = http
                    .get(format!(
                        "{base}/v1/reports/stats?from=2000-01-01&to=2100-12-31"
                    ))
                    .bearer_auth(&token)
                    .send()
                    .await
                    .unwrap();
                assert!(r.status().is_success(), "stats: {}", r.status());
                r.bytes().await.unwrap();
                n += 1;
            }
            n
        })
    };
    let during = timed_pushes(&http, &server.base, &token, &kiosk, busy).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let reports = reports.await.unwrap();
    drop(idle);
    let (a, b) = (p99(&before), p99(&during));
    println!(
        "sync stall: push p99 {a:.1} ms alone, {b:.1} ms with stats reports running ({reports} over {history} entries) and 100 idle TLS sockets open: ratio {:.2} ({pushes} pushes each)",
        b / a
    );
}

/// An item of its own title (the "distinct" history: every loan a
/// different title).
fn distinct_item(n: u32) -> ItemRecord {
    ItemRecord {
        title: format!("Distinct {n:07}"),
        ..item(n)
    }
}

/// Two years of history (2024-01-01 … 2025-12-30) in a central database
/// kept in target/: `entries` / 2 loans, each returned the same minute,
/// by readers spread over 100 000 (1 000 at smoke size). `distinct`:
/// loan n borrows item n, its own title; otherwise one of 30 000 items
/// (10 000 titles), item k about as often as 1/(k+1).
async fn stats_history(s: &Size, distinct: bool) -> PathBuf {
    let kind = if distinct { "distinct" } else { "repeats" };
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("bench-stats-{kind}-{}.db", s.stats_entries));
    if path.exists() {
        return path;
    }
    let building = path.with_extension("building");
    for ext in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{ext}", building.display()));
    }
    let t = Instant::now();
    let st = SqliteStorage::open(&building, Settings::default()).unwrap();
    let loans = (s.stats_entries / 2) as u32;
    let patrons = if s.full { 100_000 } else { 1_000 };
    let items = if distinct {
        loans
    } else {
        30_000.min(loans.max(3))
    };
    seed(&st, patrons, 0).await;
    for chunk in (1..=items).collect::<Vec<_>>().chunks(100_000) {
        let rows = chunk
            .iter()
            .map(|&n| if distinct { distinct_item(n) } else { item(n) })
            .collect();
        st.import_items(rows, Utc::now()).await.unwrap();
    }
    let (kiosk, _) = tokens(&st, 1).await.remove(0);
    let start = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let mut batch = Vec::with_capacity(1_000);
    let mut seq = 0i64;
    for n in 0..loans {
        use rand::Rng;
        let day = start + Days::days((n as u64 * 730 / loans as u64) as i64);
        let minute = (n as u64).wrapping_mul(7_919) % 600;
        let at = format!("{day}T{:02}:{:02}:00+08:00", 9 + minute / 60, minute % 60);
        let item = if distinct {
            n + 1
        } else {
            // Item k about as often as 1/(k+1): u^3 piles up near 0.
            let u: f64 = rng.random();
            1 + ((items as f64) * u * u * u) as u32 % items
        };
        let patron = patron(rng.random_range(1..=patrons)).barcode;
        for checkout in [true, false] {
            seq += 1;
            batch.push(Entry {
                id: Uuid::now_v7(),
                kiosk_id: kiosk.clone(),
                seq,
                at: at.clone(),
                kind: if checkout { "checkout" } else { "checkin" }.into(),
                patron: checkout.then(|| patron.clone()),
                item: Some(format!("I{item:08}")),
                decision: "accepted".into(),
                reason: None,
                due: checkout.then(|| (day + Days::days(28)).to_string()),
                detail: serde_json::json!({}),
                offline: true,
            });
        }
        if batch.len() >= 1_000 || n + 1 == loans {
            let req = kiosk::protocol::PushRequest {
                kiosk_id: kiosk.clone(),
                sent_at: Local::now().fixed_offset().to_rfc3339(),
                entries: std::mem::take(&mut batch),
            };
            st.push(req, Utc::now()).await.unwrap();
        }
    }
    drop(st);
    for ext in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{ext}", building.display()));
    }
    std::fs::rename(&building, &path).unwrap();
    eprintln!(
        "stats: built the {kind} history ({} entries) in {:.0} s",
        seq,
        t.elapsed().as_secs_f64()
    );
    path
}

/// (e) `/v1/reports/stats` over two years of history, p50 of 7 reports
/// per range, through a real `kiosk-central serve`.
async fn stats(s: &Size) {
    for distinct in [true, false] {
        let db = stats_history(s, distinct).await;
        let staff = central::new_token();
        {
            let st = SqliteStorage::open(&db, Settings::default()).unwrap();
            st.set_staff_token("bench".into(), central::token_hash(&staff), Utc::now())
                .await
                .unwrap();
        }
        let server = Server::start(&["--db".into(), db.display().to_string()]);
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(600))
            .build()
            .unwrap();
        for (what, from, to) in [
            ("one month", "2025-06-01", "2025-06-30"),
            ("two years", "2024-01-01", "2025-12-31"),
            ("across month edges", "2024-03-15", "2025-09-14"),
        ] {
            let mut times = vec![];
            let mut loans = 0;
            for _ in 0..7 {
                let t = Instant::now();
                let r = http
                    .get(format!(
                        "{}/v1/reports/stats?from={from}&to={to}",
                        server.base
                    ))
                    .bearer_auth(&staff)
                    .send()
                    .await
                    .unwrap();
                assert!(r.status().is_success(), "stats: {}", r.status());
                let v: serde_json::Value = r.json().await.unwrap();
                times.push(t.elapsed().as_secs_f64());
                loans = v["loans"].as_u64().unwrap_or(0);
                assert!(loans > 0, "no loans in {from}..{to}");
            }
            times.sort_by(|a, b| a.total_cmp(b));
            let p50 = times[times.len() / 2];
            println!(
                "sync stats: {} history ({} entries), {what} ({from}..{to}, {loans} loans): p50 {:.3} s of 7 reports (max {:.3} s){}",
                if distinct { "distinct-title" } else { "repeating-title" },
                s.stats_entries,
                p50,
                times[times.len() - 1],
                goal(s.full && s.stats_entries >= 1_000_000, p50 <= 0.3, "<= 0.3 s"),
            );
        }
    }
}

fn main() {
    let s = size();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    // KIOSK_BENCH_ONLY=drain|pull|stall|stats|kiosks runs those parts.
    let only = std::env::var("KIOSK_BENCH_ONLY").unwrap_or_default();
    let run = |part: &str| only.is_empty() || only.split(',').any(|o| o == part);
    rt.block_on(async {
        if run("drain") {
            // The kiosk's default batch_size, and a larger one.
            drain(&s, dir.path(), 200).await;
            drain(&s, dir.path(), 1000).await;
        }
        if run("pull") {
            // Pages of 200 (the page size before `[sync] page_size`) and
            // the default, kiosk-central's largest.
            pull(&s, dir.path(), 200).await;
            pull(&s, dir.path(), 5000).await;
        }
        if run("stall") {
            stall(&s, dir.path()).await;
        }
        if run("stats") {
            stats(&s).await;
        }
        if !run("kiosks") {
            return;
        }
        let db = dir.path().join("kiosks.db");
        let st = SqliteStorage::open(&db, Settings::default()).unwrap();
        kiosks(
            &s,
            st,
            vec!["--db".into(), db.display().to_string()],
            "SQLite",
            kiosk_batch(),
        )
        .await;
        if let Some(pg) = pg::PgCluster::start_or_skip("sync benchmark on PostgreSQL") {
            pg.create_db("kiosks").await;
            let url = pg.url("kiosks");
            let st = PgStorage::connect(&url, Settings::default()).await.unwrap();
            kiosks(
                &s,
                st,
                vec!["--postgres".into(), url],
                "PostgreSQL",
                kiosk_batch(),
            )
            .await;
        }
    });
}
