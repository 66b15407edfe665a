//! Issue 13 §3, silent loss, with real processes (the `kiosk` binary and
//! `kiosk-central serve` on loopback):
//!
//! - a kiosk whose database is lost or re-imaged starts again with an
//!   empty journal; before its first push it learns from the server where
//!   its sequence stands and carries on after it, so its offline and
//!   online decisions are each applied exactly once and the server never
//!   holds two entries for one (kiosk, seq);
//! - an entry the server refuses as `sequence_reused` makes
//!   `kiosk sync --once` fail (ok: false, non-zero exit, a plain reason);
//! - a new kiosk's first pull keeps every open loan, hold and block even
//!   when the feed brings a loan before its item (the kiosk keeps such a
//!   record aside until what it refers to arrives), and refuses an
//!   offline checkout of a book that is out.

use chrono::{Duration, Local};
use kiosk::protocol::{Entry, PushRequest, PushResponse};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;
use uuid::Uuid;

use centre::json_lines;

#[path = "support/central.rs"]
mod centre;

// pg.rs reports a missing PostgreSQL through support::peer.
#[path = "support/pg.rs"]
mod pg;
mod support;

const DEAD: Option<&str> = Some("http://127.0.0.1:9");

struct Kiosk {
    dir: PathBuf,
}

impl Kiosk {
    fn new(root: &Path, name: &str, id: &str, base: &str, token: &str) -> Kiosk {
        let dir = root.join(name);
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(
            dir.join("kiosk.toml"),
            format!(
                "[kiosk]\nid = \"{id}\"\n[store]\npath = \"kiosk.db\"\n[barcode]\nmode = \"off\"\n\
                 [upstream]\nkind = \"http\"\nurl = \"{base}\"\ntoken = \"{token}\"\ntimeout_secs = 2\n\
                 [offline]\npolicy = \"returns-and-checkouts\"\nmax_loans_per_reader = 10\nmax_cache_age_hours = 0\n"
            ),
        )
        .unwrap();
        Kiosk { dir }
    }

    fn run(&self, url: Option<&str>, args: &[&str]) -> (i32, Vec<Value>, String) {
        let mut c = Command::new(env!("CARGO_BIN_EXE_kiosk"));
        c.current_dir(&self.dir)
            .env_remove("KIOSK_CONFIG")
            .env("RUST_LOG", "warn")
            .args(args);
        if let Some(url) = url {
            c.env("KIOSK__UPSTREAM__URL", url);
        }
        let out = c.output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            json_lines(&String::from_utf8_lossy(&out.stdout)),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn ok(&self, url: Option<&str>, args: &[&str]) -> Vec<Value> {
        let (code, out, err) = self.run(url, args);
        assert_eq!(code, 0, "kiosk {args:?}: {out:?} {err}");
        out
    }

    fn count(&self, sql: &str) -> i64 {
        let conn = rusqlite::Connection::open(self.dir.join("kiosk.db")).unwrap();
        conn.query_row(sql, [], |r| r.get(0)).unwrap()
    }

    /// The database is lost: the file and its WAL and shared memory.
    fn lose_database(&self) {
        for f in ["kiosk.db", "kiosk.db-wal", "kiosk.db-shm"] {
            let _ = std::fs::remove_file(self.dir.join(f));
        }
    }
}

fn write(dir: &Path, name: &str, s: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, s).unwrap();
    p.display().to_string()
}

const PATRONS: &str = "barcode,name,category,expires,pin,blocked\n\
    P1,Reader One,adult,2099-12-31,,\n\
    P2,Reader Two,adult,2099-12-31,,\n\
    P3,Reader Three,adult,2099-12-31,,\n";
const ITEMS: &str = "barcode,title,author,isbn,item_type,rfid_uid,parts,status\n\
    I1,Alpha,Author,,book,,1,\n\
    I2,Beta,Author,,book,,1,\n\
    I3,Gamma,Author,,book,,1,\n\
    I4,Delta,Author,,book,,1,\n\
    I5,Epsilon,Author,,book,,1,\n\
    I6,Zeta,Author,,book,,1,\n";

/// Pairs (kiosk, seq) the server holds more than once.
async fn duplicate_seqs(db: &centre::Db) -> Vec<Vec<String>> {
    db.rows(
        "SELECT kiosk_id, seq, count(*) AS n FROM entries GROUP BY kiosk_id, seq
         HAVING count(*) > 1",
    )
    .await
}

async fn lost_database_carries_on(db_args: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let db = centre::Db::from_args(db_args);
    centre::ok(
        db_args,
        &[
            "import",
            "--patrons",
            &write(d, "p.csv", PATRONS),
            "--items",
            &write(d, "i.csv", ITEMS),
        ],
    );
    let token = centre::token(db_args, "K1");
    let server = centre::serve(db_args);
    let kiosk = Kiosk::new(d, "kiosk", "K1", &server.base, &token);
    let import = |k: &Kiosk| {
        k.ok(
            None,
            &[
                "import",
                "--patrons",
                &write(d, "kp.csv", PATRONS),
                "--items",
                &write(d, "ki.csv", ITEMS),
            ],
        )
    };
    import(&kiosk);

    // Its first life: two loans online (seqs 1 and 2 on the server), synced.
    kiosk.ok(None, &["sync", "--once"]);
    for item in ["I1", "I2"] {
        let out = kiosk.ok(
            None,
            &["circ", "checkout", "--patron", "P1", "--item", item],
        );
        assert_eq!(out[0]["mode"], "online", "{out:?}");
    }
    kiosk.ok(None, &["sync", "--once"]);
    assert_eq!(
        db.count("SELECT count(*) FROM entries WHERE kiosk_id = 'K1'")
            .await,
        2
    );

    // The disk is lost; the kiosk is set up again with an empty journal.
    kiosk.lose_database();
    import(&kiosk);
    assert_eq!(kiosk.count("SELECT count(*) FROM journal"), 0);
    // Offline first (the network is down after the re-imaging)…
    let out = kiosk.ok(
        DEAD,
        &["circ", "checkout", "--patron", "P2", "--item", "I3"],
    );
    assert_eq!(out[0]["mode"], "offline", "{out:?}");
    assert_eq!(out[0]["ok"], true, "{out:?}");
    // …then online, before any sync: the reader still gets the book.
    let out = kiosk.ok(
        None,
        &["circ", "checkout", "--patron", "P2", "--item", "I4"],
    );
    assert_eq!(out[0]["ok"], true, "{out:?}");
    let (code, out, err) = kiosk.run(None, &["sync", "--once"]);
    assert_eq!(code, 0, "{out:?} {err}");
    assert_eq!(out[0]["ok"], true, "{out:?}");
    assert_eq!(out[0]["outbox"], 0, "{out:?}");
    assert_eq!(out[0]["conflicts"], 0, "{out:?}");
    // Once the kiosk knows where it stands, online decisions carry on.
    let out = kiosk.ok(
        None,
        &["circ", "checkout", "--patron", "P3", "--item", "I5"],
    );
    assert_eq!(out[0]["mode"], "online", "{out:?}");
    let out = kiosk.ok(
        DEAD,
        &["circ", "checkout", "--patron", "P3", "--item", "I6"],
    );
    assert_eq!(out[0]["mode"], "offline", "{out:?}");
    let (code, out, err) = kiosk.run(None, &["sync", "--once"]);
    assert_eq!(code, 0, "{out:?} {err}");
    assert_eq!(out[0]["ok"], true, "{out:?}");

    // Every entry once, every loan made, no seq held twice, none refused.
    assert_eq!(duplicate_seqs(&db).await, Vec::<Vec<String>>::new());
    assert_eq!(
        db.rows(
            "SELECT id, seq, status, code FROM entries
             WHERE kiosk_id = 'K1' AND status <> 'applied'"
        )
        .await,
        Vec::<Vec<String>>::new()
    );
    assert_eq!(
        db.count("SELECT count(*) FROM entries WHERE kiosk_id = 'K1'")
            .await,
        6
    );
    let seqs = db
        .rows("SELECT seq FROM entries WHERE kiosk_id = 'K1' ORDER BY seq")
        .await;
    assert_eq!(
        seqs.iter().map(|r| r[0].clone()).collect::<Vec<_>>(),
        ["1", "2", "3", "4", "5", "6"],
        "the sequence carries on after the server's last seq, without gaps"
    );
    assert_eq!(
        db.count("SELECT last_seq FROM kiosks WHERE kiosk_id = 'K1'")
            .await,
        6,
        "nothing is held for a gap"
    );
    let loans = db
        .rows("SELECT item, patron FROM loans WHERE returned IS NULL ORDER BY item")
        .await;
    assert_eq!(
        loans,
        [
            ["I1", "P1"],
            ["I2", "P1"],
            ["I3", "P2"],
            ["I4", "P2"],
            ["I5", "P3"],
            ["I6", "P3"]
        ]
        .map(|r| r.map(String::from).to_vec())
        .to_vec()
    );
    // The kiosk's journal agrees: all acknowledged.
    assert_eq!(
        kiosk.count("SELECT count(*) FROM journal WHERE sync_status <> 'acknowledged'"),
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kiosk_with_a_lost_database_carries_on_after_its_last_seq_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("central.db");
    lost_database_carries_on(&["--db", db.to_str().unwrap()]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kiosk_with_a_lost_database_carries_on_after_its_last_seq_postgres() {
    let Some(pg) = pg::PgCluster::start_or_skip("lost kiosk database on PostgreSQL") else {
        return;
    };
    pg.create_db("lost").await;
    lost_database_carries_on(&["--postgres", &pg.url("lost")]).await;
}

fn entry(kiosk: &str, seq: i64, kind: &str, patron: &str, item: &str, at: &str) -> Entry {
    Entry {
        id: Uuid::now_v7(),
        kiosk_id: kiosk.into(),
        seq,
        at: at.into(),
        kind: kind.into(),
        patron: Some(patron.into()),
        item: Some(item.into()),
        decision: "accepted".into(),
        reason: None,
        due: None,
        detail: json!({}),
        offline: true,
    }
}

async fn push(base: &str, token: &str, kiosk: &str, entries: Vec<Entry>) -> PushResponse {
    let res = reqwest::Client::new()
        .post(format!("{base}/v1/push"))
        .bearer_auth(token)
        .json(&PushRequest {
            kiosk_id: kiosk.into(),
            sent_at: Local::now().to_rfc3339(),
            entries,
        })
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.text().await.unwrap());
    res.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entry_refused_as_sequence_reused_fails_the_sync() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let dbf = d.join("central.db");
    let db_args = ["--db", dbf.to_str().unwrap()];
    let db = centre::Db::from_args(&db_args);
    centre::ok(
        &db_args,
        &[
            "import",
            "--patrons",
            &write(d, "p.csv", PATRONS),
            "--items",
            &write(d, "i.csv", ITEMS),
        ],
    );
    let token = centre::token(&db_args, "K1");
    let server = centre::serve(&db_args);
    let kiosk = Kiosk::new(d, "kiosk", "K1", &server.base, &token);
    kiosk.ok(
        None,
        &[
            "import",
            "--patrons",
            &write(d, "kp.csv", PATRONS),
            "--items",
            &write(d, "ki.csv", ITEMS),
        ],
    );
    kiosk.ok(None, &["sync", "--once"]);
    // A second machine configured with the same kiosk id takes seq 1.
    let at = Local::now().fixed_offset().to_rfc3339();
    let res = push(
        &server.base,
        &token,
        "K1",
        vec![entry("K1", 1, "checkout", "P3", "I6", &at)],
    )
    .await;
    assert!(res.results[0].code.is_none(), "{:?}", res.results);
    // This kiosk's own seq 1, decided offline, is refused by the server.
    kiosk.ok(
        DEAD,
        &["circ", "checkout", "--patron", "P1", "--item", "I1"],
    );
    let (code, out, err) = kiosk.run(None, &["sync", "--once"]);
    assert_ne!(code, 0, "a refused entry is not success: {out:?} {err}");
    assert_eq!(out[0]["ok"], false, "{out:?}");
    let said = out[0]["error"].as_str().unwrap_or_default();
    assert!(said.contains("sequence_reused"), "{out:?}");
    assert!(said.contains("refused"), "{out:?}");
    assert_eq!(duplicate_seqs_applied(&db).await, 0);
}

/// Seqs held twice among the entries the server applied or holds.
async fn duplicate_seqs_applied(db: &centre::Db) -> i64 {
    db.count(
        "SELECT count(*) FROM (SELECT kiosk_id, seq FROM entries
           WHERE code IS NULL OR code <> 'sequence_reused'
           GROUP BY kiosk_id, seq HAVING count(*) > 1) d",
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_kiosk_first_pull_keeps_every_open_loan_hold_and_block() {
    const LOANS: usize = 10_000;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let dbf = d.join("central.db");
    let db_args = ["--db", dbf.to_str().unwrap()];
    let db = centre::Db::from_args(&db_args);
    let mut patrons = String::from("barcode,name,category,expires,pin,blocked\n");
    for p in 0..200 {
        patrons += &format!("P{p:04},Reader {p},adult,2099-12-31,,\n");
    }
    let mut items = String::from("barcode,title,author,isbn,item_type,rfid_uid,parts,status\n");
    for i in 0..LOANS + 10 {
        items += &format!("I{i:05},Title {i},Author,,book,,1,\n");
    }
    centre::ok(
        &db_args,
        &[
            "import",
            "--patrons",
            &write(d, "p.csv", &patrons),
            "--items",
            &write(d, "i.csv", &items),
        ],
    );
    let t0 = centre::token(&db_args, "K0");
    let t1 = centre::token(&db_args, "K1");
    let cfg = d.join("central.toml");
    std::fs::write(
        &cfg,
        "[policy]\nclosed_weekdays = []\n[policy.default]\nloan_days = 28\nmax_loans = 100\nmax_holds = 10\nfine_per_day = 0\n",
    )
    .unwrap();
    let server = centre::serve_with(
        &db_args,
        &["--config", cfg.to_str().unwrap()],
        "127.0.0.1:0",
    );

    // 10,000 loans made at another kiosk, then a hold on a lent copy.
    let at = (Local::now().fixed_offset() - Duration::hours(1)).to_rfc3339();
    let mut seq = 0;
    for chunk in (0..LOANS).collect::<Vec<_>>().chunks(1000) {
        let entries: Vec<Entry> = chunk
            .iter()
            .map(|&i| {
                seq += 1;
                entry(
                    "K0",
                    seq,
                    "checkout",
                    &format!("P{:04}", i % 200),
                    &format!("I{i:05}"),
                    &at,
                )
            })
            .collect();
        let res = push(&server.base, &t0, "K0", entries).await;
        assert!(
            res.results.iter().all(|r| r.code.is_none()),
            "{:?}",
            res.results.iter().find(|r| r.code.is_some())
        );
    }
    seq += 1;
    let mut hold = entry("K0", seq, "hold_placed", "P0199", "I00000", &at);
    hold.detail = json!({"level": "item"});
    let res = push(&server.base, &t0, "K0", vec![hold]).await;
    assert!(res.results[0].code.is_none(), "{:?}", res.results);
    // Later, the catalogue and the readers are imported again (new
    // titles, a reader blocked): in the feed every loan and the hold now
    // come before the records they refer to.
    centre::ok(
        &db_args,
        &[
            "import",
            "--patrons",
            &write(
                d,
                "p2.csv",
                &patrons.replace("Reader ", "Reader no. ").replace(
                    "P0007,Reader no. 7,adult,2099-12-31,,",
                    "P0007,Reader no. 7,adult,2099-12-31,,card reported stolen",
                ),
            ),
            "--items",
            &write(d, "i2.csv", &items.replace("Title ", "New title ")),
        ],
    );
    assert_eq!(
        db.count(
            "SELECT count(*) FROM changes l JOIN changes i
               ON l.entity = 'loan' AND i.entity = 'item' AND i.key = l.key AND l.seq < i.seq"
        )
        .await,
        LOANS as i64,
        "the feed brings each loan before its item"
    );

    // A fresh kiosk, nothing imported: its first pull.
    let kiosk = Kiosk::new(d, "fresh", "K1", &server.base, &t1);
    let (code, out, err) = kiosk.run(None, &["sync", "--once"]);
    assert_eq!(code, 0, "{out:?} {err}");
    assert_eq!(out[0]["pull"]["skipped"], 0, "{out:?}");
    assert_eq!(
        kiosk.count("SELECT count(*) FROM loans WHERE returned IS NULL"),
        LOANS as i64,
        "every open loan in the cache after the first pull"
    );
    assert_eq!(
        kiosk.count(
            "SELECT count(*) FROM loans l JOIN items i ON i.id = l.item_id
               JOIN patrons p ON p.id = l.patron_id
             WHERE l.returned IS NULL AND i.barcode = 'I00042' AND p.barcode = 'P0042'"
        ),
        1
    );
    assert_eq!(kiosk.count("SELECT count(*) FROM holds"), 1, "the hold");
    assert_eq!(
        kiosk.count("SELECT count(*) FROM patrons WHERE blocked_reason = 'card reported stolen'"),
        1,
        "the block"
    );

    // Offline, a book that is out is not lent again.
    let (code, out, err) = kiosk.run(
        DEAD,
        &["circ", "checkout", "--patron", "P0100", "--item", "I00042"],
    );
    assert_eq!(out[0]["ok"], false, "{code} {out:?} {err}");
    assert_eq!(out[0]["mode"], "offline", "{out:?}");
    // A book on the shelf still is.
    let out = kiosk.ok(
        DEAD,
        &[
            "circ",
            "checkout",
            "--patron",
            "P0100",
            "--item",
            &format!("I{LOANS:05}"),
        ],
    );
    assert_eq!(out[0]["ok"], true, "{out:?}");
}
